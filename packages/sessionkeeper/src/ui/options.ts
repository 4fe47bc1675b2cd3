import type { SignInApprovals } from "../protection/guard.js";
import { type RecentAuthOptions, type RecentAuthRule, recentAuthRule } from "../recent-auth.js";
/** A link (or, with `method: "post"`, a one-button form such as "Sign out") in the page header. */
export interface NavItem {
  href: string;
  label: string;
  method?: "get" | "post";
}

/** Options of the ready-made account pages (`accountPages`, `accountPagesFetch`). */
export interface AccountPagesOptions {
  /** The app's name, shown in the header and the window title. Default "Account". */
  title?: string;
  /** The app's own header links, e.g. `[{ href: "/account/security", label: "Security" }]`. */
  nav?: ReadonlyArray<NavItem>;
  /**
   * The app's own account pages as tabs after "Devices" and "Login history", e.g.
   * `[{ href: "/account/security", label: "Security" }]` (draw such a page with
   * `appPageRenderer`'s `tab` to show the same tabs there).
   */
  tabs?: ReadonlyArray<{ href: string; label: string }>;
  /**
   * The app's sign-in page: signed-out visitors are sent there with `?next=<page path>`. Without
   * it they get a built-in "signed out" page (401), never a redirect to a path the app may lack.
   */
  signInPath?: string;
  /** Credit shown wherever locations appear, e.g. `{ text: "IP Geolocation by DB-IP", href: "https://db-ip.com" }`. */
  locationAttribution?: { text: string; href: string };
  /** IANA time zone for absolute times. Default "UTC". */
  timeZone?: string;
  /** How many entries a history page shows (a sign-in with its story, a folded run). Default 20, at most 100. */
  historyLimit?: number;
  /** An extra same-origin stylesheet (a path such as "/static/account.css") loaded after the built-in one. */
  stylesheetHref?: string;
  /**
   * The path of the app's live stream (`liveEvents(channel)`, e.g. "/api/events"). Pages then
   * leave for `signInPath?ended=<reason>` as soon as their session ends anywhere.
   */
  liveEventsPath?: string;
  /**
   * How the app names the signed-in account (its e-mail address, say), shown in the header as
   * "Signed in as …". Called once per page; may be async.
   */
  accountName?: (userId: string) => string | null | Promise<string | null>;
  /**
   * What signing out other devices asks of the last proof of identity (`RecentAuthOptions`).
   * Default `{}`: the keeper's `reauthWindow`, sliding. `false` turns it off. Signing out this
   * device never asks.
   */
  recentAuth?: RecentAuthOptions | false;
  /**
   * The app's re-authentication page, sent `?next=<devices page>`. Outside the window the pages
   * answer 401 with a link there. Default: `signInPath` (signing in again is a fresh proof).
   */
  reauthPath?: string;
  /**
   * The sign-in guard (`createGuard`): the devices page then lists the user's pending sign-ins
   * (new-device verification) with **Approve** and **This wasn't me**, each asking for a recent
   * proof as `recentAuth` says.
   */
  guard?: SignInApprovals;
  /**
   * The app's change-password page, offered after "This wasn't me". Without it the page only
   * says to change the password.
   */
  changePasswordPath?: string;
}

/** The options after validation. */
export interface ResolvedPageOptions {
  title: string;
  nav: ReadonlyArray<Required<NavItem>>;
  tabs: ReadonlyArray<{ href: string; label: string }>;
  /** Null: show the built-in signed-out page instead of redirecting. */
  signInPath: string | null;
  locationAttribution: { text: string; href: string } | null;
  timeZone: string;
  historyLimit: number;
  stylesheetHref: string | null;
  liveEventsPath: string | null;
  accountName: ((userId: string) => string | null | Promise<string | null>) | null;
  recentAuth: RecentAuthRule | null;
  reauthPath: string | null;
  guard: SignInApprovals | null;
  changePasswordPath: string | null;
}

const KNOWN = new Set([
  "title",
  "nav",
  "tabs",
  "signInPath",
  "recentAuth",
  "reauthPath",
  "locationAttribution",
  "timeZone",
  "historyLimit",
  "stylesheetHref",
  "liveEventsPath",
  "accountName",
  "basePath",
  "guard",
  "changePasswordPath",
]);

