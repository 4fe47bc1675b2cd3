import type { IncomingMessage, ServerResponse } from "node:http";
import { isStorageError } from "../errors.js";
import type { LiveChannel } from "../live/live-channel.js";
import { streamToNode } from "../live/streams.js";
import { sessionRefusal } from "../request.js";
import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { Session } from "../types.js";
import {
  type AccountHandler,
  type AccountResponse,
  createAccountPagesHandler,
} from "../ui/account-handler.js";
import { declaresTooLarge, FORM_BODY_LIMIT, parseFormBody, parseQuery } from "../ui/form.js";
import { type AccountPagesOptions, requireBasePath } from "../ui/options.js";
import { type AccountApiOptions, createAccountApiHandler } from "./account-api.js";
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

// Koa gets its own adapter: the Web one wants a Request → Response handler and the Express one
// Express's req.path, res.append and error middleware, while a Koa app sets ctx.body late and
// handles errors by awaiting next(). This file only reads Koa's context; it never imports koa.

/** The least of Koa's `Context` this adapter uses. */
export interface KoaLikeContext {
  req: IncomingMessage;
  method: string;
  path: string;
  url: string;
  /** Koa's request; a body parser (koa-body, @koa/bodyparser) puts the parsed form on `body`. */
  request: object;
  status: number;
  body: unknown;
  state: { sessionkeeper?: RequestSession };
  append(field: string, value: string): void;
  set(field: string, value: string): void;
  remove(field: string): void;
}

type Next = () => Promise<unknown>;

/**
 * Koa middleware: validates the session cookie and puts the request's {@link RequestSession} on
 * `ctx.state.sessionkeeper`. Refuses cross-origin unsafe requests (403); storage down, before or
 * inside a route, answers 503 `{"error":"storage_unavailable"}` with no cookie.
 * @example
 * app.use(koaSessions(keeper));
 */
export function koaSessions(keeper: SessionKeeper) {
  return async (ctx: KoaLikeContext, next: Next): Promise<void> => {
    const outcome = await keeper.beginRequest(
      {
        method: ctx.method,
        path: ctx.path,
        header: (name) => nodeHeaderValue(ctx.req.headers[name]),
        socketAddress: ctx.req.socket.remoteAddress,
        encrypted: Boolean((ctx.req.socket as { encrypted?: boolean }).encrypted),
      },
      (cookie) => {
        ctx.append("Set-Cookie", cookie);
        // A response that sets a session cookie must never be stored by a shared cache.
        ctx.set("Cache-Control", "no-store");
      },
      (name, value) => ctx.append(name, value),
    );
    if (outcome.kind === "excluded") return void (await next());
    if (outcome.kind === "respond") {
      for (const [name, value] of outcome.headers) ctx.set(name, value);
      for (const cookie of outcome.cookies) ctx.append("Set-Cookie", cookie);
      ctx.status = outcome.status;
      ctx.body = outcome.body;
      ctx.set("Content-Type", "application/json");
      return;
    }
    if (outcome.kind !== "next") return answer(ctx, outcome.status, { error: outcome.error });
    ctx.state.sessionkeeper = outcome.context;
    // What a signed-in (or pending) session is shown is never kept by a cache; a route may relax it.
    if (outcome.context.record !== null) ctx.set("Cache-Control", "no-store");
    try {
      await next();
    } catch (error) {
      if (!isStorageError(error)) throw error;
      // A cookie queued before the failure (e.g. by a half-done sign-in) must not reach the browser.
      ctx.remove("Set-Cookie");
      answer(ctx, 503, { error: "storage_unavailable" });
    }
  };
}

/**
 * GET middleware for the live stream of a {@link LiveChannel}: `event: ended` with
 * `{reason, message}` when the session ends anywhere; `event: approved` when a sign-in held for verification is
 * approved; 401 without a live session. It writes to
 * the response itself (`ctx.respond = false`), headers already set (a renewed cookie) included.
 * @example
 * router.get("/api/events", koaLiveEvents(live)); // or: if (ctx.path === "/api/events") …
 */
export function koaLiveEvents(channel: LiveChannel) {
  return async (
    ctx: KoaLikeContext & { res: ServerResponse; respond?: boolean },
  ): Promise<void> => {
    ctx.respond = false;
    streamToNode(channel, ctx.state.sessionkeeper, ctx.res);
  };
}

/** Answers 401 `{"error":"unauthenticated"}` unless the request has an active session (Koa). */
export function koaRequireSession() {
  return async (ctx: KoaLikeContext, next: Next): Promise<void> => {
    const refusal = sessionRefusal(ctx.state.sessionkeeper);
    if (refusal !== null) return answer(ctx, 401, { error: refusal });
    await next();
  };
}

/** Only a device-bound session (DBSC) gets through; 401 `device_binding_required` otherwise. */
export function koaRequireDeviceBinding() {
  return async (ctx: KoaLikeContext, next: Next): Promise<void> => {
    const refusal = sessionRefusal(ctx.state.sessionkeeper, { bound: true });
    if (refusal !== null) return answer(ctx, 401, { error: refusal });
    await next();
  };
}

/**
 * Lets the request through only when the session's last proof of identity is recent enough
 * ({@link RecentAuthOptions}); else 401 `{"error":"reauthentication_required","maxAge","factors"}`
 * with the `WWW-Authenticate` challenge, as `requireRecentAuth` in Express. With `reauthPage`, an
 * HTML form post outside the window is kept (the parsed `ctx.request.body`, or the raw body up to
 * 16 KB) and answered 303 to that page; `POST <path>?sk_resume=1` then runs the route once with
 * the kept form as `ctx.request.body` (a second time: 409 `nothing_to_resume`). Without an active
 * session: 401 `unauthenticated`. Bad options throw at start-up.
 * @example
 * router.post("/api/password", koaRequireRecentAuth({ maxAge: "10m" }), changePassword);
 */
