import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { SessionKeeper } from "../session-keeper.js";
import {
  type AccountHandler,
  type AccountResponse,
  createAccountPagesHandler,
} from "../ui/account-handler.js";
import {
  declaresTooLarge,
  FORM_BODY_LIMIT,
  jsonFields,
  parseFormBody,
  parseQuery,
} from "../ui/form.js";
import type { AccountPagesOptions } from "../ui/options.js";
import { type AccountApiOptions, createAccountApiHandler } from "./account-api.js";
import { readBounded } from "./node-body.js";

/**
 * The ready-made devices and history pages as Express middleware. Mount it after
 * `sessionMiddleware`; paths it does not serve fall through to the app.
 * @example
 * app.use(sessionMiddleware(keeper));
 * app.use("/account", accountPages(keeper, { title: "Acme", signInPath: "/signin" }));
 */
export function accountPages(
  keeper: SessionKeeper<object>,
  options: AccountPagesOptions = {},
): RequestHandler {
  return mount(createAccountPagesHandler(keeper, options));
}

/**
 * The JSON account API (sessions list, revoke one, revoke others, history) as Express middleware.
 * @example
 * app.use("/api", accountApi(keeper));
 */
export function accountApi(
  keeper: SessionKeeper<object>,
  options: AccountApiOptions = {},
): RequestHandler {
  return mount(createAccountApiHandler(keeper, options));
}

// A plain middleware rather than an express.Router: the library never imports express at run
// time, and `app.use(path, fn)` gives the same req.baseUrl / req.path as a Router would.
function mount(handler: AccountHandler): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const route = handler.match(req.method, req.path);
      if (!route) return next();
      if (!req.sessionkeeper) {
        throw new TypeError(
          "sessionMiddleware(keeper) must run before the account pages (or their path is excluded)",
        );
      }
      const body = route.readsForm ? await readForm(req, route.readsJson === true) : null;
      const response = await handler.handle({
        method: req.method,
        path: req.path,
        basePath: mountPath(req.baseUrl),
        query: parseQuery(req.originalUrl),
        body,
        session: req.sessionkeeper,
      });
      if (!response) return next();
      send(res, response);
    } catch (error) {
      next(error);
    }
  };
}

function send(res: Response, response: AccountResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  // res.end, not res.send: no ETag or 304 on pages that must never be cached.
  res.end(response.body);
}

/** The form body: the app's own parsed body when it installed a parser, else read here, bounded. */
async function readForm(
  req: Request,
  acceptsJson: boolean,
): Promise<URLSearchParams | "too_large"> {
  const parsed: unknown = req.body;
  if (parsed !== undefined) return acceptsJson ? jsonFields(parsed) : fieldsOf(parsed);
  if (declaresTooLarge(req.headers["content-length"], FORM_BODY_LIMIT)) return "too_large";
  const bytes = await readBounded(req, FORM_BODY_LIMIT);
  return bytes === null
    ? "too_large"
    : parseFormBody(bytes, req.headers["content-type"], acceptsJson);
}

function fieldsOf(parsed: unknown): URLSearchParams {
  const fields = new URLSearchParams();
  if (typeof parsed !== "object" || parsed === null) return fields;
  for (const [key, value] of Object.entries(parsed))
    if (typeof value === "string") fields.append(key, value);
  return fields;
}

/** The mount path links and redirects start from; never "//host", which a browser reads as another site. */
function mountPath(baseUrl: string): string {
  return baseUrl.startsWith("//") || baseUrl.includes("\\") ? "" : baseUrl;
}
