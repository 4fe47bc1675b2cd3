import { isStorageError } from "../errors.js";
import type { MaybePromise } from "../maybe-promise.js";
import type {
  AuthFactor,
  DeviceKeyAlg,
  LoginEvent,
  PasskeyRecord,
  ReauthState,
  SessionRecord,
  SessionStatus,
} from "../types.js";

/** What binding a session to a device key stores (DBSC). */
export interface SessionBinding {
  /** The public JWK as JSON text (no private members). */
  key: string;
  alg: DeviceKeyAlg;
  cookieHash: string;
  cookieExpiresAt: number;
  boundAt: number;
}

/** Where a history page ends: the time and id of its last event (ids break ties in time). */
export interface EventPosition {
  at: number;
  id: string;
}

/** How a session is ended: the status it takes, why, and when. */
export interface EndSessionInput {
  status: Exclude<SessionStatus, "active" | "pending">;
  reason: string;
  endedAt: number;
}

/**
 * Whether a store can be used right now. `reason` is a short machine word, e.g.
 * `"storage_unavailable"` (the store cannot be reached), `"database_file_missing"` or
 * `"database_file_replaced"` (SQLite: the file at the path is gone, or is another file).
 */
export type StoreHealth = { ok: true } | { ok: false; reason: string };

/**
 * The storage contract, named for what sessionkeeper does with sessions. Every method either
 * succeeds or throws a `StorageError`; "not found" is `null`, `false` or `0`, never an exception.
 * Only sessions that are `active` or `pending` are ever ended or touched: ending is idempotent.
 */
export interface SessionStore {
  /** Creates or upgrades the schema. Idempotent; safe when several instances start at once. */
  migrate(): Promise<void>;
  /** Inserts a session and its sign-in event atomically: a crash leaves neither or both. */
  createSession(session: SessionRecord, event: LoginEvent): Promise<void>;
  /**
   * One indexed lookup by primary key. A store that can answer at once (from memory, or a
   * synchronous driver) may return the record itself, and may then throw its `StorageError`
   * synchronously: the per-request path then costs no promise.
   */
  findSession(id: string): MaybePromise<SessionRecord | null>;
  /**
   * Writes last-seen time and IP (and location, when given), only if `lastSeenAt` in the row is still
   * `previousLastSeenAt`: concurrent requests and instances write once. True when a row changed.
   */
  touchSession(
    id: string,
    update: {
      lastSeenAt: number;
      lastIp: string;
      previousLastSeenAt: number;
      location?: { country: string | null; region: string | null; city: string | null };
    },
  ): Promise<boolean>;
  /**
   * Replaces the secret hash (token rotation) and optionally activates a pending session. With
   * `proof`, also records when and how the session was proven, and clears `proof_used_at`. With
   * `event`, inserts that history event in the same transaction, only when the row changed: a
   * crash leaves neither or both.
   */
  rotateSession(
    id: string,
    update: {
      secretHash: string;
      status?: "active";
      expectStatus: "active" | "pending";
      proof?: { at: number; factor: AuthFactor };
      event?: LoginEvent;
    },
  ): Promise<boolean>;
  /**
   * Replaces the app's data of an `active` session (JSON text, or null to clear it); nothing else
   * changes. True when a row changed; false for an unknown, pending or ended session.
   */
  updateSessionData(id: string, update: { data: string | null }): Promise<boolean>;

  /**
   * Sets (or, with null, clears) the user's name for a live session's device. Only when the
   * session is `userId`'s and active or pending; true when a row changed.
   */
  renameSession(id: string, update: { userId: string; name: string | null }): Promise<boolean>;
  /**
   * How many proven sign-ins (sessions with `authenticated_at` set) the user had with one device
   * cookie hash, ended ones included, and when the first began (null when none): "this browser
   * has signed in 4 times since March". One query on the (user_id, device_id) index.
   */
  deviceSignIns(
    userId: string,
    deviceId: string,
  ): Promise<{ count: number; firstAt: number | null }>;

