import { cookieFrom, send } from "./http.js";
import type { Instance } from "./instances.js";
import type { User } from "./model.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One round of "every instance serves correctly": each answers /healthz 200; a session signed in
 * on the first is accepted by every instance; signed out on the last, it is refused by every
 * other on its very next request.
 */
export async function serveCheck(instances: Instance[], user: User): Promise<string | null> {
  for (const i of instances) {
    const health = await send(i.port, "GET", "/healthz");
    if (health.status !== 200) return `${i.name} /healthz ${health.status}`;
  }
  const first = instances[0] as Instance;
  const signIn = await send(first.port, "POST", "/api/signin", {
    json: { email: user.email, password: user.password },
  });
  const value = cookieFrom(signIn, "sk_session");
  if (signIn.status !== 200 || !value) return `${first.name} sign-in ${signIn.status}`;
  const cookie = `sk_session=${value}`;
  for (const i of instances) {
    const me = await send(i.port, "GET", "/api/me", { cookie });
    if (me.status !== 200) return `${i.name} accepts ${me.status}`;
  }
  const last = instances[instances.length - 1] as Instance;
  const out = await send(last.port, "POST", "/api/signout", { cookie });
  if (out.status !== 204) return `${last.name} sign-out ${out.status}`;
  for (const i of instances) {
    const me = await send(i.port, "GET", "/api/me", { cookie });
    if (me.status !== 401) return `${i.name} after sign-out ${me.status}`;
  }
  return null;
}

/** Time until a serveCheck round passes, or null past `boundMs` (with the last failure). */
export async function timeToRecover(
  instances: Instance[],
  user: User,
  boundMs = 60_000,
): Promise<{ ms: number | null; last: string | null }> {
  const started = performance.now();
  let last: string | null = null;
  while (performance.now() - started < boundMs) {
    // Counted to the start of the round that passed: the round's own requests are not recovery.
    const round = performance.now();
    last = await serveCheck(instances, user);
    if (last === null) return { ms: Math.round(round - started), last };
    await sleep(100);
  }
  return { ms: null, last };
}
