import { createHash } from "node:crypto";
import { ACCEPT_CH } from "../client-hints.js";
import { constantHtml, html, type SafeHtml } from "../html.js";
import {
  LIVE_SCRIPT,
  LIVE_SCRIPT_HASH,
  LOCAL_TIME_SCRIPT,
  LOCAL_TIME_SCRIPT_HASH,
  PENDING_SCRIPT,
  PENDING_SCRIPT_HASH,
} from "../live/script.js";
import type { ResolvedPageOptions } from "./options.js";
import { PASSKEY_SCRIPT, PASSKEY_SCRIPT_HASH } from "./passkey-script.js";
import { STYLESHEET } from "./styles.js";

const STYLE_HASH = `'sha256-${createHash("sha256").update(STYLESHEET).digest("base64")}'`;
const STYLE_ELEMENT = constantHtml(`<style>${STYLESHEET}</style>`);
const LIVE_ELEMENT = constantHtml(`<script>${LIVE_SCRIPT}</script>`);
const PENDING_ELEMENT = constantHtml(`<script>${PENDING_SCRIPT}</script>`);
const LOCAL_TIME_ELEMENT = constantHtml(`<script>${LOCAL_TIME_SCRIPT}</script>`);
const PASSKEY_ELEMENT = constantHtml(`<script>${PASSKEY_SCRIPT}</script>`);
// A shield as the tab icon, inline (the CSP allows data: images): no request, no 404 in the logs.
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 4 7v8c0 7.5 5.1 13.6 12 15 6.9-1.4 12-7.5 12-15V7z" fill="#2457d6"/><path d="m11 16 4 4 7-8" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
const FAVICON_ELEMENT = constantHtml(
  `<link rel="icon" href="data:image/svg+xml,${encodeURIComponent(FAVICON)}">`,
);

/**
 * The Content-Security-Policy of every page: no script but the hashed live-stream one (when the
 * pages have a stream), styles only from the hashed built-in sheet (and 'self' when the app adds
 * its own), forms post only to this site, no framing.
 */
export function contentSecurityPolicy(
  options: ResolvedPageOptions,
  live = false,
  waiting = false,
  passkeys = false,
): string {
  const styles = options.stylesheetHref ? `'self' ${STYLE_HASH}` : STYLE_HASH;
  // A sign-in waiting for approval: only its own stream script (it has no signed-in page parts).
  if (waiting && options.liveEventsPath)
    return `default-src 'none'; style-src ${styles}; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src ${PENDING_SCRIPT_HASH}; connect-src 'self'`;
  // A signed-in page's scripts: local times always, the live stream when the pages have one; the
  // passkey script (which posts JSON to this site) on pages that offer passkeys.
  const streams = live && options.liveEventsPath !== null && options.liveEventsPath !== undefined;
  const hashes = [
    ...(live ? [LOCAL_TIME_SCRIPT_HASH] : []),
    ...(streams ? [LIVE_SCRIPT_HASH] : []),
    ...(passkeys ? [PASSKEY_SCRIPT_HASH] : []),
  ];
  const script =
    hashes.length === 0
      ? ""
      : `; script-src ${hashes.join(" ")}${streams || passkeys ? "; connect-src 'self'" : ""}`;
  return `default-src 'none'; style-src ${styles}; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'${script}`;
}

/**
 * Headers every page and redirect carries: nothing cached, sniffed, framed or referred, and the
 * client hints asked for. `live`:
 * the page of a signed-in session that runs the live-stream script.
 */
export function pageHeaders(
  options: ResolvedPageOptions,
  live = false,
  waiting = false,
  passkeys = false,
): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": contentSecurityPolicy(options, live, waiting, passkeys),
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    // Asks the browser for the client hints that name a device well ("Windows 11", "Pixel 8").
    // Every page asks, so the sign-in form's POST, which follows a page, carries them; no Vary or
    // Critical-CH: no page differs by them.
    "accept-ch": ACCEPT_CH,
  };
}

/** Which built-in page is showing, for the tabs. */
export type PageName = "sessions" | "history" | null;

