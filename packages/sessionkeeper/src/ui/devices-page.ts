import {
  describeDevice,
  describeDeviceType,
  describeLocation,
  sessionDeviceParts,
} from "../device-words.js";
import { html, type SafeHtml } from "../html.js";
import type { Session } from "../types.js";
import { dateFormatter, describeLastActive } from "./format.js";
import { deviceIcon } from "./icons.js";
import { renderAttribution, renderPage, timeElement } from "./layout.js";
import type { ResolvedPageOptions } from "./options.js";

/** What the devices page shows: the user's active sessions (current first) and an optional notice. */
export interface DevicesPageInput {
  sessions: readonly Session[];
  /** Sign-ins waiting for new-device verification, answerable from here (with the guard). */
  pending?: readonly Session[];
  now: number;
  /** The keeper's touch interval: last-seen times are only this precise. */
  touchInterval: number;
  basePath: string;
  /** A confirmation such as "Signed out Firefox on Windows." */
  notice: string | SafeHtml | null;
  /** The signed-in account as the app names it, for the header. */
  account?: string | null;
  /** How often the current browser has signed in, and since when ("4 times since March 2026"). */
  deviceSignIns?: { count: number; since: Date } | null;
}

/** The devices page: one card per active session, "Sign out" on every other one. Escaped throughout. */
export function renderDevicesPage(options: ResolvedPageOptions, input: DevicesPageInput): string {
  const formatDate = dateFormatter(options.timeZone);
  const current = input.sessions.filter((s) => s.current);
  const others = input.sessions.filter((s) => !s.current);
  const card = (session: Session) =>
    renderSessionCard(session, input, formatDate, options.timeZone);
  const content = html`
<p class="lede">These devices are signed in to your account. If you don't recognise one, sign it out and change your password.</p>
${input.notice ? html`<div class="notice" role="status"><p>${input.notice}</p></div>` : null}
${renderPending(input.pending ?? [], input.basePath, formatDate)}
${
  current.length > 0
    ? html`<section aria-labelledby="sk-current"><h2 id="sk-current">Current session</h2><ul class="cards">${current.map(card)}</ul></section>`
    : null
}
<section aria-labelledby="sk-others">
<div class="section-head"><h2 id="sk-others">Other sessions${others.length > 0 ? ` (${others.length})` : ""}</h2>
${
  others.length > 0
    ? // A GET: it opens a page that asks first; only that page's button ends anything.
      // With JavaScript the same question is a dialog on this page (the page script opens it).
      html`<form method="get" action="${input.basePath}/sessions/revoke-others" data-sk-confirm="sk-confirm-others"><button type="submit" class="danger">Sign out of all other sessions</button></form>${confirmDialog(others.length, input.basePath)}`
    : null
}
</div>
${
  others.length > 0
    ? html`<ul class="cards">${others.map(card)}</ul>`
    : html`<div class="empty"><strong>No other sessions</strong>You're not signed in on any other device.</div>`
}
</section>
${renderAttribution(options)}`;
  return renderPage(options, {
    name: "sessions",
    live: true,
    account: input.account ?? null,
    heading: "Your devices",
    basePath: input.basePath,
    content,
  });
}

function renderSessionCard(
  session: Session,
  input: DevicesPageInput,
  formatDate: (at: number) => string,
  timeZone: string,
): SafeHtml {
  const device = describeDevice(sessionDeviceParts(session));
  const type = describeDeviceType(session.device.type);
  const signIns = session.current ? input.deviceSignIns : null;
  const created = session.createdAt.getTime();
  const seen = session.lastSeenAt.getTime();
  // The requesting device is in use right now, whatever its last written last-seen time.
  const lastActive = session.current
    ? "Active now"
    : describeLastActive(seen, input.now, input.touchInterval);
  return html`<li class="card" data-session-id="${session.id}"${session.current ? html` data-current` : null}>
<div class="icon">${deviceIcon(session.device.type)}</div>
<div class="body">
<h3 class="title" title="${session.userAgent}">${device}${session.current ? html` <span class="badge">This device</span>` : null}</h3>
${type ? html`<p class="meta">${type}</p>` : null}
${signIns && signIns.count > 1 ? html`<p class="meta" data-device-sign-ins="${signIns.count}">This browser has signed in ${signIns.count} times since ${monthOf(signIns.since.getTime(), timeZone)}.</p>` : null}
<dl class="facts">
<dt>Location</dt><dd>${describeLocation(session.location, session.lastIp)}</dd>
<dt>IP address</dt><dd>${session.lastIp}${session.ip !== session.lastIp ? ` (signed in from ${session.ip})` : ""}</dd>
<dt>Signed in</dt><dd>${timeElement(created, formatDate(created), formatDate)}</dd>
<dt>Last active</dt><dd>${timeElement(seen, lastActive, formatDate, lastActive === "Active now" ? "active-now" : null)}</dd>
${session.rememberMe ? null : html`<dt>Signed in for</dt><dd data-remember-me="false">Until the browser closes</dd>`}
${session.bound ? html`<dt>Protection</dt><dd data-bound>Protected by this device's security chip</dd>` : null}
${session.browser.name ? null : html`<dt>User agent</dt><dd class="ua">${session.userAgent || "(none)"}</dd>`}
</dl>
${renameForm(session, device, input.basePath)}
</div>
${
  session.current
    ? null
    : html`<form method="post" action="${input.basePath}/sessions/${session.id}/revoke"><button type="submit">Sign out<span class="visually-hidden"> ${device}, ${session.lastIp}</span></button></form>`
}
</li>`;
}

/**
 * Sign-ins held for new-device verification: each marked as waiting, with its device, IP, place
 * and time, and a form each for Approve and "This wasn't me" (POST; the origin check applies).
 */
function renderPending(
  pending: readonly Session[],
  basePath: string,
  formatDate: (at: number) => string,
): SafeHtml | null {
  if (pending.length === 0) return null;
  const card = (s: Session) => {
    const device = describeDevice({
      browserName: s.browser.name,
      browserVersion: s.browser.version,
      osName: s.os.name,
      osVersion: s.os.version,
    });
    const type = describeDeviceType(s.device.type);
    const at = s.createdAt.getTime();
    const label = html`<span class="visually-hidden"> ${device}, ${s.ip}</span>`;
    return html`<li class="card waiting" data-session-id="${s.id}" data-pending>
