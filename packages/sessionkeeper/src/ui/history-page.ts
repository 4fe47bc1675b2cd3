import {
  describeDevice,
  describeDeviceType,
  describeLocation,
  summarizeDevice,
} from "../device-words.js";
import type { HistoryEntry, HistoryFilter } from "../history.js";
import { html, type SafeHtml } from "../html.js";
import type { LoginEvent } from "../types.js";
import { dateFormatter, describeEvent, describeReason, timeAgo } from "./format.js";
import { toneIcon } from "./icons.js";
import { renderAttribution, renderPage, timeElement } from "./layout.js";
import type { ResolvedPageOptions } from "./options.js";

/** What the history page shows: one page of entries, newest first. */
export interface HistoryPageInput {
  entries: readonly HistoryEntry[];
  filter: HistoryFilter;
  /** The cursor of the next (older) page, or null on the last one. */
  nextCursor: string | null;
  /** Whether this is a later page (then a link leads back to the newest). */
  paged: boolean;
  now: number;
  basePath: string;
  /** The requesting session's id, to mark its sign-in "This device". */
  currentSessionId: string | null;
  /** The user's names for their sessions' devices by id ("Work laptop"), for the events they made. */
  deviceNames?: ReadonlyMap<string, string>;
  /** The signed-in account as the app names it, for the header. */
  account?: string | null;
}

const FILTERS: Array<[HistoryFilter, string]> = [
  ["all", "All activity"],
  ["sign_ins", "Sign-ins"],
  ["failures", "Failed attempts"],
  ["security", "Security changes"],
];

/** The login history page: sign-ins with their stories, folded failures, security changes. */
export function renderHistoryPage(options: ResolvedPageOptions, input: HistoryPageInput): string {
  const clock = clockFormatter(options.timeZone);
  const formatDate = dateFormatter(options.timeZone);
  const view = { ...input, formatDate, clock };
  const href = (query: Record<string, string>) => {
    const search = new URLSearchParams(query).toString();
    return `${input.basePath}/history${search ? `?${search}` : ""}`;
  };
  const typeQuery: Record<string, string> = input.filter === "all" ? {} : { type: input.filter };
  const content = html`
<p class="lede">Each sign-in to your account with what happened to it, newest first.</p>
<nav class="filters" aria-label="Show">${FILTERS.map(
    ([filter, label]) =>
      html`<a href="${href(filter === "all" ? {} : { type: filter })}"${filter === input.filter ? html` aria-current="page"` : null}>${label}</a>`,
  )}</nav>
${
  input.entries.length > 0
    ? html`<ol class="cards">${input.entries.map((entry) => renderEntry(entry, view))}</ol>`
    : html`<div class="empty"><strong>${input.paged ? "No older activity" : "No activity yet"}</strong>${
        input.filter === "all"
          ? "Sign-ins and sign-outs will appear here."
          : "Nothing of this kind."
      }</div>`
}
${
  input.nextCursor || input.paged
    ? html`<nav class="pager" aria-label="Pages">${input.paged ? html`<a href="${href(typeQuery)}">Newest activity</a>` : null}${
        input.nextCursor
          ? html`<a rel="next" href="${href({ ...typeQuery, cursor: input.nextCursor })}">Older activity</a>`
          : null
      }</nav>`
    : null
}
${renderAttribution(options)}`;
  return renderPage(options, {
    name: "history",
    live: true,
    account: input.account ?? null,
    heading: "Login history",
    basePath: input.basePath,
    content,
  });
}

type View = HistoryPageInput & {
  formatDate: (at: number) => string;
  clock: (at: number, zone: boolean) => string;
};

function renderEntry(entry: HistoryEntry, view: View): SafeHtml {
  if (entry.kind === "sign_in") return renderSignIn(entry, view);
  if (entry.kind === "failures") return renderFailures(entry.events, view);
  const event = entry.first;
  const { title, tone } = securityWords(event);
  return card(event, entry.kind, tone, title, view, null);
}

