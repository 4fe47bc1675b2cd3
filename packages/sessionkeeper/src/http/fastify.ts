// Type imports only: the adapter never loads fastify, so the library does not depend on it.
import type {
  FastifyError,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from "fastify";
import { isStorageError } from "../errors.js";
import type { LiveChannel } from "../live/live-channel.js";
import { streamToNode } from "../live/streams.js";
import { isPromise } from "../maybe-promise.js";
import type { RecentAuthOptions } from "../recent-auth.js";
import { type Outcome, type RawRequest, sessionRefusal } from "../request.js";
import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { Session, SessionData } from "../types.js";
import { nodeHeaderValue } from "./context.js";
import {
  formObject,
  formText,
  guardRule,
  isFormPost,
  isResume,
  NOTHING_TO_RESUME,
  pathOf,
  type RecentAuthGuardOptions,
  reauthLocation,
} from "./kept-form.js";

declare module "fastify" {
  interface FastifyRequest {
    /** sessionkeeper's view of this request; null on excluded paths. */
    sessionkeeper: RequestSession<object> | null;
  }
}

/**
 * Fastify plugin: validates the session cookie in an `onRequest` hook and puts a
 * {@link RequestSession} on `request.sessionkeeper`. Refuses cross-origin unsafe requests (403)
 * and answers 503 when storage is down. Not encapsulated: it covers every route of the instance
 * it is registered on, like a plugin wrapped in `fastify-plugin`.
 * @example
 * await app.register(fastifySessions(keeper));
 * app.setErrorHandler(storageErrorHandler());
 * app.get("/me", { preHandler: requireSession() }, (request) => ({ session: getSession(request) }));
 */
export function fastifySessions<Data extends object>(
  keeper: SessionKeeper<Data>,
): FastifyPluginCallback {
  const plugin: FastifyPluginCallback = (app, _options, done) => {
    // Declared up front (null, not an object: Fastify 5 refuses shared reference defaults).
    app.decorateRequest("sessionkeeper", null);
    // A callback hook, not an async one: a session answered from memory calls done() in the same
    // turn. Answering here (403/503) means not calling done, as Fastify's hooks guide says.
    app.addHook("onRequest", (request, reply, hookDone) => {
      const outcome = keeper.beginRequest(
        rawRequest(request),
        (cookie) => {
          reply.header("set-cookie", cookie); // Fastify appends repeated set-cookie values
          // A response that sets a session cookie must never be stored by a shared cache.
          reply.header("cache-control", "no-store");
        },
        (name, value) => {
          reply.header(name, value);
        },
      );
      const proceed = (ready: Outcome<Data>) => {
        if (ready.kind === "next") {
          request.sessionkeeper = ready.context;
          // What a signed-in (or pending) session is shown is never kept by a cache.
          if (ready.context.record !== null) reply.header("cache-control", "no-store");
        }
        if (ready.kind === "next" || ready.kind === "excluded") return hookDone();
        if (ready.kind === "respond") {
          for (const [name, value] of ready.headers) reply.header(name, value);
          for (const cookie of ready.cookies) reply.header("set-cookie", cookie);
          reply.code(ready.status).send(ready.body);
          return;
        }
        reply.code(ready.status).send({ error: ready.error });
      };
      if (isPromise(outcome)) outcome.then(proceed).catch(hookDone);
      else proceed(outcome);
    });
    done();
  };
  // What fastify-plugin would set: skip encapsulation, and a name for errors and hasPlugin().
  return Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "sessionkeeper",
    [Symbol.for("plugin-meta")]: { name: "sessionkeeper", fastify: "5.x" },
  });
}

/**
 * preHandler that answers 401 `{"error":"unauthenticated"}` unless the request has an active
 * session; 401 `{"error":"device_binding_required"}` when it came without its device binding.
 */
export function requireSession(): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    const refusal = sessionRefusal(request.sessionkeeper);
    if (refusal === null) return;
    return reply.code(401).send({ error: refusal });
  };
}

/** preHandler: only a device-bound session (DBSC) gets through; 401 `device_binding_required` otherwise. */
export function requireDeviceBinding(): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    const refusal = sessionRefusal(request.sessionkeeper, { bound: true });
    if (refusal === null) return;
    return reply.code(401).send({ error: refusal });
  };
}

