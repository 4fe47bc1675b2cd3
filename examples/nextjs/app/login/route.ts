import { sessionToJSON } from "sessionkeeper";
import { route } from "../../lib/session";
import { checkPassword } from "../../lib/users";

export const POST = route(async (request, session) => {
  const body = await readJson(request);
  const user = checkPassword(body?.email, body?.password);
  if (!user || !session) return Response.json({ error: "invalid_credentials" }, { status: 401 });
  // Always a brand-new session and token; any session this browser held is ended.
  const signedIn = await session.signIn(user.id);
  return Response.json({ session: sessionToJSON(signedIn) });
});

/** The JSON body, bounded: everything from the request is hostile. */
async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  const text = await request.text();
  if (text.length > 4096) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