<div class="icon warn">${deviceIcon(s.device.type)}</div>
<div class="body">
<h3 class="title" title="${s.userAgent}">${device} <span class="badge wait">Waiting for approval</span></h3>
${type ? html`<p class="meta">${type}</p>` : null}
<dl class="facts">
<dt>Location</dt><dd>${describeLocation(s.location, s.ip)}</dd>
<dt>IP address</dt><dd>${s.ip}</dd>
<dt>Tried to sign in</dt><dd>${timeElement(at, formatDate(at), formatDate)}</dd>
</dl>
<div class="answers">
<form method="post" action="${basePath}/sessions/${s.id}/approve"><button type="submit" class="primary">Approve${label}</button></form>
<form method="post" action="${basePath}/sessions/${s.id}/deny"><button type="submit" class="danger">This wasn't me${label}</button></form>
</div>
</div>
</li>`;
  };
  return html`<section aria-labelledby="sk-pending"><h2 id="sk-pending">Waiting for your approval</h2>
<p class="hint">Someone signed in with your password on a device or network new to your account. Approve it only if it was you.</p>
<ul class="cards">${pending.map(card)}</ul></section>`;
}

/** "Rename" opens (without script: a details element) a form that posts the new name. */
function renameForm(session: Session, device: string, basePath: string): SafeHtml {
  const field = `sk-name-${session.id}`;
  return html`<details class="rename"><summary>Rename<span class="visually-hidden"> ${device}</span></summary>
<form method="post" action="${basePath}/sessions/${session.id}/rename">
<label for="${field}">Device name</label>
<div class="row"><input id="${field}" name="name" maxlength="64" autocomplete="off" value="${session.name ?? ""}" placeholder="e.g. Work laptop"><button type="submit">Save</button></div>
<p class="hint">Shown on your devices, in your history and in mail. Leave it empty to use the browser's name.</p>
</form></details>`;
}

/** "March 2026": the month a time falls in, in the pages' time zone. */
function monthOf(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone, month: "long", year: "numeric" }).format(at);
}

/** Asks before signing out every other session, naming each device as its card does. */
export function renderConfirmRevokeOthers(
  options: ResolvedPageOptions,
  input: {
    others: readonly Session[];
    now: number;
    touchInterval: number;
    basePath: string;
    account?: string | null;
  },
): string {
  const formatDate = dateFormatter(options.timeZone);
  const count = input.others.length;
  const content = html`
<p class="lede">${count === 1 ? "This device" : `These ${count} devices`} will be signed out. Anyone using ${count === 1 ? "it" : "them"} will have to sign in again.</p>
<ul class="cards">${input.others.map((s) => {
    const seen = s.lastSeenAt.getTime();
    const lastActive = describeLastActive(seen, input.now, input.touchInterval);
    return html`<li class="card" data-session-id="${s.id}"><div class="icon">${deviceIcon(s.device.type)}</div><div class="body">
<h3 class="title">${describeDevice(sessionDeviceParts(s))}</h3>
<dl class="facts"><dt>Location</dt><dd>${describeLocation(s.location, s.lastIp)}</dd>
<dt>Last active</dt><dd>${timeElement(seen, lastActive, formatDate)}</dd></dl></div></li>`;
  })}</ul>
<div class="section-head">
<form method="post" action="${input.basePath}/sessions/revoke-others"><button type="submit" class="danger">Sign out of ${count === 1 ? "1 other session" : `${count} other sessions`}</button></form>
<a href="${input.basePath}/sessions">Cancel</a>
</div>`;
  return renderPage(options, {
    name: null,
    heading: "Sign out of all other sessions?",
    basePath: input.basePath,
    content,
    live: true,
    account: input.account ?? null,
  });
}

/**
 * "Sign out of all other sessions?" as a modal dialog: hidden until the page script opens it
 * (a closed `<dialog>` is not shown), so without JavaScript the confirmation page asks instead.
 */
function confirmDialog(count: number, basePath: string): SafeHtml {
  const what = count === 1 ? "1 other session" : `${count} other sessions`;
  return html`<dialog id="sk-confirm-others" class="confirm" aria-labelledby="sk-confirm-others-title">
<h2 id="sk-confirm-others-title">Sign out of ${what}?</h2>
<p>Each of those devices will have to sign in again. This cannot be undone.</p>
<div class="answers">
<form method="post" action="${basePath}/sessions/revoke-others"><button type="submit" class="danger">Sign out of ${what}</button></form>
<form method="dialog"><button type="submit" autofocus>Cancel</button></form>
</div>
</dialog>`;
}
