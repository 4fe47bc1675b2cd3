import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import {
  type AccountHandler,
  type AccountResponse,
  createAccountPagesHandler,
} from "../ui/account-handler.js";
import {
  concatChunks,
  declaresTooLarge,
  FORM_BODY_LIMIT,
  parseFormBody,
  parseQuery,
} from "../ui/form.js";
import { type AccountPagesOptions, requireBasePath } from "../ui/options.js";
import { type AccountApiOptions, createAccountApiHandler } from "./account-api.js";

/** Answers a request it owns, or null so the app's own routing goes on. */
export type AccountFetchHandler = (
  request: Request,
  session: RequestSession<object> | null,
) => Promise<Response | null>;

/** Page options plus where the pages live. */
export interface WebAccountPagesOptions extends AccountPagesOptions {
  /** The path the pages are under. Default "/account" (so "/account/sessions", "/account/history"). */
  basePath?: string;
}

/** API options plus where the API lives. */
export interface WebAccountApiOptions extends AccountApiOptions {
  /** The path the API is under. Default "/api" (so "/api/sessions", "/api/history"). */
  basePath?: string;
}

/**
 * The devices and history pages for Web-standard handlers: call it inside `withSessions` or a
 * Hono route; it returns null for paths that are not its own.
 * @example
 * const pages = accountPagesFetch(keeper, { basePath: "/account" });
 * withSessions(keeper, async (req, s) => (await pages(req, s)) ?? app(req, s));
 */
export function accountPagesFetch(
  keeper: SessionKeeper<object>,
  options: WebAccountPagesOptions = {},
): AccountFetchHandler {
  const { basePath, ...pageOptions } = options;
  return mount(
    createAccountPagesHandler(keeper, pageOptions),
    requireBasePath("basePath", basePath ?? "/account"),
  );
}

/**
 * The JSON account API for Web-standard handlers; null for paths that are not its own.
 * @example
 * const api = accountApiFetch(keeper, { basePath: "/api" });
 */
export function accountApiFetch(
  keeper: SessionKeeper<object>,
  options: WebAccountApiOptions = {},
): AccountFetchHandler {
  const { basePath, ...apiOptions } = options;
  return mount(
    createAccountApiHandler(keeper, apiOptions),
    requireBasePath("basePath", basePath ?? "/api"),
  );
}

function mount(handler: AccountHandler, basePath: string): AccountFetchHandler {
  return async (request, session) => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${basePath}/`)) return null;
    const path = url.pathname.slice(basePath.length);
    const route = handler.match(request.method, path);
    if (!route) return null;
    const body = route.readsForm ? await readForm(request, route.readsJson === true) : null;
    const response = await handler.handle({
      method: request.method,
      path,
      basePath,
      query: parseQuery(request.url),
      body,
      session,
    });
    return response ? toResponse(response, request.method) : null;
  };
}

function toResponse(response: AccountResponse, method: string): Response {
  const empty =
    response.status === 204 || response.status === 303 || method.toUpperCase() === "HEAD";
  return new Response(empty ? null : response.body, {
    status: response.status,
    headers: response.headers,
  });
}

async function readForm(
  request: Request,
  acceptsJson: boolean,
): Promise<URLSearchParams | "too_large"> {
  if (declaresTooLarge(request.headers.get("content-length"), FORM_BODY_LIMIT)) return "too_large";
  if (!request.body) return new URLSearchParams();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > FORM_BODY_LIMIT) {
      // Stop reading a body past the bound instead of buffering it.
      await reader.cancel().catch(() => {});
      return "too_large";
    }
    chunks.push(value);
  }
  return parseFormBody(
    concatChunks(chunks, total),
    request.headers.get("content-type"),
    acceptsJson,
  );
}