/** One sign-in and its story: held, confirmed, renewed, ended — one card, a short timeline. */
function renderSignIn(entry: Extract<HistoryEntry, { kind: "sign_in" }>, view: View): SafeHtml {
  // An approval by the emailed link and the device's activation by it are one step to a reader.
  const byLink = entry.story.some((e) => e.type === "session_activated" && e.reason === "link");
  // An approval from another device is its own step, and the pick-up that follows it is not "by
  // the emailed link" (the waiting browser completes it the same way either way).
  const byDevice = entry.story.some(
    (e) => e.type === "verification_approved" && e.reason === "device",
  );
  const steps = [entry.first, ...entry.story].filter(
    (e) =>
      !(byLink && !byDevice && e.type === "verification_approved") &&
      !(byDevice && e.type === "session_activated"),
  );
  const last = steps[steps.length - 1] as LoginEvent;
  const refused = last.type === "session_locked";
  const current = view.currentSessionId !== null && entry.first.sessionId === view.currentSessionId;
  // The user's own name for the device, where it has one ("Work laptop (Firefox 121 on Windows 10)").
  const name = view.deviceNames?.get(entry.first.sessionId ?? "") ?? null;
  const title = html`Signed in from ${describeDevice({ ...entry.first, name })}${current ? html` <span class="badge">This device</span>` : null}`;
  const timeline = html`<ol class="timeline" aria-label="What happened">${steps.map(
    (step) =>
      html`<li data-event-type="${step.type}">${timeElement(step.createdAt, view.clock(step.createdAt, true), view.formatDate, null, true)} <span>${stepWords(step)}</span></li>`,
  )}</ol>`;
  return card(entry.first, "sign_in", refused ? "warn" : "ok", title, view, timeline, current);
}

/** Consecutive failures from one device and address: "5 failed attempts from Safari on iOS". */
function renderFailures(events: readonly LoginEvent[], view: View): SafeHtml {
  const newest = events[0] as LoginEvent;
  const oldest = events[events.length - 1] as LoginEvent;
  const device = summarizeDevice(newest);
  const n = events.length;
  const what =
    newest.type === "sign_in_blocked"
      ? n === 1
        ? "Blocked sign-in attempt"
        : `${n} blocked sign-in attempts`
      : newest.type === "locked_out"
        ? n === 1
          ? "Sign-in locked after repeated failures"
          : `Sign-in locked ${n} times after repeated failures`
        : n === 1
          ? "Failed sign-in attempt"
          : `${n} failed attempts`;
  const title = html`${what} from ${device}`;
  // "between 23:41 and 23:42"; within one minute, "at 23:41".
  const clock = (at: number, zone: boolean) =>
    timeElement(at, view.clock(at, zone), view.formatDate, null, true);
  const sameMinute =
    Math.floor(oldest.createdAt / 60_000) === Math.floor(newest.createdAt / 60_000);
  const when =
    n === 1
      ? null
      : sameMinute
        ? html`at ${clock(newest.createdAt, true)}`
        : html`between ${clock(oldest.createdAt, false)} and ${clock(newest.createdAt, true)}`;
  const reason = newest.reason ? describeReason(newest.reason) : null;
  const span =
    when || reason
      ? html`<p class="span">${when}${when && reason ? " · " : ""}${reason}</p>`
      : null;
  return card(newest, "failures", "warn", title, view, span, false, n);
}

function card(
  event: LoginEvent,
  kind: HistoryEntry["kind"],
  tone: "ok" | "neutral" | "warn",
  title: SafeHtml | string,
  view: View,
  extra: SafeHtml | null,
  current = false,
  count = 1,
): SafeHtml {
  return html`<li class="card" data-entry="${kind}" data-event-id="${event.id}" data-event-type="${event.type}"${kind === "failures" ? html` data-count="${String(count)}"` : null}${current ? html` data-current` : null}>
<div class="icon ${tone}">${toneIcon(tone)}</div>
<div class="body">
<h2 class="title">${title}</h2>
<p class="meta">${timeElement(event.createdAt, view.formatDate(event.createdAt), view.formatDate)} · ${timeAgo(event.createdAt, view.now)}</p>
${extra}
${event.userAgent !== null || event.ip !== null ? html`<dl class="facts">${renderActor(event, event.type === "session_revoked" || !event.sessionId ? null : (view.deviceNames?.get(event.sessionId) ?? null))}</dl>` : null}
</div>
</li>`;
}

