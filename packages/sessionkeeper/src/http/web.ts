import type { EndpointAnswer } from "../device-binding/endpoints.js";
import { isStorageError } from "../errors.js";
import type { LiveChannel } from "../live/live-channel.js";
import { streamToWeb } from "../live/streams.js";
import { isPromise } from "../maybe-promise.js";
import { type RecentAuthOptions, recentAuthRule } from "../recent-auth.js";
import { type Outcome, type RawRequest, sessionRefusal } from "../request.js";
import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { SessionData } from "../types.js";
import { nodeHeaderValue } from "./context.js";
import {
  guardRule,
  isFormPost,
  isResume,
  KEPT_FORM_MAX_BYTES,
  NOTHING_TO_RESUME,
  type RecentAuthGuardOptions,
  reauthLocation,
} from "./kept-form.js";

interface WebOptions<Env = unknown> {
  /**
   * The socket address of the client. Web `Request`s do not carry it; on Node with
   * `@hono/node-server` it is `env.incoming.socket.remoteAddress` (the default when present).
   */
  socketAddress?: (request: Request, env: Env) => string | null | undefined;
}

/**
 * Wraps a Web-standard handler (`Request` in, `Response` out) with session handling. The handler
 * gets the request's {@link RequestSession} (null on excluded paths); cookies it queues are added to
 * its response.
 */
export function withSessions<Env = unknown, Data extends object = SessionData>(
  keeper: SessionKeeper<Data>,
  handler: (
    request: Request,
    session: RequestSession<Data> | null,
    env: Env,
  ) => Response | Promise<Response>,
  options: WebOptions<Env> = {},
): (request: Request, env: Env) => Promise<Response> {
  return async (request, env) => {
    const cookies: string[] = [];
    const headers: Array<[string, string]> = [];
    const outcome = await keeper.beginRequest(
      rawRequest(request, env, options),
      (c) => cookies.push(c),
      (name, value) => headers.push([name, value]),
    );
    if (outcome.kind === "excluded") return handler(request, null, env);
    if (outcome.kind === "respond") return endpointResponse(outcome);
    if (outcome.kind !== "next") return json({ error: outcome.error }, outcome.status);
    let response: Response;
    try {
      response = await handler(request, outcome.context, env);
    } catch (error) {
      if (isStorageError(error)) return json({ error: "storage_unavailable" }, 503);
      throw error;
    }
    return withCookies(response, cookies, outcome.context, headers);
  };
}

/** The least of Hono's `Context` this adapter uses, so the library does not depend on Hono. */
interface HonoLikeContext<Data extends object = SessionData> {
  /** `path` is what Hono routes on: exclusions match the same string. */
  req: { raw: Request; path: string };
  env: unknown;
  res: Response;
  /** Hono records a route's error here after its onError handler answered (500 by default). */
  error?: unknown;
  set(key: "sessionkeeper", value: RequestSession<Data>): void;
  header(name: string, value: string): void;
  json(body: unknown, status?: number): Response;
}

/**
 * Hono middleware: `c.get("sessionkeeper")` is the request's {@link RequestSession}.
 * @example
 * const app = new Hono<{ Variables: { sessionkeeper: RequestSession } }>();
 * app.use(honoSessions(keeper));
 */
export function honoSessions<Data extends object = SessionData>(
  keeper: SessionKeeper<Data>,
  options: WebOptions = {},
) {
  // Not an async function: a session answered from memory costs no extra promise before `next()`.
  return (c: HonoLikeContext<Data>, next: () => Promise<void>): Promise<Response | undefined> => {
    const cookies: string[] = [];
    const headers: Array<[string, string]> = [];
    const outcome = keeper.beginRequest(
      rawRequest(c.req.raw, c.env, options, c.req.path),
      (v) => cookies.push(v),
      (name, value) => headers.push([name, value]),
    );
    return isPromise(outcome)
      ? outcome.then((ready) => continueHono(ready, c, next, cookies, headers))
      : continueHono(outcome, c, next, cookies, headers);
  };
}

