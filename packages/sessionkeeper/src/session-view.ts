import type { HistoryEntry } from "./history.js";
import type { LoginEvent, Session, SessionRecord } from "./types.js";

/** The public view of a stored session: never the secret hash. */
export function toSession(
  record: SessionRecord,
  options: { currentId?: string | null; idleTimeout: number },
): Session {
  const idleDeadline = record.lastSeenAt + options.idleTimeout;
  const hasLocation = record.city !== null || record.region !== null || record.country !== null;
  return {
    id: record.id,
    userId: record.userId,
    current: options.currentId != null && record.id === options.currentId,
    status: record.status,
    endReason: record.endReason,
    createdAt: new Date(record.createdAt),
    lastSeenAt: new Date(record.lastSeenAt),
    expiresAt: new Date(Math.min(idleDeadline, record.expiresAt)),
    endedAt: record.endedAt === null ? null : new Date(record.endedAt),
    ip: record.ip,
    lastIp: record.lastIp,
    userAgent: record.userAgent,
    browser: { name: record.browserName, version: record.browserVersion },
    os: { name: record.osName, version: record.osVersion },
    device: { type: record.deviceType, model: record.deviceModel },
    location: hasLocation
      ? { city: record.city, region: record.region, country: record.country }
      : null,
    name: record.name,
    rememberMe: record.rememberMe,
    authenticatedAt: record.authenticatedAt === null ? null : new Date(record.authenticatedAt),
    authFactor: record.authFactor,
    bound: record.deviceKey !== null,
  };
}

/** The JSON shape of a session for APIs (docs/api.md): ISO times, no token, no hash, no user agent string. */
export function sessionToJSON(session: Session) {
  return {
    id: session.id,
    current: session.current,
    status: session.status,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    endedAt: session.endedAt ? session.endedAt.toISOString() : null,
    endReason: session.endReason,
    ip: session.ip,
    lastIp: session.lastIp,
    browser: { ...session.browser },
    os: { ...session.os },
    device: { ...session.device },
    location: session.location ? { ...session.location } : null,
    name: session.name,
    rememberMe: session.rememberMe,
    authenticatedAt: session.authenticatedAt ? session.authenticatedAt.toISOString() : null,
    authFactor: session.authFactor,
    bound: session.bound,
  };
}

export type SessionJSON = ReturnType<typeof sessionToJSON>;

/** The JSON shape of a login event for APIs. */
export function eventToJSON(event: LoginEvent) {
  const hasLocation = event.city !== null || event.region !== null || event.country !== null;
  return {
    id: event.id,
    type: event.type,
    reason: event.reason,
    sessionId: event.sessionId,
    createdAt: new Date(event.createdAt).toISOString(),
    ip: event.ip,
    browser: { name: event.browserName, version: event.browserVersion },
    os: { name: event.osName, version: event.osVersion },
    device: { type: event.deviceType },
    location: hasLocation
      ? { city: event.city, region: event.region, country: event.country }
      : null,
  };
}

export type LoginEventJSON = ReturnType<typeof eventToJSON>;

/**
 * The JSON shape of a history entry: the fields of its key event (the sign-in, the run's newest
 * failure, the change), what kind of entry it is, and what it folds. A sign-in carries its
 * `timeline` (the sign-in and everything after, oldest first); a failure run its `count` and the
 * time of its first and last attempt (the attempts themselves are not repeated).
 */
export function historyEntryToJSON(entry: HistoryEntry) {
  const key = entry.kind === "failures" ? (entry.events[0] as LoginEvent) : entry.first;
  const events = entry.kind === "failures" ? entry.events : null;
  return {
    ...eventToJSON(key),
    kind: entry.kind,
    count: events ? events.length : 1,
    firstAt: new Date(
      events ? (events[events.length - 1] as LoginEvent).createdAt : key.createdAt,
    ).toISOString(),
    lastAt: new Date(
      entry.kind === "sign_in"
        ? (entry.story[entry.story.length - 1] ?? key).createdAt
        : key.createdAt,
    ).toISOString(),
    timeline: entry.kind === "sign_in" ? [entry.first, ...entry.story].map(eventToJSON) : [],
  };
}

export type HistoryEntryJSON = ReturnType<typeof historyEntryToJSON>;
