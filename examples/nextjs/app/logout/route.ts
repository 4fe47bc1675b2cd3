import { route } from "../../lib/session";

export const POST = route(async (_request, session) => {
  await session?.signOut();
  return new Response(null, { status: 204 });
});
