import { createHash, randomBytes } from "node:crypto";
import { cacheClock } from "./cache/local-cache.js";
import { readSingleCookie, serializeCookie } from "./cookies.js";
import { isPromise, type MaybePromise } from "./maybe-promise.js";
import { type ResolvedOptions, resolveOptions, type SessionKeeperOptions } from "./options.js";
import { toSession } from "./session-view.js";
import type { EndSessionInput } from "./storage/contract.js";
import {
  formatToken,
  generateToken,
  hashSecret,
  parseToken,
  randomId,
  type SessionToken,
  verifySecret,
} from "./token.js";
import type { Location, LoginEvent, RequestInfo, Session, SessionRecord } from "./types.js";
import { type DeviceInfo, parseUserAgent } from "./user-agent.js";

/** What sign-in and token rotation hand back: the session, and the cookies to send with the response. */
export interface CookieResult {
  session: Session;
  setCookies: string[];
}

/** The result of validating a request: the live session record, or null for "no session". */
export interface Validated {
  record: SessionRecord;
  session: Session;
}

/**
 * A check every live session must pass on each request (e.g. IP deny rules). A returned reason
 * ends the session as `revoked` with that reason; null lets it through.
 */
export type SessionGate = (
  record: SessionRecord,
  info: RequestInfo,
) => string | null | Promise<string | null>;

const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const LIST_LIMIT = 200;

/**
 * The session engine. Frameworks reach it through adapters (`sessionkeeper/express`,
 * `sessionkeeper/web`); it speaks only strings and plain objects.
 * @example
 * const keeper = createSessionKeeper({ storage: sqliteStorage(new Database("data/app.db")) });
 * await keeper.migrate();
 */
export function createSessionKeeper(options: SessionKeeperOptions): SessionKeeper {
  return new SessionKeeper(resolveOptions(options));
}

export class SessionKeeper {
  // Sessions whose last-seen write is in flight: concurrent requests on this instance skip it.
  readonly #touching = new Set<string>();
  readonly #gates: SessionGate[] = [];

  constructor(readonly options: ResolvedOptions) {}

  get storage() {
    return this.options.storage;
  }

  /** Adds a {@link SessionGate}: from now on every validated session must pass it. */
  addSessionGate(gate: SessionGate): void {
    if (typeof gate !== "function") throw new TypeError("addSessionGate(gate) needs a function");
    this.#gates.push(gate);
  }

  /** Creates or upgrades the storage schema. */
  migrate(): Promise<void> {
    return this.options.storage.migrate();
  }

  /** Closes the cache and the storage. */
  async close(): Promise<void> {
    await this.options.cache?.close();
    await this.options.storage.close();
  }

  /** The session cookie's name for a request: `__Host-` prefixed over HTTPS, so no subdomain can set it. */
  cookieName(secure: boolean): string {
    return secure ? `__Host-${this.options.cookieName}` : this.options.cookieName;
  }

  deviceCookieName(secure: boolean): string {
    return secure ? `__Host-${this.options.deviceCookieName}` : this.options.deviceCookieName;
  }

  isSecure(requestIsHttps: boolean): boolean {
    return this.options.secure === "auto" ? requestIsHttps : this.options.secure;
  }

  /** True when a path is excluded from session handling: no lookup, no touch, no cookie. */
  isExcluded(path: string): boolean {
    for (const rule of this.options.excludePaths) {
      if (typeof rule === "string") {
        if (path === rule || path.startsWith(rule.endsWith("/") ? rule : `${rule}/`)) return true;
      } else if (rule.test(path)) return true;
    }
    return false;
  }

  /** True when the request carries a session cookie at all (a lookup would be needed). */
  hasSessionCookie(info: RequestInfo): boolean {
    return (
      readSingleCookie(info.cookieHeader, this.cookieName(this.isSecure(info.secure))) !== null
    );
  }

  /**
   * Validates the session cookie of a request. Returns the active session, or null for anything
   * else (absent, malformed, unknown, tampered, ended, expired). Only a storage failure throws.
   */
  async authenticate(info: RequestInfo): Promise<Validated | null> {
    const found = await this.validateNow(info);
    return found && found.record.status === "active" ? found : null;
  }

  /** Like {@link authenticate} but for a `pending` session awaiting new-device verification. */
  async authenticatePending(info: RequestInfo): Promise<Validated | null> {
    const found = await this.validateNow(info);
    return found && found.record.status === "pending" ? found : null;
  }

