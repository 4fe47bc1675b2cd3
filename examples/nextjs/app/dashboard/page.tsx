import { redirect } from "next/navigation";
import { currentUserId } from "../../lib/session";
import { findUser } from "../../lib/users";

// Rendered per request: it depends on the visitor's session.
export const dynamic = "force-dynamic";

/** A protected page. The proxy already sent signed-out visitors away; this checks again. */
export default async function Dashboard() {
  const userId = await currentUserId("/dashboard");
  const user = userId ? findUser(userId) : null;
  if (!user) redirect("/");
  return (
    <main>
      <h1>Dashboard</h1>
      <p data-testid="signed-in-as">Signed in as {user.email}</p>
      <p>
        <a href="/account/sessions">Your devices</a>
      </p>
    </main>
  );
}
