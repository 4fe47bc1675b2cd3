import type { SafeHtml } from "../html.js";
import { pageHeaders, renderPage } from "./layout.js";
import { resolvePageOptions } from "./options.js";

/** A rendered page and the headers it must be served with: `res.status(p.status).set(p.headers).send(p.body)`. */
export interface HtmlPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A signed-out page (a mail link's page, the dev mailbox) in the account pages' layout: the same
 * header with the app's name (and no "Sign out"), stylesheet, dark mode and security headers (no
 * script; forms post only to this site; no framing; no Referer, since link pages hold a token in
 * their URL). `inlineStyles`: the dev mailbox's frames show mail whose HTML has style attributes.
 */
export function htmlPage(
  heading: string,
  content: SafeHtml,
  status = 200,
  options: { appName?: string; inlineStyles?: boolean } = {},
): HtmlPage {
  const resolved = resolvePageOptions({ title: options.appName ?? "Account" });
  const headers = pageHeaders(resolved);
  if (options.inlineStyles) {
    headers["content-security-policy"] =
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  }
  const body = renderPage(resolved, { name: null, heading, basePath: "", content });
  return { status, headers, body };
}
