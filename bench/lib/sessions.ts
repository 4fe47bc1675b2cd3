// Signs in through the server's own POST /login, collecting each session's cookies the way a
// browser would, then checks the contract: GET /me is 200 with them and 401 without.

import { randomBytes } from "node:crypto";

function mergeCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const header of setCookies) {
    const pair = header.split(";", 1)[0] ?? "";
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    // An emptied or expired cookie is the server deleting it.
    if (value === "" || /max-age=0\b/i.test(header)) jar.delete(name);
    else jar.set(name, value);
  }
}

function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

/** One browser's sign-in: POST /login, then one GET /me (which may add cookies, e.g. a cache cookie). */
async function signInOnce(baseUrl: string): Promise<string> {
  const jar = new Map<string, string>();
  const login = await fetch(`${baseUrl}/login`, { method: "POST" });
  if (login.status !== 200)
    throw new Error(`POST /login answered ${login.status}: ${await login.text()}`);
  mergeCookies(jar, login.headers.getSetCookie());
  await login.arrayBuffer();
  const me = await fetch(`${baseUrl}/me`, { headers: { cookie: cookieHeader(jar) } });
  await me.arrayBuffer();
  if (me.status !== 200) throw new Error(`GET /me with a fresh session answered ${me.status}`);
  mergeCookies(jar, me.headers.getSetCookie());
  return cookieHeader(jar);
}

/** Creates `count` distinct sessions over HTTP and returns each one's `Cookie` header. */
export async function signInMany(
  baseUrl: string,
  count: number,
  options: { sessions: boolean },
): Promise<string[]> {
  const concurrency = 8;
  const cookies: string[] = new Array(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const index = next++;
      cookies[index] = await signInOnce(baseUrl);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  // A ceiling sets no cookie at all; a session variant must hand out a distinct one each time.
  if (options.sessions && new Set(cookies).size !== count)
    throw new Error("sign-ins returned duplicate cookies");
  // Browsers send their cookies to every app, sessions or not: a ceiling gets a Cookie header of
  // the same shape and size as sessionkeeper's (random values it ignores), so the difference to a
  // session variant is the session's work, not the bytes on the wire.
  if (!options.sessions) return cookies.map(() => browserLikeCookie());
  return cookies;
}

/** Throws unless GET /me is 401 without a cookie and with a forged one (for session variants). */
export async function checkUnauthenticated(baseUrl: string, sample: string): Promise<void> {
  const forged = sample.replace(
    /=([^;]{6})/,
    (_m, head: string) => `=${head.split("").reverse().join("")}`,
  );
  for (const cookie of [undefined, forged]) {
    const response = await fetch(`${baseUrl}/me`, cookie ? { headers: { cookie } } : {});
    await response.arrayBuffer();
    if (response.status !== 401)
      throw new Error(
        `GET /me ${cookie ? "with a forged cookie" : "without a cookie"} answered ${response.status}, expected 401`,
      );
  }
}

/** `sk_session=<22>.<43>; sk_device=<43>` with random values: 132 bytes, as a session variant sends. */
function browserLikeCookie(): string {
  const random = (bytes: number) => randomBytes(bytes).toString("base64url");
  return `sk_session=${random(16)}.${random(32)}; sk_device=${random(32)}`;
}
