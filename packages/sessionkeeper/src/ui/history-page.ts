import { describeDevice, describeDeviceType, describeLocation } from "../device-words.js";
import { html, type SafeHtml } from "../html.js";
import type { LoginEvent } from "../types.js";
import { dateFormatter, describeEvent, describeReason, timeAgo } from "./format.js";
import { toneIcon } from "./icons.js";
import { renderAttribution, renderPage, timeElement } from "./layout.js";
import type { ResolvedPageOptions } from "./options.js";

/** What the history page shows: the user's events, newest first. */
export interface HistoryPageInput {
  events: readonly LoginEvent[];
  now: number;
  basePath: string;
  /** The requesting session's id, to mark its events "This device". */
  currentSessionId: string | null;
  /** Device descriptions of the user's sessions by id, to name the session a revocation ended. */
  sessionNames: ReadonlyMap<string, string>;
  /** The user's names for their sessions' devices by id ("Work laptop"), for the events they made. */
  deviceNames?: ReadonlyMap<string, string>;
  /** The signed-in account as the app names it, for the header. */
  account?: string | null;
}

/** The login history page: sign-ins, sign-outs, revocations, failures, with reasons in words. */
export function renderHistoryPage(options: ResolvedPageOptions, input: HistoryPageInput): string {
  const formatDate = dateFormatter(options.timeZone);
  const content = html`
<p class="lede">Recent sign-ins and other activity on your account, newest first.</p>
${
  input.events.length > 0
    ? html`<ol class="cards">${input.events.map((event) => renderEvent(event, input, formatDate))}</ol>`
    : html`<div class="empty"><strong>No activity yet</strong>Sign-ins and sign-outs will appear here.</div>`
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

function renderEvent(
  event: LoginEvent,
  input: HistoryPageInput,
  formatDate: (at: number) => string,
): SafeHtml {
  const { title, tone } = describeEvent(event.type);
  const reason = event.reason ? describeReason(event.reason) : null;
  const current = input.currentSessionId !== null && event.sessionId === input.currentSessionId;
  // A revocation is recorded with the device that did it, which is not the session it ended.
  const ended =
    event.type === "session_revoked" && event.sessionId
      ? input.sessionNames.get(event.sessionId)
      : undefined;
  const actorLabel = event.type === "session_revoked" ? "Ended from" : "Device";
  return html`<li class="card" data-event-id="${event.id}" data-event-type="${event.type}">
<div class="icon ${tone}">${toneIcon(tone)}</div>
<div class="body">
<h2 class="title">${title}${reason && reason !== title ? html`<span class="reason"> · ${reason}</span>` : null}${
    current ? html` <span class="badge">This device</span>` : null
  }</h2>
<p class="meta">${timeElement(event.createdAt, formatDate(event.createdAt), formatDate)} · ${timeAgo(event.createdAt, input.now)}</p>
<dl class="facts">
${ended ? html`<dt>Session</dt><dd>${ended}</dd>` : null}
${event.userAgent !== null || event.ip !== null ? renderActor(event, actorLabel, event.type === "session_revoked" || !event.sessionId ? null : (input.deviceNames?.get(event.sessionId) ?? null)) : null}
</dl>
</div>
</li>`;
}

/** The request behind an event: device, IP, location (absent for events the app recorded without one). */
function renderActor(event: LoginEvent, label: string, name: string | null): SafeHtml {
  const type = describeDeviceType(event.deviceType);
  const hasLocation = event.city !== null || event.region !== null || event.country !== null;
  const location = hasLocation
    ? { city: event.city, region: event.region, country: event.country }
    : null;
  return html`<dt>${label}</dt><dd${event.userAgent ? html` title="${event.userAgent}"` : null}>${describeDevice({ ...event, name })}${type ? ` (${type})` : ""}</dd>
${event.ip ? html`<dt>IP address</dt><dd>${event.ip}</dd><dt>Location</dt><dd>${describeLocation(location, event.ip)}</dd>` : null}
${!event.browserName && event.userAgent ? html`<dt>User agent</dt><dd class="ua">${event.userAgent}</dd>` : null}`;
}
