import { accountApiFetch } from "sessionkeeper/web";
import { getKeeper } from "../../../lib/keeper";
import { route } from "../../../lib/session";

// GET /api/sessions, DELETE /api/sessions/:id, POST /api/sessions/revoke-others, GET /api/history.
const handle = route(async (request, session) => {
  const api = accountApiFetch(await getKeeper(), { basePath: "/api" });
  return (await api(request, session)) ?? Response.json({ error: "not_found" }, { status: 404 });
});

export { handle as DELETE, handle as GET, handle as POST };
