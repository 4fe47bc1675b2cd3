import { createHash, randomBytes } from "node:crypto";
import { readSingleCookie, serializeCookie } from "./cookies.js";
import { sfString } from "./device-binding/headers.js";
import { OncePerWindow } from "./device-binding/once-per-window.js";
import {
  ProofError,
  type ProofFailure,
  verifyRefreshProof,
  verifyRegistrationProof,
} from "./device-binding/proof.js";
import { checkDeviceName } from "./device-name.js";
import {
  type ActivityType,
  type Actor,
  EventBus,
  endEventType,
  type RequestFacts,
  type SessionEvent,
  type SessionEventListener,
  type SessionSnapshot,
  snapshotOf,
  type TransitionEvent,
  toHistoryRow,
} from "./events.js";
import { type HistoryFilter, type HistoryPage, readHistoryPage } from "./history.js";
import {
  CHALLENGE_TTL,
  KEPT_POST_MAX_BYTES,
  KEPT_POST_TTL,
  keepablePath,
  openBody,
  sealBody,
} from "./kept-post.js";
import { isPromise, type MaybePromise } from "./maybe-promise.js";
import { type ResolvedOptions, resolveOptions, type SessionKeeperOptions } from "./options.js";
import { AUTH_FACTORS } from "./recent-auth.js";
import {
  beginRequest,
  type Outcome,
  type RawRequest,
  requestInfo,
  type SetHeader,
} from "./request.js";
import { toSession } from "./session-view.js";
import { cachedStore } from "./storage/cached-store.js";
import {
  type EndSessionInput,
  type EventPosition,
  type SessionStore,
  type StoreHealth,
  storeHealth,
} from "./storage/contract.js";
import {
  formatToken,
  generateToken,
  hashSecret,
  parseToken,
  randomId,
  verifySecret,
} from "./token.js";
import type {
  AuthFactor,
  EndReason,
  Location,
  LoginEvent,
  PasskeyRecord,
  ReauthState,
  RequestInfo,
  Session,
  SessionData,
  SessionRecord,
} from "./types.js";
import { parseUserAgent } from "./user-agent.js";

/** What sign-in and token rotation hand back: the session, and the cookies to send with the response. */
export interface CookieResult {
  record: SessionRecord;
  session: Session;
  setCookies: string[];
  /**
   * Other response headers to send with the cookies: `Secure-Session-Registration` when device
   * binding is on (harmless to browsers without DBSC). Name and value pairs.
   */
  headers: Array<[string, string]>;
}

/**
 * What `validateRequest` answers for a session that exists but lacks its device binding: bound
 * and without a valid bound cookie, or (mode `required`) not bound at all. It grants nothing.
 */
export const BINDING_REFUSED: unique symbol = Symbol("sessionkeeper.bindingRefused");

/** The answer of a DBSC registration or refresh (see `docs/device-bound-sessions.md`). */
export type DeviceBindingResult =
  | { kind: "bound"; record: SessionRecord; setCookies: string[]; config: DeviceSessionConfig }
  | { kind: "refreshed"; record: SessionRecord; setCookies: string[]; config: DeviceSessionConfig }
  | { kind: "challenge"; sessionId: string; challenge: string }
  | { kind: "ended"; setCookies: string[] }
  | { kind: "refused"; status: 400 | 401 | 403 | 409; error: string };

/** The session instructions JSON of the DBSC draft ("JSON Session Instruction Format"). */
export interface DeviceSessionConfig {
  session_identifier: string;
  refresh_url: string;
  scope: {
    include_site: false;
    scope_specification: Array<{ type: "exclude"; domain: string; path: string }>;
  };
  credentials: Array<{ type: "cookie"; name: string; attributes: string }>;
  allowed_refresh_initiators: string[];
}

/** The result of validating a request: the live session record and its public view. */
export interface Validated {
  record: SessionRecord;
  session: Session;
}

/**
 * A check every live session must pass on each request (e.g. the guard's IP deny rules). A
 * returned reason ends the session as `revoked` with that reason; null lets it through.
 */
export type SessionGate = (
  record: SessionRecord,
  info: RequestInfo,
) => EndReason | null | Promise<EndReason | null>;

/** How a sign-in starts: held pending or not, remembered or not, with the app's data or none. */
export interface SignInOptions<Data extends object = SessionData> {
  /** `"pending"`: held for new-device verification (it can only be verified). Default `"active"`. */
  status?: "active" | "pending";
  /**
   * False: a cookie that lasts until the browser closes (no Max-Age, no Expires), and the shorter
   * `browserSessionIdleTimeout`. Default true: the cookie lasts the session's absolute lifetime.
   */
  rememberMe?: boolean;
  /** The app's data for this session (a JSON object of at most `dataMaxBytes`). Default none. */
  data?: Data | null;
}

/** Who did it and from which request; every ending and activity takes these. */
export interface ChangeContext {
  /** Default: the user (`{ kind: "user" }`). */
  by?: Actor;
  /** The request that caused it, for the history's device and place. */
  info?: RequestInfo | null;
}

type EndedStatus = EndSessionInput["status"];

const FACTORS = '"password", "email_code", "passkey"';
const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const BOUND_VALUE = DEVICE_ID_PATTERN;
const LIST_LIMIT = 200;
/** Open DBSC challenges kept per session: the newest few stay answerable. */
const DEVICE_CHALLENGES_KEPT = 4;
const USER = Object.freeze({ kind: "user" }) as Actor;
const SYSTEM = Object.freeze({ kind: "system" }) as Actor;

/**
 * The session engine: every change of a session's state is one of its methods, and each is
 * announced once on its event stream (stored as the login history). Frameworks reach it through
 * adapters (`sessionkeeper/express`, `sessionkeeper/web`, `sessionkeeper/fastify`).
 * @example
 * const keeper = createSessionKeeper({ storage: sqliteStorage(new Database("data/app.db")) });
 * await keeper.migrate();
 */
export function createSessionKeeper<Data extends object = SessionData>(
  options: SessionKeeperOptions,
): SessionKeeper<Data> {
  return new SessionKeeper<Data>(resolveOptions(options));
}

/**
 * `Data` types the app's per-session data (see {@link SignInOptions.data}); it is not checked at
 * run time beyond being a JSON object of bounded size.
 */
export class SessionKeeper<Data extends object = SessionData> {
  readonly #o: ResolvedOptions;
  // Every read and write goes through here; with a cache it is the cache layer around the store.
  readonly #store: SessionStore;
  readonly #bus = new EventBus();
  // Sessions whose last-seen write is in flight: concurrent requests on this instance skip it.
  readonly #touching = new Set<string>();
  /** `device_binding_failed` rows: one per session per minute (see `#bindingFailed`). */
  readonly #bindingFailures = new OncePerWindow(60_000);
  readonly #gates: SessionGate[] = [];
  readonly #browserTouchInterval: number;
  // Sessions sent a proactive DBSC challenge, by the bound-cookie expiry it was sent for.
  readonly #proactive = new Map<string, number>();