/** Wraps page content in the document, header (app title and nav) and the Devices/History tabs. */
export function renderPage(
  options: ResolvedPageOptions,
  page: {
    name: PageName;
    heading: string;
    basePath: string;
    content: SafeHtml;
    /** A signed-in page: local times, and the live stream when the pages have one. */
    live?: boolean;
    /** The signed-in account as the app names it (an address), shown in the header. */
    account?: string | null;
    /**
     * A sign-in waiting for approval (the verify page): with `liveEventsPath`, the page goes on to
     * `continuePath` by itself once it is approved anywhere.
     */
    waiting?: { continuePath: string } | null;
    /** The page has passkey forms: the passkey script runs at its end. */
    passkeys?: boolean;
    /** An app's own account page: show the account tabs, this href marked current. */
    tab?: { basePath: string; current: string } | null;
  },
): string {
  const base = page.tab ? page.tab.basePath : page.basePath;
  const tabs: Array<[string, string]> = [
    ["Devices", `${base}/sessions`],
    ["Login history", `${base}/history`],
    ...options.tabs.map((t): [string, string] => [t.label, t.href]),
  ];
  const current = page.tab
    ? page.tab.current
    : page.name
      ? `${base}/${page.name === "sessions" ? "sessions" : "history"}`
      : null;
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.heading} · ${options.title}</title>
${STYLE_ELEMENT}
${FAVICON_ELEMENT}
${options.stylesheetHref ? html`<link rel="stylesheet" href="${options.stylesheetHref}">` : null}
${
  page.live && options.liveEventsPath
    ? html`<meta name="sessionkeeper-live" content="${options.liveEventsPath}" data-signin="${options.signInPath}">
${LIVE_ELEMENT}`
    : null
}
${
  page.waiting && options.liveEventsPath
    ? html`<meta name="sessionkeeper-pending" content="${options.liveEventsPath}" data-continue="${page.waiting.continuePath}" data-signin="${options.signInPath ?? "/"}">
${PENDING_ELEMENT}`
    : null
}
</head>
<body>
<header class="site"><div class="wrap">
<span class="brand">${options.title}</span>
${page.account ? html`<span class="who">Signed in as <strong>${page.account}</strong></span>` : null}
${options.nav.length > 0 ? html`<nav aria-label="Site">${options.nav.map(renderNavItem)}</nav>` : null}
</div></header>
<main class="wrap">
<h1>${page.heading}</h1>
${
  current !== null
    ? html`<nav class="tabs" aria-label="Account">${tabs.map(
        ([label, href]) =>
          html`<a href="${href}"${href === current ? html` aria-current="page"` : null}>${label}</a>`,
      )}</nav>`
    : null
}
${page.content}
</main>
${page.live ? LOCAL_TIME_ELEMENT : null}
${page.passkeys ? PASSKEY_ELEMENT : null}
</body>
</html>
`;
  return doc.toString();
}

function renderNavItem(item: ResolvedPageOptions["nav"][number]): SafeHtml {
  if (item.method === "post") {
    return html`<form method="post" action="${item.href}"><button type="submit" class="link">${item.label}</button></form>`;
  }
  return html`<a href="${item.href}">${item.label}</a>`;
}

/** The credit line the geolocation data's licence asks for, where locations are shown. */
export function renderAttribution(options: ResolvedPageOptions): SafeHtml | null {
  const credit = options.locationAttribution;
  if (!credit) return null;
  return html`<p class="attribution">Locations are approximate. <a href="${credit.href}" rel="noopener">${credit.text}</a></p>`;
}

/** A <time> with the machine-readable instant and the full date as its tooltip. */
export function timeElement(
  at: number,
  text: string,
  formatDate: (at: number) => string,
  className: string | null = null,
  /** The text is a clock time ("23:41"): the page script shows it in the reader's zone. */
  clock = false,
): SafeHtml {
  const absolute =
    text === formatDate(at) ? html` data-absolute` : clock ? html` data-clock` : null;
  return html`<time datetime="${new Date(at).toISOString()}" title="${formatDate(at)}"${absolute}${className ? html` class="${className}"` : null}>${text}</time>`;
}