/** Validates page options at start-up; a bad value throws a TypeError naming it. */
export function resolvePageOptions(options: AccountPagesOptions): ResolvedPageOptions {
  if (typeof options !== "object" || options === null)
    throw new TypeError("account page options must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not an account page option`);
  }
  const title = requireText("title", options.title ?? "Account");
  const nav = (options.nav ?? []).map((item, i) => {
    if (typeof item !== "object" || item === null)
      throw new TypeError(`options.nav[${i}] must be {href, label}`);
    const method = item.method ?? "get";
    if (method !== "get" && method !== "post")
      throw new TypeError(`options.nav[${i}].method must be "get" or "post"`);
    return {
      href: requireHref(`nav[${i}].href`, item.href),
      label: requireText(`nav[${i}].label`, item.label),
      method,
    };
  });
  const tabs = (options.tabs ?? []).map((item, i) => {
    if (typeof item !== "object" || item === null)
      throw new TypeError(`options.tabs[${i}] must be {href, label}`);
    return {
      href: requireLocalPath(`tabs[${i}].href`, item.href),
      label: requireText(`tabs[${i}].label`, item.label),
    };
  });
  const signInPath =
    options.signInPath === undefined ? null : requireLocalPath("signInPath", options.signInPath);
  const attribution = options.locationAttribution;
  const locationAttribution =
    attribution === undefined
      ? null
      : {
          text: requireText("locationAttribution.text", attribution?.text),
          href: requireHref("locationAttribution.href", attribution?.href),
        };
  const timeZone = options.timeZone ?? "UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new TypeError(`options.timeZone must be an IANA time zone such as "Europe/Berlin"`);
  }
  const historyLimit = options.historyLimit ?? 20;
  if (!Number.isInteger(historyLimit) || historyLimit < 1 || historyLimit > 100) {
    throw new TypeError("options.historyLimit must be an integer from 1 to 100");
  }
  const stylesheetHref =
    options.stylesheetHref === undefined
      ? null
      : requireLocalPath("stylesheetHref", options.stylesheetHref);
  const liveEventsPath =
    options.liveEventsPath === undefined
      ? null
      : requireLocalPath("liveEventsPath", options.liveEventsPath);
  if (options.accountName !== undefined && typeof options.accountName !== "function")
    throw new TypeError("options.accountName must be a function (userId) => name");
  if (options.guard !== undefined && typeof options.guard?.approveSignIn !== "function")
    throw new TypeError("options.guard must be the sign-in guard (createGuard)");
  return {
    guard: options.guard ?? null,
    changePasswordPath:
      options.changePasswordPath === undefined
        ? null
        : requireLocalPath("changePasswordPath", options.changePasswordPath),
    accountName: options.accountName ?? null,
    title,
    nav,
    tabs,
    signInPath,
    locationAttribution,
    timeZone,
    historyLimit,
    stylesheetHref,
    liveEventsPath,
    recentAuth: options.recentAuth === false ? null : recentAuthRule(options.recentAuth ?? {}),
    reauthPath:
      options.reauthPath === undefined
        ? signInPath
        : requireLocalPath("reauthPath", options.reauthPath),
  };
}

/** Validates a mount path such as "/account": starts with "/", no trailing slash, no query. */
export function requireBasePath(name: string, value: unknown): string {
  if (value === "" || value === "/") return "";
  if (typeof value !== "string" || !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(value)) {
    throw new TypeError(`options.${name} must be a path such as "/account" (no trailing slash)`);
  }
  return value;
}

function requireText(name: string, value: unknown): string {
  if (typeof value !== "string" || value.trim().length === 0 || value.length > 200) {
    throw new TypeError(`options.${name} must be a non-empty string of at most 200 characters`);
  }
  return value;
}

function requireLocalPath(name: string, value: unknown): string {
  // "//host" is a link to another site; a backslash is read as a slash by browsers.
  if (
    typeof value !== "string" ||
    !value.startsWith("/") ||
    value.startsWith("//") ||
    /[\\\s]/.test(value) ||
    value.length > 500
  ) {
    throw new TypeError(`options.${name} must be a path on this site such as "/signin"`);
  }
  return value;
}

function requireHref(name: string, value: unknown): string {
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    value.length > 500 ||
    /[\s\\]/.test(value)
  ) {
    throw new TypeError(`options.${name} must be a URL`);
  }
  // Only http(s) and relative links: a javascript: URL in a header link would be script.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    throw new TypeError(`options.${name} must be an http(s) URL or a path (got a ${scheme}: URL)`);
  }
  return value;
}
