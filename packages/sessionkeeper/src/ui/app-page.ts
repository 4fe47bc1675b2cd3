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
  /**
   * The page of a sign-in waiting for approval (a verify page): with `liveEventsPath` set, it goes
   * to `continuePath` (a path on this site that completes the sign-in) as soon as it is approved
   * anywhere, and to `signInPath?ended=<reason>` when it is refused.
   */
  waiting?: { continuePath: string };
  /** The page has passkey forms (`form[data-passkey]`) or a resume form: adds the passkey script. */
  passkeys?: boolean;
  /** Show the account tabs (Devices, Login history, `options.tabs`) with this page's href current. */
  tab?: { basePath: string; current: string };
}) => AppPage {
  const resolved = resolvePageOptions(options);
  return (page) => ({
    status: page.status ?? 200,
    headers: pageHeaders(
      resolved,
      page.live === true,
      page.waiting !== undefined,
      page.passkeys === true,
    ),
    body: renderPage(resolved, {
      name: null,
      heading: page.heading,
      basePath: "",
      content: page.content,
      live: page.live === true,
      account: page.account ?? null,
      waiting: page.waiting ? { continuePath: localPath(page.waiting.continuePath) } : null,
      passkeys: page.passkeys === true,
      tab: page.tab ?? null,
    }),
  });
}

/** The continue URL goes into the page as a link: only a path on this site. */
function localPath(value: unknown): string {
  if (
    typeof value !== "string" ||
    !value.startsWith("/") ||
    value.startsWith("//") ||
    /[\\\s]/.test(value)
  )
    throw new TypeError(
      'waiting.continuePath must be a path on this site such as "/signin/verify/continue"',
    );
  return value;
}
