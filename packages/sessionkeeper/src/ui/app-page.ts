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
 * `html`, which escapes every value. Options are validated once, here. `live: true` on a page of a
 * signed-in session (never the sign-in page) adds the live-stream script when `liveEventsPath` is set.
 * @example
 * const page = appPageRenderer({ title: "Acme" });
 * const { status, headers, body } = page({ heading: "Sign in", content: html`<form>…</form>` });
 */
export function appPageRenderer(options: AccountPagesOptions = {}): (page: {
  heading: string;
  content: SafeHtml;
  status?: number;
  live?: boolean;
  account?: string | null;
  /** Show the account tabs (Devices, Login history, `options.tabs`) with this page's href current. */
  tab?: { basePath: string; current: string };
}) => AppPage {
  const resolved = resolvePageOptions(options);
  return (page) => ({
    status: page.status ?? 200,
    headers: pageHeaders(resolved, page.live === true),
    body: renderPage(resolved, {
      name: null,
      heading: page.heading,
      basePath: "",
      content: page.content,
      live: page.live === true,
      account: page.account ?? null,
      tab: page.tab ?? null,
    }),
  });
}
