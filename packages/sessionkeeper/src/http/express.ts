import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from "express";
import { isStorageError } from "../errors.js";
import type { LiveChannel } from "../live/live-channel.js";
import { streamToNode } from "../live/streams.js";
import { isPromise } from "../maybe-promise.js";
import type { RecentAuthOptions } from "../recent-auth.js";
import { type Outcome, sessionRefusal } from "../request.js";
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
  KEPT_FORM_MAX_BYTES,
  NOTHING_TO_RESUME,
  pathOf,
  type RecentAuthGuardOptions,
  reauthLocation,
} from "./kept-form.js";
import { readBounded } from "./node-body.js";

declare global {
  namespace Express {
    interface Request {
      /** sessionkeeper's view of this request; absent on excluded paths. */
      sessionkeeper?: RequestSession<object>;
    }
  }
}

/**
 * Express middleware: validates the session cookie and puts a {@link RequestSession} on
 * `req.sessionkeeper`. Refuses cross-origin unsafe requests (403) and answers 503 when storage is down.
 * @example
 * app.use(sessionMiddleware(keeper));
 * app.get("/me", requireSession(), (req, res) => res.json(getSession(req)));
 */
export function sessionMiddleware<Data extends object>(
  keeper: SessionKeeper<Data>,
): RequestHandler {
  // Not an async function: a session answered from memory goes on to the route in the same turn,
  // with no promise for Express to wait on. A late outcome's failure goes to Express's error path.
  return (req: Request, res: Response, next: NextFunction) => {
    const outcome = keeper.beginRequest(
      {
        method: req.method,
        path: req.path,
        header: (name) => nodeHeaderValue(req.headers[name]),
        socketAddress: req.socket.remoteAddress,
        encrypted:
          "encrypted" in req.socket && Boolean((req.socket as { encrypted?: boolean }).encrypted),
      },
      (cookie) => {
        res.append("Set-Cookie", cookie);
        // A response that sets a session cookie must never be stored by a shared cache.
        res.setHeader("Cache-Control", "no-store");
      },
      (name, value) => res.append(name, value),
    );
    if (isPromise(outcome)) outcome.then((ready) => proceed(ready, req, res, next)).catch(next);
    else proceed(outcome, req, res, next);
  };
}

function proceed(outcome: Outcome<object>, req: Request, res: Response, next: NextFunction): void {
  if (outcome.kind === "forbidden" || outcome.kind === "unavailable") {
    res.status(outcome.status).json({ error: outcome.error });
    return;
  }
  if (outcome.kind === "respond") {
    for (const [name, value] of outcome.headers) res.setHeader(name, value);
    for (const cookie of outcome.cookies) res.append("Set-Cookie", cookie);
    res.status(outcome.status).send(outcome.body);
    return;
  }
  if (outcome.kind === "next") {
    req.sessionkeeper = outcome.context;
    // What a signed-in (or pending) session is shown is never kept by a cache; a route may relax it.
    if (outcome.context.record !== null) res.setHeader("Cache-Control", "no-store");
  }
  next();
}

/**
 * Answers 401 `{"error":"unauthenticated"}` unless the request has an active session; 401
 * `{"error":"device_binding_required"}` when its session came without its device binding.
 */
export function requireSession(): RequestHandler {
  return (req, res, next) => {
    const refusal = sessionRefusal(req.sessionkeeper);
    if (refusal === null) return next();
    res.status(401).json({ error: refusal });
  };
}

/**
 * Like {@link requireSession}, but only a device-bound session (DBSC) gets through: 401
 * `{"error":"device_binding_required"}` otherwise. For routes that must never run on a copied cookie.
 */
export function requireDeviceBinding(): RequestHandler {
  return (req, res, next) => {
    const refusal = sessionRefusal(req.sessionkeeper, { bound: true });
    if (refusal === null) return next();
    res.status(401).json({ error: refusal });
  };
}