export function koaRequireRecentAuth(options: RecentAuthGuardOptions = {}) {
  const { rule, reauthPage } = guardRule(options);
  return async (ctx: KoaLikeContext, next: Next): Promise<void> => {
    const context = ctx.state.sessionkeeper;
    if (!context?.session) return answer(ctx, 401, { error: "unauthenticated" });
    const path = pathOf(ctx.url);
    const resume = reauthPage !== null && isResume(ctx.method, ctx.url);
    const challenge = await context.checkRecentAuth(rule);
    if (!challenge) {
      if (resume) {
        const body = await context.takeKeptPost(path);
        if (body === null) return answer(ctx, 409, NOTHING_TO_RESUME);
        // Where a body parser puts a form: the route reads the kept one as if it were posted now.
        (ctx.request as { body?: unknown }).body = formObject(body);
      }
      await next();
      return;
    }
    ctx.set("WWW-Authenticate", challenge.challenge);
    const type = nodeHeaderValue(ctx.req.headers["content-type"]);
    if (reauthPage !== null && isFormPost(ctx.method, type)) {
      // A resume outside the window keeps nothing new: the first kept post stays for after.
      const kept = resume || (await keepKoaPost(context, ctx, path));
      if (kept) {
        // No body: Koa turns a null body into 204.
        ctx.status = 303;
        ctx.set("Location", reauthLocation(reauthPage, path));
        return;
      }
    }
    ctx.status = challenge.status;
    ctx.body = challenge.body;
  };
}

/** Keeps the form post: the body a parser already read, or the raw one (bounded). */
async function keepKoaPost(
  context: RequestSession,
  ctx: KoaLikeContext,
  path: string,
): Promise<boolean> {
  const parsed = (ctx.request as { body?: unknown }).body;
  let body = parsed === undefined ? null : formText(parsed);
  if (parsed === undefined) {
    const raw = await readBounded(ctx.req, KEPT_FORM_MAX_BYTES);
    body = raw === null ? null : Buffer.from(raw).toString("utf8");
  }
  return body !== null && context.keepPost({ path, body });
}

/** The request's sessionkeeper context; throws when koaSessions did not run (a set-up mistake). */
export function koaSessionContext(ctx: KoaLikeContext): RequestSession {
  const context = ctx.state.sessionkeeper;
  if (!context)
    throw new TypeError("koaSessions(keeper) must run before this route (or the path is excluded)");
  return context;
}

/** The current active session, or null. */
export function koaSession(ctx: KoaLikeContext): Session | null {
  return ctx.state.sessionkeeper?.session ?? null;
}

/**
 * The ready-made devices and history pages as Koa middleware, under `basePath` (default
 * "/account"); other paths go on to the next middleware.
 * @example
 * app.use(koaAccountPages(keeper, { basePath: "/account", signInPath: "/signin" }));
 */
export function koaAccountPages(
  keeper: SessionKeeper,
  options: AccountPagesOptions & { basePath?: string } = {},
) {
  const { basePath, ...pageOptions } = options;
  return mount(
    createAccountPagesHandler(keeper, pageOptions),
    requireBasePath("basePath", basePath ?? "/account"),
  );
}

/** The JSON account API as Koa middleware, under `basePath` (default "/api"). */
export function koaAccountApi(
  keeper: SessionKeeper,
  options: AccountApiOptions & { basePath?: string } = {},
) {
  const { basePath, ...apiOptions } = options;
  return mount(
    createAccountApiHandler(keeper, apiOptions),
    requireBasePath("basePath", basePath ?? "/api"),
  );
}

function mount(handler: AccountHandler, basePath: string) {
  return async (ctx: KoaLikeContext, next: Next): Promise<void> => {
    const path = below(ctx.path, basePath);
    const route = path === null ? null : handler.match(ctx.method, path);
    if (path === null || !route) return void (await next());
    const session = koaSessionContext(ctx);
    const body = route.readsForm ? await readForm(ctx.req, route.readsJson === true) : null;
    const response = await handler.handle({
      method: ctx.method,
      path,
      basePath,
      query: parseQuery(ctx.url),
      body,
      session,
    });
    if (!response) return void (await next());
    send(ctx, response);
  };
}

/** The path below the mount point ("/account/sessions" → "/sessions"), or null when outside it. */
function below(path: string, basePath: string): string | null {
  if (basePath === "") return path;
  if (path === basePath) return "/";
  return path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : null;
}

async function readForm(
  req: IncomingMessage,
  acceptsJson: boolean,
): Promise<URLSearchParams | "too_large"> {
  if (declaresTooLarge(req.headers["content-length"], FORM_BODY_LIMIT)) return "too_large";
  const bytes = await readBounded(req, FORM_BODY_LIMIT);
  return bytes === null
    ? "too_large"
    : parseFormBody(bytes, req.headers["content-type"], acceptsJson);
}

function send(ctx: KoaLikeContext, response: AccountResponse): void {
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value);
  // A string body: Koa would guess text/html, so the handler's content-type is set after it.
  ctx.body = response.body;
  const type = response.headers["content-type"];
  if (type) ctx.set("Content-Type", type);
}

function answer(ctx: KoaLikeContext, status: number, body: { error: string }): void {
  ctx.status = status;
  ctx.body = body;
}

export { RequestSession } from "../request-session.js";
