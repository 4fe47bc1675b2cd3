import { sessionToJSON } from "sessionkeeper";
import { route } from "../../lib/session";
import { findUser } from "../../lib/users";

export const GET = route(async (_request, session) => {
  const current = session?.session;
  const user = current ? findUser(current.userId) : null;
  if (!current || !user) return Response.json({ error: "unauthenticated" }, { status: 401 });
  return Response.json({ user, session: sessionToJSON(current) });
});
