/** The signed-out start page: the example signs in over its JSON route, POST /login. */
export default function Home() {
  return (
    <main>
      <h1>sessionkeeper with Next.js</h1>
      <p>
        Sign in with <code>POST /login</code> then open <a href="/dashboard">the dashboard</a>.
      </p>
    </main>
  );
}
