import type { SafeHtml } from "../html.js";
import { pageHeaders, renderPage } from "./layout.js";
import { type AccountPagesOptions, resolvePageOptions } from "./options.js";

/** A page of the app's own (sign-in form, security settings) in the look of the account pages. */
export interface AppPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Returns a renderer for the app's own pages that share the account pages' layout, stylesheet and
 * security headers (CSP without scripts, nosniff, no-store, no framing). Content must be built with
 * `html`, which escapes every value. Options are validated once, here.
 * @example
 * const page = appPageRenderer({ title: "Acme" });
 * const { status, headers, body } = page({ heading: "Sign in", content: html`<form>…</form>` });
 */
export function appPageRenderer(
  options: AccountPagesOptions = {},
): (page: { heading: string; content: SafeHtml; status?: number }) => AppPage {
  const resolved = resolvePageOptions(options);
  const headers = pageHeaders(resolved);
  return (page) => ({
    status: page.status ?? 200,
    headers: { ...headers },
    body: renderPage(resolved, {
      name: null,
      heading: page.heading,
      basePath: "",
      content: page.content,
    }),
  });
}