/**
 * Lets the request through only when the session's last proof of identity is recent enough (see
 * {@link RecentAuthOptions}); else 401 `{"error":"reauthentication_required","maxAge","factors"}`
 * with a `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=…` challenge.
 * With `reauthPage`, an HTML form post outside the window is kept and answered 303 to that page
 * (see {@link RecentAuthGuardOptions}); `POST <path>?sk_resume=1` then runs the route once with
 * the kept body as `req.body` (a second time: 409 `nothing_to_resume`). Without an active session:
 * 401 `unauthenticated`. Bad options throw at start-up.
 * @example
 * app.post("/api/password", requireRecentAuth({ maxAge: "10m" }), changePassword);
 */
export function requireRecentAuth(options: RecentAuthGuardOptions = {}): RequestHandler {
  const { rule, reauthPage } = guardRule(options);
  return (req, res, next) => {
    const context = req.sessionkeeper;
    if (!context?.session) {
      res.status(401).json({ error: "unauthenticated" });
      return;
    }
    const path = pathOf(req.originalUrl);
    const resume = reauthPage !== null && isResume(req.method, req.originalUrl);
    const decide = async () => {
      const challenge = await context.checkRecentAuth(rule);
      if (!challenge) {
        if (!resume) return next();
        const body = await context.takeKeptPost(path);
        if (body === null) return void res.status(409).json(NOTHING_TO_RESUME);
        req.body = formObject(body);
        return next();
      }
      res.setHeader("WWW-Authenticate", challenge.challenge);
      if (reauthPage !== null && isFormPost(req.method, req.headers["content-type"])) {
        // A resume outside the window keeps nothing new: the first kept post stays for after.
        const kept = resume || (await keep(context, req, path));
        if (kept) return res.redirect(303, reauthLocation(reauthPage, path));
      }
      res.status(401).json(challenge.body);
    };
    decide().catch(next);
  };
}

/** Keeps the form post: the parsed body (a body parser ran) or the raw one (bounded). */
async function keep(context: RequestSession<object>, req: Request, path: string): Promise<boolean> {
  let body = req.body === undefined ? null : formText(req.body);
  if (req.body === undefined) {
    const raw = await readBounded(req, KEPT_FORM_MAX_BYTES);
    body = raw === null ? null : Buffer.from(raw).toString("utf8");
  }
  return body !== null && context.keepPost({ path, body });
}

/** The current active session, or null. */
export function getSession(req: Request): Session | null {
  return req.sessionkeeper?.session ?? null;
}

/**
 * The request's sessionkeeper context; throws when the middleware did not run (a set-up mistake).
 * `Data` is the keeper's session data type: `sessionContext<{ cartId: string }>(req).data`.
 */
export function sessionContext<Data extends object = SessionData>(
  req: Request,
): RequestSession<Data> {
  if (!req.sessionkeeper)
    throw new TypeError(
      "sessionMiddleware(keeper) must run before this route (or the path is excluded)",
    );
  return req.sessionkeeper as RequestSession<Data>;
}

/** Error handler that turns a storage failure in a route into 503 instead of a 500 with a stack trace. */
export function storageErrorHandler(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (!isStorageError(error)) return next(error);
    if (res.headersSent) return next(error);
    // A cookie queued before the failure (e.g. by a half-done sign-in) must not reach the browser.
    res.removeHeader("Set-Cookie");
    res.status(503).json({ error: "storage_unavailable" });
  };
}

/**
 * GET handler for the live stream (server-sent events): `event: ended` with `{reason, message}`
 * when this request's session ends anywhere; `event: approved` when a sign-in held for
 * verification (the verify page's stream) is approved; 401 without a live session.
 * @example
 * const live = new LiveChannel(keeper, { broadcast: redis.cache });
 * app.get("/api/events", liveEvents(live));
 */
export function liveEvents(channel: LiveChannel): RequestHandler {
  return (req, res) => streamToNode(channel, req.sessionkeeper, res);
}

export { RequestSession } from "../request-session.js";
export { accountApi, accountPages } from "./express-account.js";
export type { RecentAuthGuardOptions } from "./kept-form.js";