async function continueHono<Data extends object>(
  outcome: Outcome<Data>,
  c: HonoLikeContext<Data>,
  next: () => Promise<void>,
  cookies: string[],
  headers: Array<[string, string]>,
): Promise<Response | undefined> {
  if (outcome.kind === "excluded") {
    await next();
    return undefined;
  }
  if (outcome.kind === "respond") return endpointResponse(outcome);
  if (outcome.kind !== "next") return c.json({ error: outcome.error }, outcome.status);
  c.set("sessionkeeper", outcome.context);
  // What a signed-in (or pending) session is shown is never kept by a cache; a route may relax it.
  // Set before the route runs, Hono builds its response with it: far cheaper than changing the
  // response's Headers afterwards.
  const signedIn = outcome.context.record !== null;
  if (signedIn) c.header("cache-control", "no-store");
  try {
    await next();
  } catch (error) {
    if (isStorageError(error)) return c.json({ error: "storage_unavailable" }, 503);
    throw error;
  }
  // Hono turns a route's error into a response itself, so next() rarely throws: fail closed with 503.
  if (isStorageError(c.error)) {
    c.res = c.json({ error: "storage_unavailable" }, 503);
    return undefined;
  }
  // Assigning c.res makes Hono merge headers into a copy: only do it when a cookie must be added
  // or the response's headers cannot be changed in place.
  if (cookies.length > 0 || headers.length > 0)
    c.res = withCookies(c.res, cookies, outcome.context, headers);
  // A route that built its own Response bypassed Hono's headers: add it there.
  else if (signedIn && !c.res.headers.has("cache-control") && !setInPlace(c.res))
    c.res = withCookies(c.res, cookies, outcome.context);
  return undefined;
}

/** Answers 401 unless the request has an active session (Hono). */
export function honoRequireSession() {
  return async (
    c: HonoLikeContext<object> & { get(key: "sessionkeeper"): RequestSession<object> | undefined },
    next: () => Promise<void>,
  ) => {
    const refusal = sessionRefusal(c.get("sessionkeeper"));
    if (refusal !== null) return c.json({ error: refusal }, 401);
    await next();
    return undefined;
  };
}

/** Hono: only a device-bound session (DBSC) gets through; 401 `device_binding_required` otherwise. */
export function honoRequireDeviceBinding() {
  return async (
    c: HonoLikeContext<object> & { get(key: "sessionkeeper"): RequestSession<object> | undefined },
    next: () => Promise<void>,
  ) => {
    const refusal = sessionRefusal(c.get("sessionkeeper"), { bound: true });
    if (refusal !== null) return c.json({ error: refusal }, 401);
    await next();
    return undefined;
  };
}

/**
 * For `withSessions` handlers: null when the session's last proof of identity is recent enough
 * (see {@link RecentAuthOptions}), else the 401 `Response` to return (`reauthentication_required`
 * with a `WWW-Authenticate` challenge, or `unauthenticated` without an active session).
 * @example
 * const recent = recentAuthGate({ maxAge: "10m" });
 * const refused = await recent(session); if (refused) return refused;
 */
export function recentAuthGate(
  options: RecentAuthOptions = {},
): (session: RequestSession | null | undefined) => Promise<Response | null> {
  const rule = recentAuthRule(options);
  return async (session) => {
    if (!session?.session) return json({ error: "unauthenticated" }, 401);
    const challenge = await session.checkRecentAuth(rule);
    if (!challenge) return null;
    return new Response(JSON.stringify(challenge.body), {
      status: 401,
      headers: { "content-type": "application/json", "www-authenticate": challenge.challenge },
    });
  };
}

/**
 * Hono middleware over {@link recentAuthGate}: the route runs only inside the window. With
 * `reauthPage`, an HTML form post outside the window is kept and answered 303 to that page (see
 * {@link RecentAuthGuardOptions}); `POST <path>?sk_resume=1` then runs the route once with the
 * kept body in place of the request's (`c.req.parseBody()` reads it).
 */