/**
 * preHandler that lets the request through only when the session's last proof of identity is
 * recent enough (see {@link RecentAuthOptions}); else 401 `reauthentication_required` with a
 * `WWW-Authenticate` challenge (RFC 9470 style). With `reauthPage`, an HTML form post outside the
 * window is kept and answered 303 to that page (see {@link RecentAuthGuardOptions}; the app needs a
 * parser for `application/x-www-form-urlencoded`); `POST <path>?sk_resume=1` then runs the route
 * once with the kept body as `request.body`. Without an active session: 401 `unauthenticated`.
 */
export function requireRecentAuth(
  options: RecentAuthGuardOptions = {},
): preHandlerAsyncHookHandler {
  const { rule, reauthPage } = guardRule(options);
  return async (request, reply) => {
    const context = request.sessionkeeper;
    if (!context?.session) return reply.code(401).send({ error: "unauthenticated" });
    const path = pathOf(request.url);
    const resume = reauthPage !== null && isResume(request.method, request.url);
    const challenge = await context.checkRecentAuth(rule);
    if (!challenge) {
      if (!resume) return;
      const body = await context.takeKeptPost(path);
      if (body === null) return reply.code(409).send(NOTHING_TO_RESUME);
      request.body = formObject(body);
      return;
    }
    reply.header("www-authenticate", challenge.challenge);
    if (reauthPage !== null && isFormPost(request.method, request.headers["content-type"])) {
      const body = formText(request.body ?? "");
      const kept = resume || (body !== null && (await context.keepPost({ path, body })));
      if (kept) return reply.redirect(reauthLocation(reauthPage, path), 303);
    }
    return reply.code(401).send(challenge.body);
  };
}

/** The current active session, or null. */
export function getSession(request: FastifyRequest): Session | null {
  return request.sessionkeeper?.session ?? null;
}

/**
 * The request's sessionkeeper context; throws when the plugin did not run (a set-up mistake).
 * `Data` is the keeper's session data type: `sessionContext<{ cartId: string }>(request).data`.
 */
export function sessionContext<Data extends object = SessionData>(
  request: FastifyRequest,
): RequestSession<Data> {
  if (!request.sessionkeeper)
    throw new TypeError(
      "register fastifySessions(keeper) before this route (or the path is excluded)",
    );
  return request.sessionkeeper as RequestSession<Data>;
}

/** A Fastify error handler, as `app.setErrorHandler` takes it. */
type FastifyErrorHandler = (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

/**
 * Error handler for `app.setErrorHandler`: a `StorageError` in a route becomes 503
 * `{"error":"storage_unavailable"}` instead of a 500 carrying its message. Other errors go to
 * `otherwise` when given, else on to Fastify's default handler.
 */
export function storageErrorHandler(otherwise?: FastifyErrorHandler): FastifyErrorHandler {
  return (error, request, reply) => {
    if (!isStorageError(error)) {
      if (otherwise) return otherwise(error, request, reply);
      throw error; // Fastify hands an error rethrown here to the parent (default) handler
    }
    // A cookie queued before the failure (e.g. by a half-done sign-in) must not reach the browser.
    reply.removeHeader("set-cookie");
    return reply.code(503).send({ error: "storage_unavailable" });
  };
}

function rawRequest(request: FastifyRequest): RawRequest {
  const url = request.url;
  const query = url.indexOf("?");
  const socket = request.raw.socket;
  return {
    method: request.method,
    path: query === -1 ? url : url.slice(0, query),
    // HTTP/2 carries the host as `:authority`; the origin check compares against it.
    header: (name) =>
      nodeHeaderValue(request.headers[name]) ??
      (name === "host" ? nodeHeaderValue(request.headers[":authority"]) : null),
    // The socket, not request.ip: sessionkeeper applies its own trustProxy rules.
    socketAddress: socket?.remoteAddress,
    encrypted: Boolean(socket && "encrypted" in socket && socket.encrypted),
  };
}

/**
 * Route handler for the live stream (server-sent events): `event: ended` with `{reason, message}`
 * when this request's session ends anywhere; `event: approved` when a sign-in held for
 * verification (the verify page's stream) is approved; 401 without a live session.
 * @example
 * app.get("/api/events", liveEvents(new LiveChannel(keeper, { broadcast: redis.cache })));
 */
export function liveEvents(
  channel: LiveChannel,
): (request: FastifyRequest, reply: FastifyReply) => void {
  return (request, reply) => {
    // The stream writes to the socket itself; headers queued on the reply (a renewed cookie) go too.
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders()))
      if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
    streamToNode(channel, request.sessionkeeper, reply.raw);
  };
}

export { RequestSession } from "../request-session.js";
export type { RecentAuthGuardOptions } from "./kept-form.js";