  async validate(info: RequestInfo): Promise<Validated | null> {
    return this.validateNow(info);
  }

  /**
   * {@link validate} without a promise when every step can answer at once: cookie, a cache or store
   * that answers from memory (or synchronous SQLite), the hash compare. Adapters use it so that the
   * common request costs no microtask turn; anything that must wait (a network read, ending an
   * expired session, a gate, the last-seen write) continues as a promise. Only storage failures
   * throw, synchronously or as a rejection.
   */
  validateNow(info: RequestInfo): MaybePromise<Validated | null> {
    const raw = readSingleCookie(info.cookieHeader, this.cookieName(this.isSecure(info.secure)));
    const token = parseToken(raw);
    if (!token) return null;
    const cache = this.options.cache;
    if (!cache) {
      // Without an engine cache (SQLite keeps its own in the store) no read time is needed.
      const found = this.options.storage.findSession(token.id);
      return isPromise(found)
        ? found.then((record) => this.#accept(token.secret, record, info, 0))
        : this.#accept(token.secret, found, info, 0);
    }
    // Taken before any read: the cache refuses what was read before a revocation reached it.
    const readStartedAt = cacheClock();
    const cached = cache.get(token.id);
    return isPromise(cached)
      ? cached.then((record) => this.#fromCache(token, record, info, readStartedAt))
      : this.#fromCache(token, cached, info, readStartedAt);
  }

  #fromCache(
    token: SessionToken,
    cached: SessionRecord | null,
    info: RequestInfo,
    readStartedAt: number,
  ): MaybePromise<Validated | null> {
    // A cached copy can lag a touch made by another instance: never end a session as idle on its word.
    if (cached && this.options.now() < cached.lastSeenAt + this.options.idleTimeout)
      return this.#accept(token.secret, cached, info, readStartedAt);
    const found = this.options.storage.findSession(token.id);
    const store = (record: SessionRecord | null): MaybePromise<Validated | null> => {
      if (record && (record.status === "active" || record.status === "pending")) {
        const stored = this.options.cache?.set(record, readStartedAt);
        if (isPromise(stored))
          return stored.then(() => this.#accept(token.secret, record, info, readStartedAt));
      }
      return this.#accept(token.secret, record, info, readStartedAt);
    };
    return isPromise(found) ? found.then(store) : store(found);
  }

  /** Checks a looked-up record against the presented secret, its status and its timeouts. */
  #accept(
    secret: string,
    record: SessionRecord | null,
    info: RequestInfo,
    readStartedAt: number,
  ): MaybePromise<Validated | null> {
    // Constant-time comparison of hashes; an unknown id and a wrong secret look the same to the caller.
    if (!record || !verifySecret(secret, record.secretHash)) return null;
    if (record.status !== "active" && record.status !== "pending") return null;
    const now = this.options.now();
    const timedOut =
      now >= record.expiresAt
        ? "absolute_timeout"
        : now >= record.lastSeenAt + this.options.idleTimeout
          ? "idle_timeout"
          : null;
    if (timedOut) {
      return this.#end(
        record,
        { status: "expired", reason: timedOut, endedAt: now },
        "session_expired",
        info,
      ).then(() => null);
    }
    if (this.#gates.length > 0) return this.#gateThenTouch(record, info, now, readStartedAt);
    if (this.#touchDue(record, now)) return this.#touchThenAccept(record, info, now, readStartedAt);
    return new ValidatedSession(record, this.options.idleTimeout);
  }

  async #gateThenTouch(
    record: SessionRecord,
    info: RequestInfo,
    now: number,
    readStartedAt: number,
  ): Promise<Validated | null> {
    for (const gate of this.#gates) {
      const reason = await gate(record, info);
      if (reason !== null) {
        await this.#end(
          record,
          { status: "revoked", reason, endedAt: now },
          "session_revoked",
          info,
        );
        return null;
      }
    }
    if (this.#touchDue(record, now)) return this.#touchThenAccept(record, info, now, readStartedAt);
    return new ValidatedSession(record, this.options.idleTimeout);
  }

  #touchDue(record: SessionRecord, now: number): boolean {
    return now - record.lastSeenAt >= this.options.touchInterval && !this.#touching.has(record.id);
  }