export function honoRequireRecentAuth(options: RecentAuthGuardOptions = {}) {
  const { rule, reauthPage } = guardRule(options);
  return async (
    c: HonoLikeContext & {
      get(key: "sessionkeeper"): RequestSession | undefined;
      req: { text(): Promise<string>; bodyCache?: object };
    },
    next: () => Promise<void>,
  ) => {
    const session = c.get("sessionkeeper");
    if (!session?.session) return json({ error: "unauthenticated" }, 401);
    const raw = c.req.raw;
    const path = new URL(raw.url).pathname;
    const resume = reauthPage !== null && isResume(raw.method, raw.url);
    const challenge = await session.checkRecentAuth(rule);
    if (!challenge) {
      if (resume) {
        const body = await session.takeKeptPost(path);
        if (body === null) return json(NOTHING_TO_RESUME, 409);
        // The route reads the kept form as if it had just been posted.
        const headers = new Headers(raw.headers);
        headers.set("content-type", "application/x-www-form-urlencoded");
        headers.delete("content-length");
        c.req.raw = new Request(raw.url, { method: "POST", headers, body });
        c.req.bodyCache = {};
      }
      await next();
      return undefined;
    }
    if (reauthPage !== null && isFormPost(raw.method, raw.headers.get("content-type"))) {
      const length = Number(raw.headers.get("content-length"));
      const kept =
        resume ||
        (length > 0 &&
          length <= KEPT_FORM_MAX_BYTES &&
          (await session.keepPost({ path, body: await c.req.text() })));
      if (kept)
        return new Response(null, {
          status: 303,
          headers: {
            location: reauthLocation(reauthPage, path),
            "www-authenticate": challenge.challenge,
          },
        });
    }
    return new Response(JSON.stringify(challenge.body), {
      status: 401,
      headers: { "content-type": "application/json", "www-authenticate": challenge.challenge },
    });
  };
}

function rawRequest<Env>(
  request: Request,
  env: Env,
  options: WebOptions<Env>,
  path?: string,
): RawRequest {
  // Request URLs are absolute and already parsed once: no second parse when the router has the path.
  const url = request.url;
  const incoming = nodeIncoming(env);
  const nodeHeaders = incoming?.headers;
  return {
    method: request.method,
    path: path ?? new URL(url).pathname,
    // On @hono/node-server the Node request is at hand: its parsed header object is one property
    // read, where the Web Headers view scans the raw list for some names. Same values either way.
    header: nodeHeaders
      ? (name) => nodeHeaderValue(nodeHeaders[name])
      : (name) => request.headers.get(name),
    socketAddress: options.socketAddress
      ? options.socketAddress(request, env)
      : (incoming?.socket?.remoteAddress ?? null),
    encrypted: url.startsWith("https:"),
  };
}

interface NodeIncoming {
  headers?: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}

function nodeIncoming(env: unknown): NodeIncoming | undefined {
  return (env as { incoming?: NodeIncoming } | null)?.incoming;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Sets no-store on a response whose headers are mutable; false when they are not (fetch()'s). */
function setInPlace(response: Response): boolean {
  try {
    response.headers.set("cache-control", "no-store");
    return true;
  } catch {
    return false;
  }
}

/**
 * Adds the queued cookies, and `Cache-Control: no-store` to any answer that sets a cookie or was
 * made for a signed-in (or pending) session: what one user's session saw is never kept by a cache.
 */
function withCookies(
  response: Response,
  cookies: string[],
  context: RequestSession<object>,
  headers: Array<[string, string]> = [],
): Response {
  if (cookies.length === 0 && headers.length === 0 && context.record === null) return response;
  const add = (target: Response) => {
    for (const c of cookies) target.headers.append("set-cookie", c);
    for (const [name, value] of headers) target.headers.append(name, value);
    if (cookies.length > 0 || context.record !== null)
      target.headers.set("cache-control", "no-store");
  };
  // Responses from fetch() have immutable headers: copy when needed.
  let out = response;
  try {
    add(out);
  } catch {
    out = new Response(response.body, response);
    add(out);
  }
  return out;
}

/** A DBSC endpoint's answer as a Web `Response`. */
function endpointResponse(answer: EndpointAnswer): Response {
  const headers = new Headers(answer.headers);
  for (const cookie of answer.cookies) headers.append("set-cookie", cookie);
  return new Response(answer.body, { status: answer.status, headers });
}

/**
 * The live stream (server-sent events) as a Web `Response`: `event: ended` with `{reason, message}`
 * when the session ends anywhere; `event: approved` when a sign-in held for verification is
 * approved; 401 without a live session. Pass the request's
 * `signal` so the stream is let go when the client leaves.
 * @example
 * app.get("/api/events", (c) => liveEventsResponse(live, c.get("sessionkeeper"), c.req.raw.signal));
 */
export function liveEventsResponse(
  channel: LiveChannel,
  session: RequestSession | null | undefined,
  signal?: AbortSignal,
): Response {
  return streamToWeb(channel, session, signal);
}

export { RequestSession } from "../request-session.js";
export type { RecentAuthGuardOptions } from "./kept-form.js";
export { accountApiFetch, accountPagesFetch } from "./web-account.js";
