import { KEPT_POST_MAX_BYTES, RESUME_PARAM } from "../kept-post.js";
import { type RecentAuthOptions, type RecentAuthRule, recentAuthRule } from "../recent-auth.js";

// What the three adapters' requireRecentAuth share for HTML forms: a form post outside the window
// is kept and the browser sent to the re-authentication page; after the proof the page posts to
// `<path>?sk_resume=1`, and the kept body (once) replaces the empty one.

/** {@link RecentAuthOptions}, plus where a page (HTML form) request goes to prove it's the user. */
export interface RecentAuthGuardOptions extends RecentAuthOptions {
  /**
   * A local path (e.g. `/account/reauth`). When set, a form post (`application/x-www-form-urlencoded`)
   * outside the window is kept server-side (this session, one use, five minutes, at most 16 KB)
   * and answered `303` to `<reauthPage>?next=<path>`; JSON requests still get the 401 challenge.
   * After re-authenticating, the page posts to `<path>?sk_resume=1` and the action runs once with
   * the kept body. Without it, every request outside the window gets the 401 challenge.
   */
  reauthPage?: string;
}

export interface GuardRule {
  rule: RecentAuthRule;
  reauthPage: string | null;
}

/** Checks options at start-up: a bad one throws a TypeError naming it. */
export function guardRule(options: RecentAuthGuardOptions = {}): GuardRule {
  const { reauthPage, ...rest } = options ?? {};
  if (
    reauthPage !== undefined &&
    (typeof reauthPage !== "string" ||
      !/^\/(?!\/)[\x21-\x7e]{0,255}$/.test(reauthPage) ||
      reauthPage.includes("?"))
  )
    throw new TypeError('options.reauthPage must be a local path such as "/account/reauth"');
  return { rule: recentAuthRule(rest), reauthPage: reauthPage ?? null };
}

/** A form post a browser sends without script: the kind of request kept. */
export function isFormPost(method: string, contentType: string | null | undefined): boolean {
  return (
    method === "POST" &&
    typeof contentType === "string" &&
    contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")
  );
}

/** Whether the URL asks to resume a kept post (`?sk_resume=1`). */
export function isResume(method: string, url: string): boolean {
  if (method !== "POST") return false;
  const query = url.indexOf("?");
  return query !== -1 && new URLSearchParams(url.slice(query + 1)).get(RESUME_PARAM) === "1";
}

/** The path part of a request URL (the kept post is bound to it). */
export function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** Where the browser goes to re-authenticate, and back. */
export function reauthLocation(page: string, path: string): string {
  return `${page}?next=${encodeURIComponent(path)}`;
}

/** A parsed form (as body parsers give it) back to urlencoded text; null for what is not a form. */
export function formText(body: unknown): string | null {
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString("utf8");
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    for (const v of [value].flat()) {
      if (typeof v !== "string") return null;
      params.append(name, v);
    }
  }
  return params.toString();
}

/** Urlencoded text as the usual body parsers give it: a value per name, repeated names as arrays. */
export function formObject(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const had = out[name];
    out[name] = had === undefined ? value : [had, value].flat();
  }
  return out;
}

export const KEPT_FORM_MAX_BYTES = KEPT_POST_MAX_BYTES;

/** The answer to a resume with nothing kept (spent, expired): the action does not run again. */
export const NOTHING_TO_RESUME = { error: "nothing_to_resume" } as const;
