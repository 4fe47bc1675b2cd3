import { accountPagesFetch } from "sessionkeeper/web";
import { getKeeper } from "../../../lib/keeper";
import { route } from "../../../lib/session";

// The ready-made devices page (/account/sessions) and history (/account/history), with their forms.
const handle = route(async (request, session) => {
  const pages = accountPagesFetch(await getKeeper(), {
    basePath: "/account",
    title: "Next.js example",
    signInPath: "/",
    nav: [{ href: "/dashboard", label: "Dashboard" }],
  });
  return (await pages(request, session)) ?? new Response("Not found", { status: 404 });
});

export { handle as GET, handle as POST };