  async #touchThenAccept(
    record: SessionRecord,
    info: RequestInfo,
    now: number,
    readStartedAt: number,
  ): Promise<Validated> {
    const touched = await this.#touch(record, info.ip, now, readStartedAt);
    return new ValidatedSession(touched, this.options.idleTimeout);
  }

  async #touch(
    record: SessionRecord,
    ip: string,
    now: number,
    readStartedAt: number,
  ): Promise<SessionRecord> {
    this.#touching.add(record.id);
    try {
      // Geolocate only when the IP changed: at most once per touch interval, never per request.
      const location = ip !== record.lastIp ? await this.#locate(ip) : undefined;
      const touched = await this.options.storage.touchSession(record.id, {
        lastSeenAt: now,
        lastIp: ip,
        previousLastSeenAt: record.lastSeenAt,
        // Only the three place columns: a provider's extra fields (coordinates) are not session columns.
        ...(location !== undefined ? { location: nullLocation(location) } : {}),
      });
      const next: SessionRecord = {
        ...record,
        lastSeenAt: now,
        lastIp: ip,
        ...(location !== undefined ? nullLocation(location) : {}),
      };
      // Another request or instance already wrote it: fine, the row is fresh; refresh our cache from it.
      if (touched) await this.options.cache?.set(next, readStartedAt);
      return next;
    } finally {
      this.#touching.delete(record.id);
    }
  }

  async #locate(ip: string): Promise<Location | null> {
    return this.options.geo ? await this.options.geo.lookup(ip) : null;
  }

  /**
   * Signs a user in: always a new session (new id and secret), never a value the request presented.
   * Records a `sign_in` event in the same transaction. With `status: "pending"` the session can do
   * nothing until verified.
   */
  async signIn(
    userId: string,
    info: RequestInfo,
    options: { status?: "active" | "pending" } = {},
  ): Promise<CookieResult & { record: SessionRecord; deviceKnown: boolean }> {
    if (typeof userId !== "string" || userId.length === 0 || userId.length > 255) {
      throw new TypeError("userId must be a non-empty string of at most 255 characters");
    }
    const now = this.options.now();
    const secure = this.isSecure(info.secure);
    const device = parseUserAgent(info.userAgent, this.options.userAgentMaxLength);
    const location = await this.#locate(info.ip);
    const token = generateToken();
    const presentedDevice = readSingleCookie(info.cookieHeader, this.deviceCookieName(secure));
    const hasDevice = presentedDevice !== null && DEVICE_ID_PATTERN.test(presentedDevice);
    const deviceSecret = hasDevice
      ? (presentedDevice as string)
      : randomBytes(32).toString("base64url");
    const record: SessionRecord = {
      id: token.id,
      secretHash: hashSecret(token.secret),
      userId,
      status: options.status ?? "active",
      endReason: null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.options.absoluteTimeout,
      endedAt: null,
      ip: info.ip,
      lastIp: info.ip,
      userAgent: device.userAgent,
      browserName: device.browserName,
      browserVersion: device.browserVersion,
      osName: device.osName,
      osVersion: device.osVersion,
      deviceType: device.deviceType,
      ...nullLocation(location),
      // The device cookie is a bearer value too: store only its hash.
      deviceId: createHash("sha256").update(deviceSecret).digest("hex"),
    };
    const event = this.#event(
      {
        type: "sign_in",
        userId,
        sessionId: record.id,
        reason: options.status === "pending" ? "pending_verification" : null,
      },
      info,
      device,
      location,
      now,
    );
    await this.options.storage.createSession(record, event);
    this.#emit(event);
    const setCookies = [this.#sessionCookie(formatToken(token), secure)];
    if (!hasDevice) {
      setCookies.push(
        serializeCookie(this.deviceCookieName(secure), deviceSecret, {
          secure,
          maxAge: Math.floor(this.options.deviceCookieMaxAge / 1000),
        }),
      );
    }
    return {
      record,
      session: toSession(record, { currentId: record.id, idleTimeout: this.options.idleTimeout }),
      setCookies,
      deviceKnown: hasDevice,
    };
  }

  /** The hashed device id a request's device cookie stands for, or null without one. */
  deviceIdOf(info: RequestInfo): string | null {
    const value = readSingleCookie(
      info.cookieHeader,
      this.deviceCookieName(this.isSecure(info.secure)),
    );
    return value !== null && DEVICE_ID_PATTERN.test(value)
      ? createHash("sha256").update(value).digest("hex")
      : null;
  }

  /** Ends the session as `inactive` (reason `sign_out`), keeps the row, and returns the cookie that clears it. */
  async signOut(record: SessionRecord, info: RequestInfo): Promise<{ setCookies: string[] }> {
    const now = this.options.now();
    await this.#end(
      record,
      { status: "inactive", reason: "sign_out", endedAt: now },
      "sign_out",
      info,
    );
    return { setCookies: [this.clearCookie(info)] };
  }

  /** The `Set-Cookie` value that removes the session cookie. */
  clearCookie(info: RequestInfo): string {
    const secure = this.isSecure(info.secure);
    return serializeCookie(this.cookieName(secure), "", { secure, maxAge: 0 });
  }

  /**
   * Issues a new secret for the same session (privilege change, password change, verification).
   * The old cookie stops working at once. With `activate`, a pending session becomes active.
   * Returns null when the session is no longer live.
   */
  async rotate(
    record: SessionRecord,
    info: RequestInfo,
    options: { activate?: boolean } = {},
  ): Promise<CookieResult | null> {
    const token = { id: record.id, secret: generateToken().secret };
    const secretHash = hashSecret(token.secret);
    const ok = await this.options.storage.rotateSession(record.id, {
      secretHash,
      expectStatus: options.activate ? "pending" : "active",
      ...(options.activate ? { status: "active" as const } : {}),
    });
    if (!ok) return null;
    await this.options.cache?.invalidate([record.id]);
    const now = this.options.now();
    await this.#record(
      {
        type: "token_rotated",
        userId: record.userId,
        sessionId: record.id,
        reason: options.activate ? "verified" : null,
      },
      info,
      now,
    );
    const next: SessionRecord = { ...record, secretHash, status: "active" };
    const secure = this.isSecure(info.secure);
    return {
      session: toSession(next, { currentId: next.id, idleTimeout: this.options.idleTimeout }),
      setCookies: [this.#sessionCookie(formatToken(token), secure)],
    };
  }

  /** A user's sessions, current first then by last activity. Active (and pending) only unless `includeEnded`. */
  async listSessions(
    userId: string,
    options: { currentId?: string | null; includeEnded?: boolean; limit?: number } = {},
  ): Promise<Session[]> {
    const now = this.options.now();
    const records = await this.options.storage.listUserSessions(userId, {
      includeEnded: options.includeEnded ?? false,
      limit: Math.min(Math.max(1, options.limit ?? LIST_LIMIT), 1000),
      // Filtered in the query, so the limit counts only sessions that will be shown.
      liveAt: { now, idleTimeout: this.options.idleTimeout },
    });
    const sessions = records
      // A session past its deadline that nobody has presented yet is not shown as live.
      .filter(
        (r) =>
          options.includeEnded ||
          (now < r.expiresAt && now < r.lastSeenAt + this.options.idleTimeout),
      )
      .map((r) =>
        toSession(r, {
          currentId: options.currentId ?? null,
          idleTimeout: this.options.idleTimeout,
        }),
      );
    return sessions.sort((a, b) => Number(b.current) - Number(a.current));
  }

  /**
   * Ends one of a user's sessions. Another user's session id behaves exactly like an unknown one:
   * false, nothing changed.
   */
  async revokeSession(
    userId: string,
    sessionId: string,
    info: RequestInfo | null,
    options: { reason?: string } = {},
  ): Promise<boolean> {
    if (typeof sessionId !== "string" || sessionId.length > 64) return false;
    const now = this.options.now();
    const reason = options.reason ?? "revoked_by_user";
    const ended = await this.options.storage.endSession(
      sessionId,
      { status: "revoked", reason, endedAt: now },
      { userId },
    );
    if (!ended) return false;
    await this.options.cache?.invalidate([sessionId]);
    await this.#record({ type: "session_revoked", userId, sessionId, reason }, info, now);
    return true;
  }

  /** Ends every live session of the user except `currentId`. Returns how many ended. */
  revokeOtherSessions(
    userId: string,
    currentId: string,
    info: RequestInfo | null,
    options: { reason?: string } = {},
  ): Promise<number> {
    return this.#endMany(userId, options.reason ?? "revoked_by_user", info, currentId);
  }

  /** Ends every live session of the user, e.g. with reason `password_changed` or `revoked_by_admin`. */
  revokeAllSessions(
    userId: string,
    info: RequestInfo | null,
    options: { reason?: string } = {},
  ): Promise<number> {
    return this.#endMany(userId, options.reason ?? "revoked_by_admin", info);
  }

  async #endMany(
    userId: string,
    reason: string,
    info: RequestInfo | null,
    exceptId?: string,
  ): Promise<number> {
    const now = this.options.now();
    const ids = await this.options.storage.endUserSessions(
      userId,
      { status: "revoked", reason, endedAt: now },
      exceptId !== undefined ? { exceptId } : {},
    );
    if (ids.length > 0) await this.options.cache?.invalidate(ids);
    for (const id of ids)
      await this.#record({ type: "session_revoked", userId, sessionId: id, reason }, info, now);
    return ids.length;
  }

  /** A user's login history, newest first. */
  listEvents(userId: string, options: { limit?: number } = {}): Promise<LoginEvent[]> {
    return this.options.storage.listEvents(userId, {
      limit: Math.min(Math.max(1, options.limit ?? 100), 1000),
    });
  }

  /** Records an event such as a failed sign-in, with the request's device and location. */
  async recordEvent(
    fields: {
      type: string;
      userId: string | null;
      sessionId?: string | null;
      reason?: string | null;
    },
    info: RequestInfo | null,
  ): Promise<LoginEvent> {
    return this.#record({ sessionId: null, reason: null, ...fields }, info, this.options.now());
  }

  /**
   * Deletes sessions that ended (or silently expired) longer than `retention` ago, and events
   * older than `eventRetention` (default: the same). Returns what was deleted.
   */
  prune(options: {
    retention: number;
    eventRetention?: number;
  }): Promise<{ sessions: number; events: number }> {
    const now = this.options.now();
    const cutoff = now - options.retention;
    return this.options.storage.prune({
      endedBefore: cutoff,
      expiredBefore: cutoff,
      idleBefore: cutoff - this.options.idleTimeout,
      eventsBefore: now - (options.eventRetention ?? options.retention),
    });
  }

  async #end(
    record: SessionRecord,
    end: EndSessionInput,
    type: string,
    info: RequestInfo | null,
  ): Promise<void> {
    const ended = await this.options.storage.endSession(record.id, end);
    await this.options.cache?.invalidate([record.id]);
    if (ended)
      await this.#record(
        { type, userId: record.userId, sessionId: record.id, reason: end.reason },
        info,
        end.endedAt,
      );
  }

  async #record(
    fields: {
      type: string;
      userId: string | null;
      sessionId: string | null;
      reason: string | null;
    },
    info: RequestInfo | null,
    now: number,
  ): Promise<LoginEvent> {
    const device = info ? parseUserAgent(info.userAgent, this.options.userAgentMaxLength) : null;
    const location = info ? await this.#locate(info.ip) : null;
    const event = this.#event(fields, info, device, location, now);
    await this.options.storage.recordEvent(event);
    this.#emit(event);
    return event;
  }

  #event(
    fields: {
      type: string;
      userId: string | null;
      sessionId: string | null;
      reason: string | null;
    },
    info: RequestInfo | null,
    device: DeviceInfo | null,
    location: Location | null,
    now: number,
  ): LoginEvent {
    return {
      id: randomId(),
      ...fields,
      ip: info?.ip ?? null,
      userAgent: device?.userAgent ?? null,
      browserName: device?.browserName ?? null,
      browserVersion: device?.browserVersion ?? null,
      osName: device?.osName ?? null,
      osVersion: device?.osVersion ?? null,
      deviceType: device?.deviceType ?? null,
      ...nullLocation(location),
      createdAt: now,
    };
  }

  #emit(event: LoginEvent): void {
    const hook = this.options.onEvent;
    if (!hook) return;
    // A subscriber's failure must not undo or fail the sign-in it is told about.
    try {
      const result = hook(event);
      if (result && typeof (result as Promise<void>).catch === "function")
        (result as Promise<void>).catch(() => {});
    } catch {
      /* ignored by design */
    }
  }

  #sessionCookie(value: string, secure: boolean): string {
    // A session cookie without Max-Age would die with the browser; the server decides the lifetime.
    return serializeCookie(this.cookieName(secure), value, {
      secure,
      maxAge: Math.floor(this.options.absoluteTimeout / 1000),
    });
  }
}

function nullLocation(location: Location | null): {
  city: string | null;
  region: string | null;
  country: string | null;
} {
  return {
    city: location?.city ?? null,
    region: location?.region ?? null,
    country: location?.country ?? null,
  };
}

/** A validation result whose public view is built only if someone reads it (most requests don't). */
class ValidatedSession implements Validated {
  #session: Session | undefined;

  constructor(
    readonly record: SessionRecord,
    private readonly idleTimeout: number,
  ) {}

  get session(): Session {
    this.#session ??= toSession(this.record, {
      currentId: this.record.id,
      idleTimeout: this.idleTimeout,
    });
    return this.#session;
  }
}