  /**
   * Marks an active session's proof as used by a sensitive action at `at` (a sliding re-auth
   * window runs from there). True when a row changed.
   */
  markProofUsed(id: string, update: { at: number }): Promise<boolean>;
  /**
   * A user's sessions, newest activity first: only active (and pending) ones unless `includeEnded`.
   * With `liveAt`, live ones past their lifetime (`expires_at <= now`) or idle since
   * `last_seen_at <= now - idleTimeout` are left out too, before the limit is applied; with
   * `browserSessionIdleTimeout`, so are sessions without remember-me idle since
   * `now - browserSessionIdleTimeout`.
   */
  listUserSessions(
    userId: string,
    options: {
      includeEnded: boolean;
      limit: number;
      liveAt?: { now: number; idleTimeout: number; browserSessionIdleTimeout?: number };
    },
  ): Promise<SessionRecord[]>;
  /**
   * Ends one live session; with `userId`, only if it belongs to that user. True when it ended now.
   * With `event`, inserts that history event in the same transaction, only when the row changed.
   */
  endSession(
    id: string,
    end: EndSessionInput,
    options?: { userId?: string; event?: LoginEvent },
  ): Promise<boolean>;
  /**
   * Ends a user's live sessions except `exceptId`; returns the ids it ended. With `eventFor`,
   * inserts the event it returns for each session this call ended (given the record as it was
   * before), in the same transaction.
   */
  endUserSessions(
    userId: string,
    end: EndSessionInput,
    options?: { exceptId?: string; eventFor?: (before: SessionRecord) => LoginEvent },
  ): Promise<string[]>;
  /**
   * Binds an active, not yet bound session to a device key (DBSC) and sets its first bound
   * cookie. True when a row changed; false when the session is not active or already bound.
   */
  bindSession(id: string, binding: SessionBinding): Promise<boolean>;
  /**
   * Replaces the bound cookie of an active, bound session (a DBSC refresh). True when a row changed.
   */
  refreshBinding(
    id: string,
    update: { cookieHash: string; cookieExpiresAt: number },
  ): Promise<boolean>;
  /**
   * Clears the bound cookie of a session that has ended (the binding ended with it). True exactly
   * once; false for a live session, an unbound one, or one already cleared.
   */
  endBinding(id: string): Promise<boolean>;
  /**
   * Stores a single-use DBSC challenge (only its hash) for a session. With `keep`, the session's
   * older challenges beyond the newest `keep` are deleted: a session's open challenges stay few
   * however often it asks.
   */
  addDeviceChallenge(challenge: {
    hash: string;
    sessionId: string;
    expiresAt: number;
    keep?: number;
  }): Promise<void>;
  /**
   * Uses up a challenge: true exactly once, for the session it was issued to, before it expires.
   * Atomic across instances (a conditional delete), so a replay loses the race.
   */
  takeDeviceChallenge(hash: string, options: { sessionId: string; now: number }): Promise<boolean>;
  recordEvent(event: LoginEvent): Promise<void>;
  /** A user's events, newest first. */
  listEvents(userId: string, options: { limit: number }): Promise<LoginEvent[]>;
  /**
   * One page of a user's history, newest first by (createdAt, id): only events strictly older
   * than `before` (a keyset position, so a page never repeats or skips a row when events are added),
   * only the given `types` (null: all), at most `limit`. One indexed range query.
   */
  listEventsPage(
    userId: string,
    options: { before: EventPosition | null; types: readonly string[] | null; limit: number },
  ): Promise<LoginEvent[]>;
  /** Every event of the user's given sessions (at most 100 ids, 2000 rows), newest first: sign-ins' stories. */
  listSessionEvents(userId: string, sessionIds: readonly string[]): Promise<LoginEvent[]>;
  /**
   * Deletes sessions ended before `endedBefore`, dead ones past `expiredBefore`, and old events;
   * re-authentication states past `expiredBefore` go too (they are not counted).
   */
  prune(options: {
    endedBefore: number;
    expiredBefore: number;
    idleBefore: number;
    eventsBefore: number;
    /** DBSC challenges and re-authentication states that expired before this are deleted too. */
    challengesBefore?: number;
  }): Promise<{ sessions: number; events: number }>;
  close(): Promise<void>;

  /** Stores a new passkey. A credential id already registered (to anyone) throws a StorageError. */
  addPasskey(passkey: PasskeyRecord): Promise<void>;
  /** A user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyRecord[]>;
  /** One passkey by credential id (whoever owns it), or null. */
  findPasskey(id: string): Promise<PasskeyRecord | null>;
  /** Renames a passkey of `userId`. True when it changed. */
  renamePasskey(id: string, update: { userId: string; name: string }): Promise<boolean>;
  /** Deletes a passkey of `userId`. True when it was there. */
  removePasskey(id: string, match: { userId: string }): Promise<boolean>;
  /** After a verified use: the authenticator's new counter and when. True when it changed. */
  recordPasskeyUse(id: string, update: { counter: number; usedAt: number }): Promise<boolean>;

  /**
   * Stores a re-authentication state. Any older unspent state of the same session and kind is
   * spent first: only the newest challenge (or kept post) of a session can be used.
   */
  saveReauthState(state: ReauthState): Promise<void>;
  /** The session's unspent, unexpired state of `kind` (newest first; at most a few), or []. */
  findReauthStates(
    sessionId: string,
    kind: ReauthState["kind"],
    now: number,
  ): Promise<ReauthState[]>;
  /** Spends a state once: true only for the one call that did it, and only before it expires. */
  spendReauthState(id: string, now: number): Promise<boolean>;
}

/**
 * Part of the storage contract that a store of your own may leave out (it is kept apart from
 * {@link SessionStore} so that code listing the contract's methods is unchanged); every store
 * sessionkeeper makes has it. Without it, {@link storeHealth} looks a session up instead.
 */
export interface StoreHealthCheck {
  /**
   * Whether the store is usable now, for a health probe: one trivial query, plus whatever the
   * backend can check (SQLite: that the file at its path is still the one it opened). May reject
   * with a `StorageError`.
   */
  checkHealth(): Promise<StoreHealth>;
}

/** An id no session has (ids are base64url): the lookup a store without `checkHealth` is probed with. */
const PROBE_ID = "health-probe.";

/**
 * A store's health: its own `checkHealth()`, or (without one) a lookup that must answer. A
 * `StorageError`, thrown or rejected, is `{ ok: false, reason: "storage_unavailable" }`.
 */
export async function storeHealth(
  store: SessionStore & Partial<StoreHealthCheck>,
): Promise<StoreHealth> {
  try {
    if (typeof store.checkHealth === "function") return await store.checkHealth();
    await store.findSession(PROBE_ID);
    return { ok: true };
  } catch (error) {
    if (isStorageError(error)) return { ok: false, reason: "storage_unavailable" };
    throw error;
  }
}
