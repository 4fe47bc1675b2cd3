import { headers } from "next/headers";
import type { RequestSession } from "sessionkeeper";
import { withSessions } from "sessionkeeper/web";
import { getKeeper } from "./keeper";

type Handler = (request: Request, session: RequestSession | null) => Promise<Response>;

/**
 * A route handler with sessions: validates the cookie, refuses cross-site unsafe requests (403),
 * adds the cookies the handler queued, answers 503 when storage is down.
 */
export function route(handler: Handler): (request: Request) => Promise<Response> {
  return async (request) => {
    const keeper = await getKeeper();
    return withSessions(keeper, (req, session) => handler(req, session))(request, undefined);
  };
}

/**
 * The signed-in user's id for a server component or the proxy, or null. It only reads the
 * session (a page cannot set cookies); signing in and out happen in route handlers.
 */
export async function currentUserId(path: string): Promise<string | null> {
  const keeper = await getKeeper();
  const h = await headers();
  const info = keeper.requestInfo({
    method: "GET",
    path,
    header: (name) => h.get(name),
    socketAddress: null,
    encrypted: false,
  });
  const found = await keeper.validate(info);
  return found?.record.status === "active" ? found.record.userId : null;
}
