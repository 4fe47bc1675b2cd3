import type { AuthFactor, EndReason, LoginEvent, SessionRecord, SessionStatus } from "./types.js";

/**
 * Who caused a change: the session's own user (from that device, or through an emailed link),
 * another session of the same user, an administrator (the CLI, an admin tool), or the system
 * (timeouts, IP rules, the session cap).
 */
export type Actor =
  | { kind: "user" }
  | { kind: "session"; sessionId: string }
  | { kind: "admin"; name: string | null }
  | { kind: "system" };

/**
 * A session as events carry it: every stored field except the secret hash, the device hash and the
 * app's session data (which is the app's to show, never the history's).
 */
export type SessionSnapshot = Readonly<
  Omit<SessionRecord, "secretHash" | "deviceId" | "data" | "boundCookieHash">
>;

/** What an event knows of the request that caused it (null for the CLI, timers, other instances). */
export type RequestFacts = { ip: string } & Pick<
  LoginEvent,
  | "userAgent"
  | "browserName"
  | "browserVersion"
  | "osName"
  | "osVersion"
  | "deviceType"
  | "country"
  | "region"
  | "city"
> & {
    /** The device's model from client hints. */
    deviceModel?: string | null;
    /** The user's name for the acting session's device, when a session acted ("Work laptop"). */
    name?: string | null;
  };

interface EventBase {
  /** Unique; also the id of the history row. */
  id: string;
  /** Epoch ms. */
  at: number;
  userId: string | null;
  actor: Actor;
  request: RequestFacts | null;
}

/** How a session ended, by the status it took. One ending, one event of this type. */
export type EndEventType = "sign_out" | "session_revoked" | "session_expired" | "session_locked";

/** A change of a session's state: exactly one per transition, with the session as it is after it. */
export type TransitionEvent = EventBase & { session: SessionSnapshot; sessionId: string } & (
    | { type: "sign_in"; reason: "pending_verification" | null }
    | { type: "session_activated"; reason: "code" | "link" | "approved" }
    | { type: "token_rotated"; reason: "privilege_change" | "password_changed" }
    | { type: "reauthenticated"; reason: AuthFactor }
    | { type: EndEventType; reason: EndReason }
  );

/**
 * Something that happened without changing a session's state: refused or failed attempts,
 * mail sent, a password change (whose effects on sessions are transitions of their own).
 */
export type ActivityType =
  | "sign_in_failed"
  | "sign_in_blocked"
  | "locked_out"
  | "verification_sent"
  | "verification_failed"
  | "verification_approved"
  | "alert_sent"
  | "alert_failed"
  | "sign_in_flagged"
  | "password_changed"
  | "device_bound"
  | "device_binding_failed"
  | "device_binding_ended"
  | "passkey_added"
  | "passkey_removed"
  | "ip_allow_added"
  | "ip_allow_removed";

export type ActivityEvent = EventBase & {
  type: ActivityType;
  sessionId: string | null;
  reason: string | null;
};

/** The one stream: every transition and every activity, as it is recorded in the history. */
export type SessionEvent = TransitionEvent | ActivityEvent;

export type SessionEventListener = (event: SessionEvent) => void | Promise<void>;

/** The event type recorded when a session ends with a given status. */
export function endEventType(status: Exclude<SessionStatus, "active" | "pending">): EndEventType {
  switch (status) {
    case "inactive":
      return "sign_out";
    case "revoked":
      return "session_revoked";
    case "expired":
      return "session_expired";
    case "locked_out":
      return "session_locked";
  }
}

/** The snapshot of a record, without the hashes and the app's data. */
export function snapshotOf(record: SessionRecord): SessionSnapshot {
  const {
    secretHash: _secret,
    deviceId: _device,
    data: _data,
    boundCookieHash: _bound,
    ...rest
  } = record;
  return Object.freeze(rest);
}

/** The history row of an event (the login history is the stream, stored). */
export function toHistoryRow(event: SessionEvent): LoginEvent {
  const r = event.request;
  return {
    id: event.id,
    userId: event.userId,
    sessionId: event.sessionId,
    type: event.type,
    reason: event.reason,
    ip: r?.ip ?? null,
    userAgent: r?.userAgent ?? null,
    browserName: r?.browserName ?? null,
    browserVersion: r?.browserVersion ?? null,
    osName: r?.osName ?? null,
    osVersion: r?.osVersion ?? null,
    deviceType: r?.deviceType ?? null,
    country: r?.country ?? null,
    region: r?.region ?? null,
    city: r?.city ?? null,
    createdAt: event.at,
  };
}

/**
 * The listeners of one keeper. A listener's failure (thrown or rejected) never undoes or fails
 * the change it is told about: the change is already stored.
 */
export class EventBus {
  readonly #listeners = new Set<SessionEventListener>();

  subscribe(listener: SessionEventListener): () => void {
    if (typeof listener !== "function") throw new TypeError("subscribe(listener) needs a function");
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(event: SessionEvent): void {
    for (const listener of this.#listeners) {
      try {
        const result = listener(event);
        if (result && typeof result.catch === "function") result.catch(() => {});
      } catch {
        /* ignored by design: see the class comment */
      }
    }
  }
}
