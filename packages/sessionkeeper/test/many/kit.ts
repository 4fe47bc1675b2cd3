import type { SessionStore } from "../../src/storage/contract.js";
import type { RequestInfo } from "../../src/types.js";

/** A real store whose `findSession` calls are counted: how tests see whether a request read the database. */
export function countFinds<S extends SessionStore>(store: S): { store: S; finds: () => number } {
  let finds = 0;
  const counted = new Proxy(store, {
    get(target, prop) {
      if (prop === "findSession") {
        return (id: string) => {
          finds++;
          return target.findSession(id);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: counted, finds: () => finds };
}

/** What a browser presenting `cookie` (a `sk_session=<token>` pair, or nothing) looks like to the core. */
export function browser(cookie: string | null = null): RequestInfo {
  return {
    cookieHeader: cookie,
    ip: "198.51.100.7",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    secure: false,
  };
}

/** The `name=value` pair of the session cookie among Set-Cookie strings. */
export function sessionCookie(setCookies: readonly string[], name = "sk_session"): string {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie was set`);
  return line.split(";")[0] as string;
}

/** Retries `check` until it returns true (a state reached), failing after `attempts` tries. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  attempts = 200,
  intervalMs = 50,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`never happened: ${what}`);
}