/** A step of a sign-in's story in words. The ending names who ended it where the row knows. */
export function stepWords(event: LoginEvent): string {
  const reason = event.reason;
  switch (event.type) {
    case "sign_in":
      return reason === "pending_verification" ? "Signed in, held until confirmed" : "Signed in";
    case "verification_sent":
      // Why it was held reads on the step before when it was flagged; new device/IP says it here.
      return reason === "reauth"
        ? "Code emailed to confirm it's you"
        : reason === "new_device" || reason === "new_ip"
          ? `Code emailed to confirm the sign-in (${describeReason(reason).toLowerCase()})`
          : "Code emailed to confirm the sign-in";
    case "session_activated":
      if (reason === "code") return "Confirmed with the emailed code";
      if (reason === "link") return "Confirmed by the emailed link";
      if (reason === "approved") return "Approved from another device";
      return "Confirmed";
    case "verification_approved":
      return reason === "device"
        ? "Approved from one of your signed-in devices"
        : "Approved by the emailed link";
    case "reauthenticated":
      return `Confirmed it's you${reason ? ` (${FACTORS[reason] ?? reason})` : ""}`;
    case "session_revoked":
      if (reason === "revoked_by_user")
        // The row carries the request that ended it: the other device.
        return event.browserName || event.osName
          ? `Signed out from ${summarizeDevice(event)}`
          : "Signed out from another device";
      if (reason === "revoked_by_admin") return "Signed out by an administrator";
      if (reason === "password_changed") return "Signed out: the password was changed";
      return `Signed out: ${reason ? describeReason(reason).toLowerCase() : "ended"}`;
    case "session_expired":
      return `Expired${reason ? `: ${describeReason(reason).toLowerCase()}` : ""}`;
    case "session_locked":
      return reason === "not_me"
        ? "Refused: reported as not you"
        : `Refused${reason ? `: ${describeReason(reason).toLowerCase()}` : ""}`;
    default: {
      const title = describeEvent(event.type).title;
      const words = reason ? describeReason(reason) : null;
      return words && words !== title ? `${title} · ${words}` : title;
    }
  }
}

const FACTORS: Record<string, string> = {
  password: "password",
  email_code: "emailed code",
  passkey: "passkey",
};

function securityWords(event: LoginEvent): { title: string; tone: "ok" | "neutral" | "warn" } {
  if (event.type === "session_locked")
    return event.reason === "not_me"
      ? { title: "A sign-in was reported as not you and refused", tone: "warn" }
      : {
          title: `A sign-in was refused: ${describeReason(event.reason ?? "locked_out")}`,
          tone: "warn",
        };
  const { title, tone } = describeEvent(event.type);
  const reason = event.reason ? describeReason(event.reason) : null;
  return { title: reason && reason !== title ? `${title} · ${reason}` : title, tone };
}

/** The request behind an event: device, IP, location (absent for events recorded without one). */
function renderActor(event: LoginEvent, name: string | null = null): SafeHtml {
  const type = describeDeviceType(event.deviceType);
  const hasLocation = event.city !== null || event.region !== null || event.country !== null;
  const location = hasLocation
    ? { city: event.city, region: event.region, country: event.country }
    : null;
  return html`<dt>Device</dt><dd${event.userAgent ? html` title="${event.userAgent}"` : null}>${describeDevice({ ...event, name })}${type ? ` (${type})` : ""}</dd>
${event.ip ? html`<dt>IP address</dt><dd>${event.ip}</dd><dt>Location</dt><dd>${describeLocation(location, event.ip)}</dd>` : null}
${!event.browserName && event.userAgent ? html`<dt>User agent</dt><dd class="ua">${event.userAgent}</dd>` : null}`;
}

/** "23:41" (with the zone when asked: "23:42 UTC"): a clock time the page script localises. */
function clockFormatter(timeZone: string): (at: number, zone: boolean) => string {
  const plain = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const zoned = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  return (at, zone) => (zone ? zoned : plain).format(new Date(at));
}