  constructor(options: ResolvedOptions) {
    this.#o = options;
    const { cache, storage, now } = options;
    // Kept well below the shorter idle timeout too, so a session in use never idles out.
    this.#browserTouchInterval = Math.min(
      options.touchInterval,
      Math.max(1, Math.floor(options.browserSessionIdleTimeout / 4)),
    );
    // A cached copy can lag a touch made by another instance: never end a session as idle on its word.
    this.#store = cache
      ? cachedStore(storage, cache, {
          isFresh: (r) => now() < r.lastSeenAt + this.#idleOf(r),
        })
      : storage;
    if (options.onEvent) this.#bus.subscribe(options.onEvent);
  }

  /** The timeouts in force, in milliseconds, and the largest session data in bytes. */
  get settings(): {
    idleTimeout: number;
    absoluteTimeout: number;
    touchInterval: number;
    browserSessionIdleTimeout: number;
    dataMaxBytes: number;
    reauthWindow: number;
  } {
    const { idleTimeout, absoluteTimeout, touchInterval, browserSessionIdleTimeout } = this.#o;
    const { dataMaxBytes, reauthWindow } = this.#o;
    return {
      idleTimeout,
      absoluteTimeout,
      touchInterval,
      browserSessionIdleTimeout,
      dataMaxBytes,
      reauthWindow,
    };
  }

  /** The device-binding (DBSC) settings in force: mode, cookie and challenge lifetimes (ms), paths. */
  get deviceBinding(): Readonly<ResolvedOptions["deviceBinding"]> {
    return this.#o.deviceBinding;
  }

  /** The idle timeout of one session: shorter when it was signed in without remember-me. */
  #idleOf(record: SessionRecord): number {
    return record.rememberMe ? this.#o.idleTimeout : this.#o.browserSessionIdleTimeout;
  }

  /** How often a session's last-seen time is written: more often when it is not remembered. */
  #touchIntervalOf(record: SessionRecord): number {
    return record.rememberMe ? this.#o.touchInterval : this.#browserTouchInterval;
  }

  /** The keeper's clock, in epoch ms (the `now` option). */
  now(): number {
    return this.#o.now();
  }

  /** Creates or upgrades the storage schema. */
  migrate(): Promise<void> {
    return this.#store.migrate();
  }

  /**
   * Whether the storage is usable now, for a health probe: `{ ok: true }`, or `{ ok: false, reason }`
   * (`"storage_unavailable"` when it cannot be reached; SQLite: `"database_file_missing"`,
   * `"database_file_replaced"`, `"database_file_unwritable"`). Asks the storage, never the cache.
   */
  checkHealth(): Promise<StoreHealth> {
    return storeHealth(this.#o.storage);
  }

  /** Closes the cache and the storage. */
  async close(): Promise<void> {
    await this.#o.cache?.close();
    await this.#o.storage.close();
  }

  /**
   * Tells `listener` of every transition and activity, after it is stored. Returns the function
   * that unsubscribes. A listener that throws or rejects changes nothing.
   */
  subscribe(listener: SessionEventListener): () => void {
    return this.#bus.subscribe(listener);
  }

  /** Adds a {@link SessionGate}: from now on every validated session must pass it. */
  addSessionGate(gate: SessionGate): void {
    if (typeof gate !== "function") throw new TypeError("addSessionGate(gate) needs a function");
    this.#gates.push(gate);
  }

  // ---- requests ----------------------------------------------------------------------------

  /** True when a path is excluded from session handling: no lookup, no touch, no cookie. */
  isExcluded(path: string): boolean {
    for (const rule of this.#o.excludePaths) {
      if (typeof rule === "string") {
        if (path === rule || path.startsWith(rule.endsWith("/") ? rule : `${rule}/`)) return true;
      } else if (rule.test(path)) return true;
    }
    return false;
  }

  /** The request facts the keeper needs: client IP by the trustProxy rules, HTTPS or not. */
  requestInfo(req: RawRequest): RequestInfo {
    return requestInfo(req, this.#o.trust, this.#o.secure);
  }

  /**
   * What every adapter does first: skip excluded paths, refuse cross-origin unsafe requests, and
   * validate the session cookie (storage failure → 503). Ready at once when nothing had to wait.
   */
  beginRequest(
    req: RawRequest,
    setCookie: (value: string) => void,
    setHeader?: SetHeader,
  ): MaybePromise<Outcome<Data>> {
    return beginRequest(this, req, setCookie, setHeader);
  }

  /**
   * Validates the session cookie of a request: the live (active or pending) session, or null for
   * anything else (absent, malformed, unknown, tampered, ended, expired). Only a storage failure
   * throws. Answers without a promise when every step could answer at once (a cache hit, or
   * synchronous SQLite): the common request then costs no microtask turn.
   */
  validate(info: RequestInfo): MaybePromise<Validated | null> {
    const found = this.validateRequest(info);
    return isPromise(found)
      ? found.then((v) => (v === BINDING_REFUSED ? null : v))
      : found === BINDING_REFUSED
        ? null
        : found;
  }

  /**
   * {@link validate}, telling apart a session refused only for its device binding
   * ({@link BINDING_REFUSED}), so that adapters can answer `device_binding_required`.
   */
  validateRequest(info: RequestInfo): MaybePromise<Validated | null | typeof BINDING_REFUSED> {
    return this.#lookup(info, "request");
  }

  /**
   * `request`: an ordinary request (the binding is enforced, last-seen is written when due).
   * `binding`: a DBSC endpoint, which must answer a session whose bound cookie lapsed, and whose
   * calls (a thief's among them: the session cookie alone reaches it) must not keep it from
   * idling out.
   */
  #lookup(
    info: RequestInfo,
    purpose: "request" | "binding",
  ): MaybePromise<Validated | null | typeof BINDING_REFUSED> {
    const raw = readSingleCookie(info.cookieHeader, this.#cookieName(info.secure));
    const token = parseToken(raw);
    if (!token) return null;
    const found = this.#store.findSession(token.id);
    return isPromise(found)
      ? found.then((record) => this.#accept(token.secret, record, info, purpose))
      : this.#accept(token.secret, found, info, purpose);
  }

  /** Like {@link validate}, but only an `active` session counts (a pending one grants nothing). */
  async authenticate(info: RequestInfo): Promise<Validated | null> {
    const found = await this.validate(info);
    return found && found.record.status === "active" ? found : null;
  }

  /** Checks a looked-up record against the presented secret, its status and its timeouts. */
  #accept(
    secret: string,
    record: SessionRecord | null,
    info: RequestInfo,
    purpose: "request" | "binding",
  ): MaybePromise<Validated | null | typeof BINDING_REFUSED> {
    // Constant-time comparison of hashes; an unknown id and a wrong secret look the same to the caller.
    if (!record || !verifySecret(secret, record.secretHash)) return null;
    if (record.status !== "active" && record.status !== "pending") return null;
    const now = this.#o.now();
    const timedOut =
      now >= record.expiresAt
        ? "absolute_timeout"
        : now >= record.lastSeenAt + this.#idleOf(record)
          ? "idle_timeout"
          : null;
    if (timedOut)
      return this.#endOne(record, { status: "expired", reason: timedOut }, SYSTEM, info).then(
        () => null,
      );
    // Before the gates and the touch: a copied cookie without its bound one changes nothing.
    if (purpose === "request" && !this.#bindingHolds(record, info, now)) return BINDING_REFUSED;
    const touch = purpose === "request";
    if (this.#gates.length > 0) return this.#gateThenTouch(record, info, now, touch);
    if (touch && this.#touchDue(record, now)) return this.#touchThenAccept(record, info, now);
    return new ValidatedSession(record, this.#idleOf(record));
  }

  async #gateThenTouch(
    record: SessionRecord,
    info: RequestInfo,
    now: number,
    touch: boolean,
  ): Promise<Validated | null> {
    for (const gate of this.#gates) {
      const reason = await gate(record, info);
      if (reason !== null) {
        await this.#endOne(record, { status: "revoked", reason }, SYSTEM, info);
        return null;
      }
    }
    if (touch && this.#touchDue(record, now)) return this.#touchThenAccept(record, info, now);
    return new ValidatedSession(record, this.#idleOf(record));
  }

  #touchDue(record: SessionRecord, now: number): boolean {
    return (
      now - record.lastSeenAt >= this.#touchIntervalOf(record) && !this.#touching.has(record.id)
    );
  }

  /** Writes last-seen time and IP (not a transition: the state stays; no event). */
  async #touchThenAccept(
    record: SessionRecord,
    info: RequestInfo,
    now: number,
  ): Promise<Validated> {
    this.#touching.add(record.id);
    try {
      const ip = info.ip;
      // Geolocate only when the IP changed: at most once per touch interval, never per request.
      const place = ip !== record.lastIp ? placeOf(await this.locate(ip)) : undefined;
      // Another request or instance may have written it first: fine, the row is fresh either way.
      await this.#store.touchSession(record.id, {
        lastSeenAt: now,
        lastIp: ip,
        previousLastSeenAt: record.lastSeenAt,
        // Only the three place columns: a provider's extra fields (coordinates) are not session columns.
        ...(place !== undefined ? { location: place } : {}),
      });
      const next: SessionRecord = { ...record, lastSeenAt: now, lastIp: ip, ...place };
      return new ValidatedSession(next, this.#idleOf(next));
    } finally {
      this.#touching.delete(record.id);
    }
  }

  // ---- device binding (DBSC) ---------------------------------------------------------------

  /**
   * Whether an active session's device binding is satisfied by this request: unbound sessions pass
   * (unless mode `required`); a bound one needs its current bound cookie, unexpired, compared in
   * constant time with the stored hash. Off: nothing is checked.
   */
  #bindingHolds(record: SessionRecord, info: RequestInfo, now: number): boolean {
    const mode = this.#o.deviceBinding.mode;
    if (mode === "off" || record.status !== "active") return true;
    if (record.deviceKey === null) return mode !== "required";
    if (record.boundCookieHash === null || record.boundCookieExpiresAt === null) return false;
    if (now >= record.boundCookieExpiresAt) return false;
    const value = readSingleCookie(info.cookieHeader, this.#boundCookieName(info.secure));
    return value !== null && BOUND_VALUE.test(value) && verifySecret(value, record.boundCookieHash);
  }

  /**
   * A fresh single-use challenge for a session: 256 random bits, of which only the SHA-256 is
   * stored, with an expiry of `deviceBinding.challengeTtl`. Any instance can check it.
   */
  async issueDeviceChallenge(sessionId: string): Promise<string> {
    const challenge = randomBytes(32).toString("base64url");
    await this.#store.addDeviceChallenge({
      hash: hashSecret(challenge),
      sessionId,
      expiresAt: this.#o.now() + this.#o.deviceBinding.challengeTtl,
      // A recent challenge stays answerable (a proof may cross a newer one in flight), but a
      // session's open challenges stay few however often its cookie asks.
      keep: DEVICE_CHALLENGES_KEPT,
    });
    return challenge;
  }

  /**
   * A proactive `Secure-Session-Challenge` for an ordinary response (a promise of the header
   * value), or null at once when none is due: sent once per
   * bound-cookie period (per instance), when the cookie is about to expire, so the browser's
   * refresh can be answered in one round trip instead of a 403 first.
   */
  proactiveChallenge(record: SessionRecord): Promise<string> | null {
    const { mode, cookieTtl } = this.#o.deviceBinding;
    if (mode === "off" || record.deviceKey === null || record.boundCookieExpiresAt === null)
      return null;
    const lead = Math.min(120_000, Math.floor(cookieTtl / 4));
    // Synchronous when nothing is due: the common request waits on no promise.
    if (this.#o.now() < record.boundCookieExpiresAt - lead) return null;
    if (this.#proactive.get(record.id) === record.boundCookieExpiresAt) return null;
    // Bounded: a busy instance forgets older entries rather than grow without end.
    if (this.#proactive.size >= 10_000) this.#proactive.clear();
    this.#proactive.set(record.id, record.boundCookieExpiresAt);
    return this.issueDeviceChallenge(record.id).then(
      (challenge) => `${sfString(challenge)};id=${sfString(record.id)}`,
    );
  }

  /** The registration header for a new active session, or none when device binding is off. */
  async #registrationHeaders(record: SessionRecord): Promise<Array<[string, string]>> {
    const { mode, registrationPath } = this.#o.deviceBinding;
    if (mode === "off" || record.status !== "active") return [];
    const challenge = await this.issueDeviceChallenge(record.id);
    return [
      [
        "Secure-Session-Registration",
        `(ES256 RS256);path=${sfString(registrationPath)};challenge=${sfString(challenge)}`,
      ],
    ];
  }

  /**
   * DBSC registration: binds the request's active, unbound session to the public key its proof
   * carries, once the proof verifies with that key and answers a challenge issued to this session
   * (used up here). Answers with the session instructions and the first bound cookie. Every
   * refusal of a session's proof is recorded (`device_binding_failed`).
   */
  async bindDevice(info: RequestInfo, proof: string | null): Promise<DeviceBindingResult> {
    const found = await this.#lookup(info, "binding");
    if (found === null || found === BINDING_REFUSED || found.record.status !== "active")
      return { kind: "refused", status: 401, error: "unauthenticated" };
    const record = found.record;
    if (record.deviceKey !== null) return { kind: "refused", status: 409, error: "already_bound" };
    if (proof === null) return this.#bindingFailed(record, info, "malformed_proof", 400);
    let verified: Awaited<ReturnType<typeof verifyRegistrationProof>>;
    try {
      verified = await verifyRegistrationProof(proof);
    } catch (error) {
      if (error instanceof ProofError) return this.#bindingFailed(record, info, error.reason, 400);
      throw error;
    }
    const now = this.#o.now();
    const taken = await this.#store.takeDeviceChallenge(hashSecret(verified.challenge), {
      sessionId: record.id,
      now,
    });
    if (!taken) return this.#bindingFailed(record, info, "stale_challenge", 400);
    const cookie = this.#newBoundCookie(now, info);
    const ok = await this.#store.bindSession(record.id, {
      key: verified.key,
      alg: verified.alg,
      cookieHash: cookie.hash,
      cookieExpiresAt: cookie.expiresAt,
      boundAt: now,
    });
    if (!ok) return { kind: "refused", status: 409, error: "already_bound" };
    const next: SessionRecord = {
      ...record,
      deviceKey: verified.key,
      deviceKeyAlg: verified.alg,
      boundCookieHash: cookie.hash,
      boundCookieExpiresAt: cookie.expiresAt,
      boundAt: now,
    };
    await this.recordActivity(
      { type: "device_bound", userId: record.userId, sessionId: record.id, reason: verified.alg },
      { info },
    );
    return {
      kind: "bound",
      record: next,
      setCookies: [cookie.setCookie],
      config: this.#deviceConfig(record.id, info),
    };
  }

  /**
   * DBSC refresh for the session named by `Sec-Secure-Session-Id`. The request must also carry
   * that session's own cookie. Without a proof, or over a challenge that is unknown, used or
   * expired: a new challenge (403). A proof signed by the registered key, with its algorithm,
   * over a recent challenge: a new bound cookie. A session that ended, or is not bound:
   * `{"continue": false}`, so the browser drops its binding.
   */
  async refreshDeviceBinding(
    info: RequestInfo,
    sessionId: string,
    proof: string | null,
  ): Promise<DeviceBindingResult> {
    const token = parseToken(readSingleCookie(info.cookieHeader, this.#cookieName(info.secure)));
    const ended: DeviceBindingResult = { kind: "ended", setCookies: [this.#clearBound(info)] };
    // Another session's binding (an old one this browser still refreshes): stop it, but leave
    // the bound cookie alone, which belongs to the session the cookie names.
    if (!token || token.id !== sessionId) return { kind: "ended", setCookies: [] };
    const found = await this.#lookup(info, "binding");
    if (found === null || found === BINDING_REFUSED || found.record.status !== "active") {
      // The binding is gone with its session: said once (the conditional clear of its bound
      // cookie succeeds once), however often the old cookie asks again.
      const record = await this.#store.findSession(sessionId);
      if (
        record?.deviceKey &&
        verifySecret(token.secret, record.secretHash) &&
        (await this.#store.endBinding(sessionId))
      )
        await this.recordActivity(
          {
            type: "device_binding_ended",
            userId: record.userId,
            sessionId,
            reason: record.endReason ?? record.status,
          },
          { info, by: SYSTEM },
        );
      return ended;
    }
    const record = found.record;
    if (record.deviceKey === null || record.deviceKeyAlg === null) return ended;
    if (proof === null) return this.#challenge(record.id);
    let challenge: string;
    try {
      ({ challenge } = await verifyRefreshProof(proof, record.deviceKey, record.deviceKeyAlg));
    } catch (error) {
      if (error instanceof ProofError) return this.#bindingFailed(record, info, error.reason, 401);
      throw error;
    }
    const now = this.#o.now();
    const taken = await this.#store.takeDeviceChallenge(hashSecret(challenge), {
      sessionId: record.id,
      now,
    });
    if (!taken) {
      // Late, replayed or never issued: ask again (the draft: the browser retries once with it).
      await this.#bindingFailed(record, info, "stale_challenge", 403);
      return this.#challenge(record.id);
    }
    const cookie = this.#newBoundCookie(now, info);
    const ok = await this.#store.refreshBinding(record.id, {
      cookieHash: cookie.hash,
      cookieExpiresAt: cookie.expiresAt,
    });
    if (!ok) return ended;
    return {
      kind: "refreshed",
      record: { ...record, boundCookieHash: cookie.hash, boundCookieExpiresAt: cookie.expiresAt },
      setCookies: [cookie.setCookie],
      config: this.#deviceConfig(record.id, info),
    };
  }

  async #challenge(sessionId: string): Promise<DeviceBindingResult> {
    return { kind: "challenge", sessionId, challenge: await this.issueDeviceChallenge(sessionId) };
  }

  async #bindingFailed(
    record: SessionRecord,
    info: RequestInfo,
    reason: ProofFailure | "stale_challenge",
    status: 400 | 401 | 403,
  ): Promise<DeviceBindingResult> {
    // Whoever holds the session cookie reaches these endpoints, key or not: one history row per
    // session per minute (per instance) records the failures without letting them flood it.
    if (this.#bindingFailures.allow(record.id, this.#o.now()))
      await this.recordActivity(
        { type: "device_binding_failed", userId: record.userId, sessionId: record.id, reason },
        { info, by: SYSTEM },
      );
    return { kind: "refused", status, error: reason };
  }

  #newBoundCookie(
    now: number,
    info: RequestInfo,
  ): { hash: string; expiresAt: number; setCookie: string } {
    const value = randomBytes(32).toString("base64url");
    const { cookieTtl } = this.#o.deviceBinding;
    const secure = this.#secure(info.secure);
    return {
      hash: hashSecret(value),
      expiresAt: now + cookieTtl,
      // The browser may keep it a little longer than the server accepts it: the server decides.
      setCookie: serializeCookie(this.#boundCookieName(info.secure), value, {
        secure,
        maxAge: Math.floor(cookieTtl / 1000),
      }),
    };
  }

  #clearBound(info: RequestInfo): string {
    const secure = this.#secure(info.secure);
    return serializeCookie(this.#boundCookieName(info.secure), "", { secure, maxAge: 0 });
  }

  /** The session instructions: origin-scoped, excluded paths left out, one bound cookie. */
  #deviceConfig(sessionId: string, info: RequestInfo): DeviceSessionConfig {
    const secure = this.#secure(info.secure);
    const exclusions = this.#o.excludePaths
      .filter((p): p is string => typeof p === "string" && /^\/[\x21-\x7e]{0,200}$/.test(p))
      .map((path) => ({ type: "exclude" as const, domain: "*", path }));
    return {
      session_identifier: sessionId,
      refresh_url: this.#o.deviceBinding.refreshPath,
      scope: { include_site: false, scope_specification: exclusions },
      credentials: [
        {
          type: "cookie",
          name: this.#boundCookieName(info.secure),
          // As the cookie is set (without Max-Age, which the draft says does not count).
          attributes: `Path=/; HttpOnly;${secure ? " Secure;" : ""} SameSite=Lax`,
        },
      ],
      allowed_refresh_initiators: [],
    };
  }

  // ---- transitions -------------------------------------------------------------------------

  /**
   * Signs a user in: always a new session (new id and secret), never a value the request
   * presented; a live session the browser already held ends as `replaced`. The session row and
   * its `sign_in` history row are written atomically. A `pending` session can only be verified.
   * Data too large for `dataMaxBytes` throws a RangeError before anything is written.
   */
  async signIn(
    userId: string,
    info: RequestInfo,
    options: SignInOptions<Data> & {
      replaces?: SessionRecord | null;
      /** How the user proved it (default `password`); a pending sign-in is proven at activation. */
      factor?: AuthFactor;
    } = {},
  ): Promise<CookieResult> {
    if (typeof userId !== "string" || userId.length === 0 || userId.length > 255) {
      throw new TypeError("userId must be a non-empty string of at most 255 characters");
    }
    const rememberMe = options.rememberMe ?? true;
    if (typeof rememberMe !== "boolean")
      throw new TypeError("signIn options.rememberMe must be true or false");
    // Checked first: a refusal must leave the browser's previous session as it was.
    const data = this.#serialize(options.data);
    const factor = options.factor ?? "password";
    if (!AUTH_FACTORS.includes(factor))
      throw new TypeError(`options.factor must be one of ${FACTORS}`);
    const previous = options.replaces === undefined ? await this.validate(info) : options.replaces;
    const old = previous && "record" in previous ? previous.record : previous;
    if (old) await this.#endOne(old, { status: "revoked", reason: "replaced" }, USER, info);
    const now = this.#o.now();
    const secure = this.#secure(info.secure);
    const request = await this.#factsOf(info);
    const token = generateToken();
    const deviceSecret = await this.#deviceSecretFor(userId, info);
    const pending = options.status === "pending";
    const record: SessionRecord = {
      id: token.id,
      secretHash: hashSecret(token.secret),
      userId,
      status: pending ? "pending" : "active",
      endReason: null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.#o.absoluteTimeout,
      endedAt: null,
      ip: info.ip,
      lastIp: info.ip,
      userAgent: request.userAgent ?? "",
      browserName: request.browserName,
      browserVersion: request.browserVersion,
      osName: request.osName,
      osVersion: request.osVersion,
      deviceType: request.deviceType,
      country: request.country,
      region: request.region,
      city: request.city,
      // The device cookie is a bearer value too: store only its hash.
      deviceId: sha256(deviceSecret),
      rememberMe,
      data,
      // A new sign-in is a fresh proof; a pending one is proven when its verification completes.
      authenticatedAt: pending ? null : now,
      authFactor: factor,
      proofUsedAt: null,
      deviceKey: null,
      deviceKeyAlg: null,
      boundCookieHash: null,
      boundCookieExpiresAt: null,
      boundAt: null,
      name: null,
      deviceModel: request.deviceModel ?? null,
    };
    const event = this.#transition(
      { type: "sign_in", reason: pending ? "pending_verification" : null },
      record,
      USER,
      request,
      now,
    );
    await this.#store.createSession(record, toHistoryRow(event));
    this.#bus.emit(event);
    const headers = await this.#registrationHeaders(record);
    const setCookies = [
      this.#sessionCookie(formatToken(token), secure, rememberMe),
      serializeCookie(this.#deviceCookieName(secure), deviceSecret, {
        secure,
        maxAge: Math.floor(this.#o.deviceCookieMaxAge / 1000),
      }),
    ];
    return { record, session: this.#view(record), setCookies, headers };
  }

  /**
   * Pending → active after new-device verification, with a new token: the pending cookie dies.
   * `method` says how it was confirmed; `by` is the approving session when another device did.
   * Null when the session is no longer pending.
   */
  activate(
    record: SessionRecord,
    info: RequestInfo,
    options: { method: "code" | "link" | "approved"; by?: Actor },
  ): Promise<CookieResult | null> {
    return this.#rotate(
      record,
      info,
      { type: "session_activated", reason: options.method },
      options.by ?? USER,
    );
  }

  /**
   * Records a fresh proof of who the user is (re-authentication, "sudo mode"): the time and the
   * factor, with a `reauthenticated` event, and a new token (a privilege change: the old cookie
   * stops working at once). Null when the session is no longer active. The caller checks the
   * proof itself (password, mailed code, passkey) and counts failures (the guard).
   */
  reauthenticate(
    record: SessionRecord,
    info: RequestInfo,
    options: { factor: AuthFactor },
  ): Promise<CookieResult | null> {
    if (!AUTH_FACTORS.includes(options?.factor)) {
      throw new TypeError(`options.factor must be one of ${FACTORS}`);
    }
    return this.#rotate(record, info, { type: "reauthenticated", reason: options.factor }, USER);
  }

  /**
   * Names (or, with "" or null, un-names) a live session's device for its user ("Work laptop"):
   * trimmed, NFC, at most 64 characters, no control or direction-changing characters. Returns the
   * session as it is now, or null when it is not `userId`'s live session. A malformed name throws
   * a `RangeError` before anything is written (callers answer 400).
   */
  async renameSession(
    sessionId: string,
    options: { userId: string; name: string | null; currentId?: string | null },
  ): Promise<Session | null> {
    const name = checkDeviceName(options.name);
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64)
      return null;
    const renamed = await this.#store.renameSession(sessionId, { userId: options.userId, name });
    if (!renamed) return null;
    const record = await this.#store.findSession(sessionId);
    if (!record || record.userId !== options.userId) return null;
    return toSession(record, {
      currentId: options.currentId ?? null,
      idleTimeout: this.#idleOf(record),
    });
  }

  /**
   * How often this session's browser (its device cookie) has signed in to the user's account,
   * and since when: proven sign-ins still kept (see `prune`), this one included. Null when the
   * session has no device id.
   */
  async deviceSignIns(record: SessionRecord): Promise<{ count: number; since: Date } | null> {
    if (!record.deviceId) return null;
    const { count, firstAt } = await this.#store.deviceSignIns(record.userId, record.deviceId);
    return count > 0 && firstAt !== null ? { count, since: new Date(firstAt) } : null;
  }

  /**
   * A sensitive action was let through under a sliding re-authentication window: the window now
   * runs from this moment (not an event; like a touch). False when the session is not active.
   */
  async markProofUsed(record: SessionRecord): Promise<boolean> {
    return this.#store.markProofUsed(record.id, { at: this.#o.now() });
  }

  /**
   * Issues a new secret for the same session (a privilege change): the old cookie stops working
   * at once. Null when the session is no longer active.
   */
  rotate(
    record: SessionRecord,
    info: RequestInfo,
    options: { reason?: "privilege_change" | "password_changed" } = {},
  ): Promise<CookieResult | null> {
    return this.#rotate(
      record,
      info,
      { type: "token_rotated", reason: options.reason ?? "privilege_change" },
      USER,
    );
  }

  async #rotate(
    record: SessionRecord,
    info: RequestInfo,
    change:
      | { type: "session_activated"; reason: "code" | "link" | "approved" }
      | { type: "token_rotated"; reason: "privilege_change" | "password_changed" }
      | { type: "reauthenticated"; reason: AuthFactor },
    by: Actor,
  ): Promise<CookieResult | null> {
    const activate = change.type === "session_activated";
    const token = { id: record.id, secret: generateToken().secret };
    const secretHash = hashSecret(token.secret);
    const now = this.#o.now();
    // A completed verification proves the sign-in's factor; a re-authentication its own factor.
    const proof =
      change.type === "reauthenticated"
        ? { at: now, factor: change.reason }
        : activate
          ? { at: now, factor: record.authFactor ?? ("password" as const) }
          : undefined;
    const next: SessionRecord = {
      ...record,
      secretHash,
      status: "active",
      ...(proof ? { authenticatedAt: proof.at, authFactor: proof.factor, proofUsedAt: null } : {}),
    };
    // The event is written with the change, in one transaction: a crash leaves neither or both.
    const event = this.#transition(change, next, by, await this.#facts(info, by), now);
    const ok = await this.#store.rotateSession(record.id, {
      secretHash,
      expectStatus: activate ? "pending" : "active",
      ...(activate ? { status: "active" as const } : {}),
      ...(proof ? { proof } : {}),
      event: toHistoryRow(event),
    });
    if (!ok) return null;
    this.#bus.emit(event);
    // An activated session is offered binding now; a rotated one keeps the binding it has.
    const headers = activate ? await this.#registrationHeaders(next) : [];
    return {
      record: next,
      session: this.#view(next),
      headers,
      // Carries the session's remember-me choice: rotation and approval keep it.
      setCookies: [
        this.#sessionCookie(formatToken(token), this.#secure(info.secure), next.rememberMe),
      ],
    };
  }

  /**
   * Replaces the app's data of an active session (null clears it). Written only when its JSON
   * differs from what the record holds; every instance's cache drops its copy. Not a transition:
   * no event, nothing in the history. Returns the record as it now is, or null when the session is
   * no longer active. Data too large for `dataMaxBytes` throws a RangeError and writes nothing.
   */
  async updateData(record: SessionRecord, data: Data | null): Promise<SessionRecord | null> {
    const text = this.#serialize(data);
    if (record.status !== "active") return null;
    if (text === record.data) return record;
    const ok = await this.#store.updateSessionData(record.id, { data: text });
    return ok ? { ...record, data: text } : null;
  }

  /**
   * Throws what `signIn` and `updateData` would throw for this data (a TypeError when it is not a
   * JSON object, a RangeError past `dataMaxBytes`), and nothing else: for a caller that must refuse
   * before it writes anything of its own (the guard checks it before counting a sign-in).
   */
  checkData(data: Data | null | undefined): void {
    this.#serialize(data);
  }

  /** The app's data of a session, parsed (a new object each call), or null when it has none. */
  dataOf(record: SessionRecord): Data | null {
    if (record.data === null) return null;
    try {
      return JSON.parse(record.data) as Data;
    } catch {
      return null; // not written by the keeper: nothing the app can rely on
    }
  }

  /** Ends the session as `inactive` (reason `sign_out`), keeps the row, and returns the cookie that clears it. */
  async signOut(record: SessionRecord, info: RequestInfo): Promise<{ setCookies: string[] }> {
    await this.#endOne(record, { status: "inactive", reason: "sign_out" }, USER, info);
    return { setCookies: this.clearCookies(info) };
  }

  /**
   * Ends one live session as `revoked` (default reason `revoked_by_user`). With `userId`, another
   * user's session id behaves exactly like an unknown one: false, nothing changed.
   */
  revokeSession(
    sessionId: string,
    options: ChangeContext & { userId?: string; reason?: EndReason } = {},
  ): Promise<boolean> {
    return this.endSession(sessionId, {
      ...options,
      status: "revoked",
      reason: options.reason ?? "revoked_by_user",
    });
  }

  /**
   * Ends one live session with any ended status: `locked_out` (`not_me`, `verification_failed`),
   * `expired` (`verification_expired`), `revoked`. True when this call ended it.
   */
  async endSession(
    sessionId: string,
    options: ChangeContext & { status: EndedStatus; reason: EndReason; userId?: string },
  ): Promise<boolean> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64)
      return false;
    const record = await this.#store.findSession(sessionId);
    if (!record || (options.userId !== undefined && record.userId !== options.userId)) return false;
    const end = { status: options.status, reason: options.reason };
    return this.#endOne(record, end, options.by ?? USER, options.info ?? null);
  }

  /** Ends every live session of the user except `keep`. Returns how many this call ended. */
  revokeOtherSessions(
    userId: string,
    options: ChangeContext & { keep: string; reason?: EndReason },
  ): Promise<number> {
    const reason = options.reason ?? "revoked_by_user";
    return this.#endMany(userId, reason, options, options.keep);
  }

  /** Ends every live session of the user (default reason `revoked_by_admin`). */
  revokeAllSessions(
    userId: string,
    options: ChangeContext & { reason?: EndReason } = {},
  ): Promise<number> {
    return this.#endMany(userId, options.reason ?? "revoked_by_admin", options);
  }

  /**
   * The password of `userId` changed: records it, rotates the kept session's token (the request
   * that changed it) and ends every other session with reason `password_changed`. Without `keep`
   * every session ends. Alert mail is a subscriber of the `password_changed` event (the guard).
   */
  async passwordChanged(
    userId: string,
    options: ChangeContext & { keep?: SessionRecord | null } = {},
  ): Promise<{ rotated: CookieResult | null; revoked: number }> {
    const keep = options.keep ?? null;
    const info = options.info ?? null;
    // The kept session gets a new cookie, and a cookie needs the request it answers.
    if (keep && !info) throw new TypeError("passwordChanged(userId, { keep }) needs { info } too");
    await this.recordActivity(
      { type: "password_changed", userId, sessionId: keep?.id ?? null },
      options,
    );
    const rotated =
      keep && info ? await this.rotate(keep, info, { reason: "password_changed" }) : null;
    const revoked = await this.#endMany(
      userId,
      "password_changed",
      options,
      rotated ? keep?.id : undefined,
    );
    return { rotated, revoked };
  }

  async #endOne(
    record: SessionRecord,
    end: { status: EndedStatus; reason: EndReason },
    by: Actor,
    info: RequestInfo | null,
  ): Promise<boolean> {
    const endedAt = this.#o.now();
    const after: SessionRecord = { ...record, ...end, endReason: end.reason, endedAt };
    const type = endEventType(end.status);
    const facts = await this.#facts(info, by);
    const event = this.#transition({ type, reason: end.reason }, after, by, facts, endedAt);
    // The event is written with the ending, in one transaction, only if this call ended it.
    const ended = await this.#store.endSession(
      record.id,
      { ...end, endedAt },
      { userId: record.userId, event: toHistoryRow(event) },
    );
    // Someone else ended it first (another request or instance): their event, not ours.
    if (!ended) return false;
    this.#bus.emit(event);
    return true;
  }

  async #endMany(
    userId: string,
    reason: EndReason,
    context: ChangeContext,
    exceptId?: string,
  ): Promise<number> {
    const endedAt = this.#o.now();
    const facts = await this.#facts(context.info ?? null, context.by);
    const change = { type: "session_revoked" as const, reason };
    const events = new Map<string, SessionEvent>();
    // The store hands each session it ends to `eventFor` inside its transaction, so the endings
    // and their events are written together and only the sessions this call ended get one.
    const ids = await this.#store.endUserSessions(
      userId,
      { status: "revoked", reason, endedAt },
      {
        ...(exceptId !== undefined ? { exceptId } : {}),
        eventFor: (ended) => {
          const after: SessionRecord = { ...ended, status: "revoked", endReason: reason, endedAt };
          const event = this.#transition(change, after, context.by ?? USER, facts, endedAt);
          events.set(ended.id, event);
          return toHistoryRow(event);
        },
      },
    );
    for (const id of ids) {
      const event = events.get(id);
      if (event) this.#bus.emit(event);
    }
    return ids.length;
  }

  // ---- reads and activity ------------------------------------------------------------------

  /**
   * One session by id, as events carry it (no hashes), or null when unknown. Ended ones too. Read
   * from the database itself, never a cache: what an admin or a confirmation page sees is the truth.
   */
  async getSession(sessionId: string): Promise<SessionSnapshot | null> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64)
      return null;
    const record = await this.#o.storage.findSession(sessionId);
    return record ? snapshotOf(record) : null;
  }

  /**
   * A user's sessions, current first then by last activity. Live ones (active and pending) only
   * unless `includeEnded`; `status` keeps one of the two.
   */
  async listSessions(
    userId: string,
    options: {
      currentId?: string | null;
      includeEnded?: boolean;
      limit?: number;
      /** Only live sessions of this status: `"active"`, or `"pending"` (held for verification). */
      status?: "active" | "pending";
    } = {},
  ): Promise<Session[]> {
    const now = this.#o.now();
    const idle = this.#o.idleTimeout;
    const includeEnded = options.includeEnded ?? false;
    const records = await this.#store.listUserSessions(userId, {
      includeEnded,
      limit: Math.min(Math.max(1, options.limit ?? LIST_LIMIT), 1000),
      // Filtered in the query, so the limit counts only sessions that will be shown.
      liveAt: {
        now,
        idleTimeout: idle,
        browserSessionIdleTimeout: this.#o.browserSessionIdleTimeout,
      },
    });
    const sessions = records
      // A session past its deadline that nobody has presented yet is not shown as live.
      .filter((r) => includeEnded || (now < r.expiresAt && now < r.lastSeenAt + this.#idleOf(r)))
      .filter((r) => options.status === undefined || r.status === options.status)
      .map((r) =>
        toSession(r, { currentId: options.currentId ?? null, idleTimeout: this.#idleOf(r) }),
      );
    return sessions.sort((a, b) => Number(b.current) - Number(a.current));
  }

  /** A user's login history, newest first. */
  listEvents(userId: string, options: { limit?: number } = {}): Promise<LoginEvent[]> {
    return this.#store.listEvents(userId, {
      limit: Math.min(Math.max(1, options.limit ?? 100), 1000),
    });
  }

  /**
   * One page of a user's history as people read it: sign-ins with their stories, failure runs
   * folded, security changes (see `readHistoryPage`). `before` is where the last page ended.
   */
  historyPage(
    userId: string,
    options: { filter?: HistoryFilter; before?: EventPosition | null; limit?: number } = {},
  ): Promise<HistoryPage> {
    return readHistoryPage(this.#store, userId, {
      filter: options.filter ?? "all",
      before: options.before ?? null,
      limit: Math.min(Math.max(1, options.limit ?? 20), 100),
    });
  }

  /** Records and announces something that changed no session, such as a failed sign-in. */
  async recordActivity(
    fields: {
      type: ActivityType;
      userId: string | null;
      sessionId?: string | null;
      reason?: string | null;
    },
    context: ChangeContext = {},
  ): Promise<SessionEvent> {
    const event: SessionEvent = {
      id: randomId(),
      at: this.#o.now(),
      type: fields.type,
      userId: fields.userId,
      sessionId: fields.sessionId ?? null,
      reason: fields.reason ?? null,
      actor: context.by ?? USER,
      request: await this.#facts(context.info ?? null, context.by),
    };
    await this.#publish(event);
    return event;
  }

  /**
   * Deletes sessions that ended (or silently expired) longer than `retention` ago, and events
   * older than `eventRetention` (default: the same). Returns what was deleted.
   */
  prune(options: { retention: number; eventRetention?: number }): Promise<{
    sessions: number;
    events: number;
  }> {
    const now = this.#o.now();
    const cutoff = now - options.retention;
    return this.#store.prune({
      endedBefore: cutoff,
      expiredBefore: cutoff,
      idleBefore: cutoff - this.#o.idleTimeout,
      eventsBefore: now - (options.eventRetention ?? options.retention),
      // An expired challenge can answer nothing: all of them go, whatever the retention.
      challengesBefore: now,
    });
  }

  // ---- devices, places, cookies ------------------------------------------------------------

  /** The hashed device id a request's device cookie stands for, or null without one. */
  deviceIdOf(info: RequestInfo): string | null {
    const value = readSingleCookie(
      info.cookieHeader,
      this.#deviceCookieName(this.#secure(info.secure)),
    );
    return value !== null && DEVICE_ID_PATTERN.test(value) ? sha256(value) : null;
  }

  /** Where an IP is, by the `geo` provider; null without one, when unknown, or when it fails. */
  async locate(ip: string): Promise<Location | null> {
    if (!this.#o.geo) return null;
    try {
      return (await this.#o.geo.lookup(ip)) ?? null;
    } catch {
      return null; // a broken geolocation database never blocks a sign-in
    }
  }

  /** The `Set-Cookie` values that remove the session cookie (and the bound cookie, when binding is on). */
  clearCookies(info: RequestInfo): string[] {
    const out = [this.clearCookie(info)];
    if (this.#o.deviceBinding.mode !== "off") out.push(this.#clearBound(info));
    return out;
  }

  // ---- passkeys and re-authentication state ---------------------------------------------------

  /** A user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return this.#store.listPasskeys(userId);
  }

  /** A passkey by credential id, whoever owns it; null when unknown. */
  findPasskey(id: string): Promise<PasskeyRecord | null> {
    return this.#store.findPasskey(id);
  }

  /** Stores a verified passkey for the session's user and records `passkey_added`. */
  async addPasskey(
    record: SessionRecord,
    info: RequestInfo,
    passkey: PasskeyRecord,
  ): Promise<void> {
    if (passkey.userId !== record.userId)
      throw new TypeError("a passkey must be the session user's");
    await this.#store.addPasskey(passkey);
    await this.recordActivity(
      // The name the user gave it (validated: 1–64 characters, no controls), for history and mail.
      { type: "passkey_added", userId: record.userId, sessionId: record.id, reason: passkey.name },
      { info },
    );
  }

  /** Renames one of the user's passkeys. False when the user has no such passkey. */
  renamePasskey(userId: string, id: string, name: string): Promise<boolean> {
    return this.#store.renamePasskey(id, { userId, name });
  }

  /** Removes one of the session user's passkeys and records `passkey_removed`. False when none. */
  async removePasskey(record: SessionRecord, info: RequestInfo, id: string): Promise<boolean> {
    const found = await this.#store.findPasskey(id);
    const removed = await this.#store.removePasskey(id, { userId: record.userId });
    if (removed)
      await this.recordActivity(
        {
          type: "passkey_removed",
          userId: record.userId,
          sessionId: record.id,
          reason: found?.userId === record.userId ? found.name : null,
        },
        { info },
      );
    return removed;
  }

  /** After a verified assertion: the authenticator's new signature counter, and the time. */
  recordPasskeyUse(id: string, counter: number): Promise<boolean> {
    return this.#store.recordPasskeyUse(id, { counter, usedAt: this.#o.now() });
  }

  /**
   * A fresh WebAuthn challenge for this session (base64url, 32 random bytes): only its SHA-256 is
   * stored, it replaces the session's previous one of the same kind, and it lasts five minutes.
   */
  async issueChallenge(
    record: SessionRecord,
    kind: "passkey_create" | "passkey_get",
  ): Promise<string> {
    const challenge = randomBytes(32).toString("base64url");
    await this.#saveState(record, kind, hashSecret(challenge), CHALLENGE_TTL, null, null);
    return challenge;
  }

  /**
   * A challenge for signing in with a passkey, before there is a session: stored hashed for five
   * minutes under a ceremony id that goes only into the returned cookie (HttpOnly,
   * SameSite=Strict), so the answer is taken only from the browser that asked, and once.
   */
  async issueSignInChallenge(info: RequestInfo): Promise<{ challenge: string; setCookie: string }> {
    const challenge = randomBytes(32).toString("base64url");
    const ceremony = randomId();
    const now = this.#o.now();
    await this.#store.saveReauthState({
      id: ceremony,
      sessionId: ceremony,
      kind: "passkey_signin",
      secretHash: hashSecret(challenge),
      path: null,
      data: null,
      expiresAt: now + CHALLENGE_TTL,
      usedAt: null,
      createdAt: now,
    });
    const secure = this.#secure(info.secure);
    const setCookie = serializeCookie(this.#signInCookieName(secure), ceremony, {
      secure,
      maxAge: Math.floor(CHALLENGE_TTL / 1000),
      sameSite: "Strict",
    });
    return { challenge, setCookie };
  }

  /**
   * Spends the passkey sign-in challenge this browser was given, if it is `challenge`: `ok` once,
   * within five minutes. `clearCookie` drops the browser's ceremony cookie, to send either way.
   */
  async spendSignInChallenge(
    info: RequestInfo,
    challenge: string,
  ): Promise<{ ok: boolean; clearCookie: string }> {
    const secure = this.#secure(info.secure);
    const name = this.#signInCookieName(secure);
    const clearCookie = serializeCookie(name, "", { secure, maxAge: 0, sameSite: "Strict" });
    const ceremony = readSingleCookie(info.cookieHeader, name);
    if (!ceremony || !/^[A-Za-z0-9_-]{1,64}$/.test(ceremony) || challenge.length > 128)
      return { ok: false, clearCookie };
    const now = this.#o.now();
    const [state] = await this.#store.findReauthStates(ceremony, "passkey_signin", now);
    const ok =
      state !== undefined &&
      verifySecret(challenge, state.secretHash) &&
      (await this.#store.spendReauthState(state.id, now));
    return { ok, clearCookie };
  }

  #signInCookieName(secure: boolean): string {
    const name = `${this.#o.cookieName}_passkey`;
    return secure ? `__Host-${name}` : name;
  }

  /** Spends the session's challenge of `kind` if it is `challenge`: true once, within its life. */
  async spendChallenge(
    record: SessionRecord,
    kind: "passkey_create" | "passkey_get",
    challenge: string,
  ): Promise<boolean> {
    if (typeof challenge !== "string" || challenge.length > 128) return false;
    const now = this.#o.now();
    for (const state of await this.#store.findReauthStates(record.id, kind, now)) {
      if (verifySecret(challenge, state.secretHash))
        return this.#store.spendReauthState(state.id, now);
    }
    return false;
  }

  /**
   * Keeps a form post (its path and urlencoded body) for this session while the user proves it's
   * them: five minutes, one use, encrypted under a secret that goes only into the returned
   * `Set-Cookie` (HttpOnly, SameSite=Strict). Null when the path or body cannot be kept (too long).
   */
  async keepPost(
    record: SessionRecord,
    info: RequestInfo,
    post: { path: string; body: string },
  ): Promise<string | null> {
    if (!keepablePath(post.path) || Buffer.byteLength(post.body, "utf8") > KEPT_POST_MAX_BYTES)
      return null;
    const token = generateToken();
    const data = sealBody(post.body, token.secret, token.id);
    await this.#saveState(
      record,
      "kept_post",
      hashSecret(token.secret),
      KEPT_POST_TTL,
      post.path,
      data,
      token.id,
    );
    const secure = this.#secure(info.secure);
    return serializeCookie(this.#resumeCookieName(secure), formatToken(token), {
      secure,
      maxAge: Math.floor(KEPT_POST_TTL / 1000),
      sameSite: "Strict",
    });
  }

  /**
   * The path of the post this browser kept on this session, while it can still be completed (not
   * spent, not expired, its key cookie present and right); null otherwise. A re-authentication
   * page resumes to this path alone, never to one the request names.
   */
  async keptPostPath(record: SessionRecord, info: RequestInfo): Promise<string | null> {
    const state = await this.#keptPostState(record, info);
    return state?.path ?? null;
  }

  async #keptPostState(record: SessionRecord, info: RequestInfo) {
    const name = this.#resumeCookieName(this.#secure(info.secure));
    const token = parseToken(readSingleCookie(info.cookieHeader, name));
    if (!token || record.status !== "active") return null;
    const states = await this.#store.findReauthStates(record.id, "kept_post", this.#o.now());
    const state = states.find((s) => s.id === token.id);
    return state && verifySecret(token.secret, state.secretHash) ? { ...state, token } : null;
  }

  /**
   * Takes this browser's kept post for `path` on this session: its body once (spent here, so a
   * replay finds nothing), or null (none, expired, spent, another session's or another path's).
   * `clearCookie` is the `Set-Cookie` that drops the browser's key, to send either way.
   */
  async takeKeptPost(
    record: SessionRecord,
    info: RequestInfo,
    path: string,
  ): Promise<{ body: string | null; clearCookie: string }> {
    const secure = this.#secure(info.secure);
    const name = this.#resumeCookieName(secure);
    const clearCookie = serializeCookie(name, "", { secure, maxAge: 0, sameSite: "Strict" });
    const state = await this.#keptPostState(record, info);
    if (!state || state.path !== path) return { body: null, clearCookie };
    if (!(await this.#store.spendReauthState(state.id, this.#o.now())))
      return { body: null, clearCookie };
    return {
      body: state.data === null ? null : openBody(state.data, state.token.secret, state.id),
      clearCookie,
    };
  }

  async #saveState(
    record: SessionRecord,
    kind: ReauthState["kind"],
    secretHash: string,
    ttl: number,
    path: string | null,
    data: string | null,
    id: string = randomId(),
  ): Promise<void> {
    if (record.status !== "active")
      throw new TypeError("re-authentication needs an active session");
    const now = this.#o.now();
    await this.#store.saveReauthState({
      id,
      sessionId: record.id,
      kind,
      secretHash,
      path,
      data,
      expiresAt: now + ttl,
      usedAt: null,
      createdAt: now,
    });
  }

  #resumeCookieName(secure: boolean): string {
    const name = `${this.#o.cookieName}_resume`;
    return secure ? `__Host-${name}` : name;
  }

  /** The `Set-Cookie` value that removes the session cookie. */
  clearCookie(info: RequestInfo): string {
    const secure = this.#secure(info.secure);
    return serializeCookie(this.#cookieName(secure), "", { secure, maxAge: 0 });
  }

  // ---- internals ---------------------------------------------------------------------------

  /** History first (it is the stream, stored), then the listeners. */
  async #publish(event: SessionEvent): Promise<void> {
    await this.#store.recordEvent(toHistoryRow(event));
    this.#bus.emit(event);
  }

  #transition<T extends Pick<TransitionEvent, "type" | "reason">>(
    change: T,
    record: SessionRecord,
    actor: Actor,
    request: RequestFacts | null,
    at: number,
  ): TransitionEvent {
    return {
      ...change,
      id: randomId(),
      at,
      userId: record.userId,
      sessionId: record.id,
      session: snapshotOf(record),
      actor,
      request,
    } as TransitionEvent;
  }

  /** The request's facts; when a session acted, with the user's name for its device. */
  async #facts(info: RequestInfo | null, by?: Actor): Promise<RequestFacts | null> {
    if (!info) return null;
    const facts = await this.#factsOf(info);
    if (by?.kind === "session") {
      const actor = await this.#store.findSession(by.sessionId);
      if (actor?.name) facts.name = actor.name;
    }
    return facts;
  }

  async #factsOf(info: RequestInfo): Promise<RequestFacts> {
    const device = parseUserAgent(
      info.userAgent,
      this.#o.userAgentMaxLength,
      info.clientHints ?? null,
    );
    return {
      ip: info.ip,
      userAgent: device.userAgent,
      browserName: device.browserName,
      browserVersion: device.browserVersion,
      osName: device.osName,
      osVersion: device.osVersion,
      deviceType: device.deviceType,
      deviceModel: device.deviceModel,
      ...placeOf(await this.locate(info.ip)),
    };
  }

  /**
   * The device secret a sign-in sets. A new one, never the presented one, unless the presented
   * one already stands for a proven sign-in of this same user: a value planted in this browser by
   * someone else can then never become a known device of the account (a device is known by a
   * secret issued here, once a sign-in completes), while a browser that signs in again keeps its
   * id, so its sessions are tied together ("signed in 4 times since March").
   */
  async #deviceSecretFor(userId: string, info: RequestInfo): Promise<string> {
    const value = readSingleCookie(
      info.cookieHeader,
      this.#deviceCookieName(this.#secure(info.secure)),
    );
    if (value !== null && DEVICE_ID_PATTERN.test(value)) {
      const { count } = await this.#store.deviceSignIns(userId, sha256(value));
      if (count > 0) return value;
    }
    return randomBytes(32).toString("base64url");
  }

  #view(record: SessionRecord): Session {
    return toSession(record, { currentId: record.id, idleTimeout: this.#idleOf(record) });
  }

  /** The stored form of session data: JSON text within `dataMaxBytes`, or null for none. */
  #serialize(data: Data | null | undefined): string | null {
    if (data === undefined || data === null) return null;
    if (typeof data !== "object" || Array.isArray(data))
      throw new TypeError("session data must be a JSON object, or null for none");
    let text: string;
    try {
      text = JSON.stringify(data);
    } catch (error) {
      throw new TypeError("session data must be JSON-serialisable", { cause: error });
    }
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > this.#o.dataMaxBytes)
      throw new RangeError(
        `session data is ${bytes} bytes as JSON, more than options.dataMaxBytes (${this.#o.dataMaxBytes})`,
      );
    return text;
  }

  #secure(requestIsHttps: boolean): boolean {
    return this.#o.secure === "auto" ? requestIsHttps : this.#o.secure;
  }

  /** `__Host-` prefixed over HTTPS, so no subdomain can set it. */
  #cookieName(secure: boolean): string {
    return secure ? `__Host-${this.#o.cookieName}` : this.#o.cookieName;
  }

  #boundCookieName(requestIsHttps: boolean): string {
    const name = this.#o.deviceBinding.cookieName;
    return this.#secure(requestIsHttps) ? `__Host-${name}` : name;
  }

  #deviceCookieName(secure: boolean): string {
    return secure ? `__Host-${this.#o.deviceCookieName}` : this.#o.deviceCookieName;
  }

  #sessionCookie(value: string, secure: boolean, rememberMe: boolean): string {
    // Remembered: Max-Age, the session's lifetime (the server still ends it sooner when idle).
    // Not remembered: neither Max-Age nor Expires, so the browser drops it when it closes.
    return serializeCookie(
      this.#cookieName(secure),
      value,
      rememberMe ? { secure, maxAge: Math.floor(this.#o.absoluteTimeout / 1000) } : { secure },
    );
  }
}

function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

function placeOf(location: Location | null): {
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
