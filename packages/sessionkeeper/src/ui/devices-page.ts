import { describeDevice, describeDeviceType, describeLocation } from "../device-words.js";
import { html, type SafeHtml } from "../html.js";
import type { Session } from "../types.js";
import { dateFormatter, describeLastActive } from "./format.js";
import { deviceIcon } from "./icons.js";
import { renderAttribution, renderPage, timeElement } from "./layout.js";
import type { ResolvedPageOptions } from "./options.js";

/** What the devices page shows: the user's active sessions (current first) and an optional notice. */
export interface DevicesPageInput {
  sessions: readonly Session[];
  now: number;
  /** The keeper's touch interval: last-seen times are only this precise. */
  touchInterval: number;
  basePath: string;
  /** A confirmation such as "Signed out Firefox on Windows." */
  notice: string | null;
}

/** The devices page: one card per active session, "Sign out" on every other one. Escaped throughout. */
export function renderDevicesPage(options: ResolvedPageOptions, input: DevicesPageInput): string {
  const formatDate = dateFormatter(options.timeZone);
  const current = input.sessions.filter((s) => s.current);
  const others = input.sessions.filter((s) => !s.current);
  const card = (session: Session) => renderSessionCard(session, input, formatDate);
  const content = html`
<p class="lede">These devices are signed in to your account. If you don't recognise one, sign it out and change your password.</p>
${input.notice ? html`<div class="notice" role="status"><p>${input.notice}</p></div>` : null}
${
  current.length > 0
    ? html`<section aria-labelledby="sk-current"><h2 id="sk-current">Current session</h2><ul class="cards">${current.map(card)}</ul></section>`
    : null
}
<section aria-labelledby="sk-others">
<div class="section-head"><h2 id="sk-others">Other sessions${others.length > 0 ? ` (${others.length})` : ""}</h2>
${
  others.length > 0
    ? html`<form method="post" action="${input.basePath}/sessions/revoke-others"><button type="submit" class="danger">Sign out of all other sessions</button></form>`
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
    heading: "Your devices",
    basePath: input.basePath,
    content,
  });
}

function renderSessionCard(
  session: Session,
  input: DevicesPageInput,
  formatDate: (at: number) => string,
): SafeHtml {
  const parts = {
    browserName: session.browser.name,
    browserVersion: session.browser.version,
    osName: session.os.name,
    osVersion: session.os.version,
  };
  const device = describeDevice(parts);
  const type = describeDeviceType(session.device.type);
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
<dl class="facts">
<dt>Location</dt><dd>${describeLocation(session.location, session.lastIp)}</dd>
<dt>IP address</dt><dd>${session.lastIp}${session.ip !== session.lastIp ? ` (signed in from ${session.ip})` : ""}</dd>
<dt>Signed in</dt><dd>${timeElement(created, formatDate(created), formatDate)}</dd>
<dt>Last active</dt><dd>${timeElement(seen, lastActive, formatDate, lastActive === "Active now" ? "active-now" : null)}</dd>
${session.rememberMe ? null : html`<dt>Signed in for</dt><dd data-remember-me="false">Until the browser closes</dd>`}
${session.browser.name ? null : html`<dt>User agent</dt><dd class="ua">${session.userAgent || "(none)"}</dd>`}
</dl>
</div>
${
  session.current
    ? null
    : html`<form method="post" action="${input.basePath}/sessions/${session.id}/revoke"><button type="submit">Sign out<span class="visually-hidden"> ${device}, ${session.lastIp}</span></button></form>`
}
</li>`;
}
