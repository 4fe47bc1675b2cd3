import { resolveClientIp } from "../client-ip.js";
import { isStorageError } from "../errors.js";
import { isPromise, type MaybePromise } from "../maybe-promise.js";
import { isSameOriginRequest, isUnsafeMethod } from "../origin.js";
import type { SessionKeeper, Validated } from "../session-keeper.js";
import type { RequestInfo, Session, SessionRecord } from "../types.js";

/** What an adapter reads off its framework's request. Everything here is hostile input. */
export interface RawRequest {
  method: string;
  path: string;
  header(name: string): string | null | undefined;
  socketAddress: string | null | undefined;
  /** The connection itself is TLS. */
  encrypted: boolean;
}

/** What the adapter must do before (or instead of) calling the app. */
export type Outcome =
  | { kind: "excluded" }
  | { kind: "forbidden"; status: 403; error: "cross_origin_request" }
  | { kind: "unavailable"; status: 503; error: "storage_unavailable" }
  | { kind: "next"; context: RequestSession };

/**
 * The per-request face of sessionkeeper that adapters hand to the app: the current session (or
 * null), and sign-in/out that queue their cookies on the response.
 */
export class RequestSession {
  #record: SessionRecord | null = null;
  #pending: SessionRecord | null = null;
  // The validation result, whose public view is built on first read: most requests only ask
  // whether there is a session, and building the view (dates, nested objects) is not free.
  #found: Validated | null;
  #session: Session | null = null;
  #pendingSession: Session | null = null;

  constructor(
    readonly keeper: SessionKeeper,
    readonly info: RequestInfo,
    found: Validated | null,
    private readonly setCookie: (value: string) => void,
  ) {
    this.#found = found;
    if (found?.record.status === "active") this.#record = found.record;
    else if (found?.record.status === "pending") this.#pending = found.record;
    else this.#found = null;
  }

  /** The active session, or null. */
  get session(): Session | null {
    if (this.#session === null && this.#found !== null && this.#record !== null)
      this.#session = this.#found.session;
    return this.#session;
  }

  set session(value: Session | null) {
    this.#found = null;
    this.#session = value;
  }

  /** The active session's user id, or null: the cheap question most routes ask. */
  get userId(): string | null {
    return this.#record?.userId ?? null;
  }

  /** A `pending` session awaiting new-device verification: it grants nothing else. */
  get pendingSession(): Session | null {
    if (this.#pendingSession === null && this.#found !== null && this.#pending !== null)
      this.#pendingSession = this.#found.session;
    return this.#pendingSession;
  }

  set pendingSession(value: Session | null) {
    this.#found = null;
    this.#pendingSession = value;
  }

  get ip(): string {
    return this.info.ip;
  }

  /** The stored record of the current session (active or pending). */
  get record(): SessionRecord | null {
    return this.#record ?? this.#pending;
  }

  /**
   * Signs `userId` in with a brand-new session. A session the browser already held is ended
   * (reason `replaced`) rather than adopted.
   */
  async signIn(userId: string, options: { status?: "active" | "pending" } = {}): Promise<Session> {
    const previous = this.record;
    if (previous)
      await this.keeper.revokeSession(previous.userId, previous.id, this.info, {
        reason: "replaced",
      });
    const result = await this.keeper.signIn(userId, this.info, options);
    for (const cookie of result.setCookies) this.setCookie(cookie);
    if (result.record.status === "active") {
      this.#record = result.record;
      this.session = result.session;
      this.#pending = null;
      this.pendingSession = null;
    } else {
      this.#record = null;
      this.session = null;
      this.#pending = result.record;
      this.pendingSession = result.session;
    }
    return result.session;
  }

  /** Ends the current session (kept as history with reason `sign_out`) and clears its cookie. */
  async signOut(): Promise<void> {
    const record = this.record;
    if (record) await this.keeper.signOut(record, this.info);
    else this.setCookie(this.keeper.clearCookie(this.info));
    if (record) this.setCookie(this.keeper.clearCookie(this.info));
    this.#record = null;
    this.#pending = null;
    this.session = null;
    this.pendingSession = null;
  }

  /** Issues a new token for the current session (after a privilege change). Old cookie dies at once. */
  async rotate(options: { activate?: boolean } = {}): Promise<Session | null> {
    const record = options.activate ? this.#pending : this.#record;
    if (!record) return null;
    const result = await this.keeper.rotate(record, this.info, options);
    if (!result) return null;
    for (const cookie of result.setCookies) this.setCookie(cookie);
    this.#record = { ...record, status: "active" };
    this.#pending = null;
    this.pendingSession = null;
    this.session = result.session;
    return result.session;
  }
}

/**
 * One value of a Node request header (`IncomingMessage#headers`), or null. Node joins most
 * repeated headers; for the rest take the first, as browsers send one.
 */
export function nodeHeaderValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** Builds the request info the core needs: client IP by the trustProxy rules, HTTPS or not. */
export function requestInfo(keeper: SessionKeeper, req: RawRequest): RequestInfo {
  const trust = keeper.options.trust;
  const ip = resolveClientIp(req.socketAddress, req.header("x-forwarded-for"), trust);
  let https = req.encrypted;
  // Only a trusted proxy may say the original request was HTTPS: with a CIDR list, the peer must be one.
  const fromProxy =
    trust.kind === "hops" || (trust.kind === "set" && trust.set.has(req.socketAddress ?? ""));
  if (!https && fromProxy) {
    const proto = req.header("x-forwarded-proto");
    https = typeof proto === "string" && proto.split(",")[0]?.trim().toLowerCase() === "https";
  }
  return {
    cookieHeader: req.header("cookie"),
    ip,
    userAgent: req.header("user-agent"),
    secure: keeper.isSecure(https),
  };
}

/**
 * What every adapter does first: skip excluded paths, refuse cross-origin unsafe requests, and
 * validate the session cookie. A storage failure becomes 503: authenticated routes fail closed.
 * The outcome is ready at once when validation needed no wait (see `SessionKeeper.validateNow`).
 */
export function beginRequest(
  keeper: SessionKeeper,
  req: RawRequest,
  setCookie: (value: string) => void,
): MaybePromise<Outcome> {
  if (keeper.isExcluded(req.path)) return EXCLUDED;
  // Safe methods always pass: skip reading three headers on every GET.
  const sameOrigin =
    !isUnsafeMethod(req.method) ||
    isSameOriginRequest(req.method, {
      secFetchSite: req.header("sec-fetch-site"),
      origin: req.header("origin"),
      host: req.header("host"),
    });
  if (!sameOrigin) return FORBIDDEN;
  const info = requestInfo(keeper, req);
  const proceed = (found: Validated | null): Outcome => ({
    kind: "next",
    context: new RequestSession(keeper, info, found, setCookie),
  });
  let found: MaybePromise<Validated | null>;
  try {
    found = keeper.validateNow(info);
  } catch (error) {
    return unavailable(error);
  }
  return isPromise(found) ? found.then(proceed, unavailable) : proceed(found);
}

const EXCLUDED: Outcome = Object.freeze({ kind: "excluded" });
const FORBIDDEN: Outcome = Object.freeze({
  kind: "forbidden",
  status: 403,
  error: "cross_origin_request",
});
const UNAVAILABLE: Outcome = Object.freeze({
  kind: "unavailable",
  status: 503,
  error: "storage_unavailable",
});

/** A storage failure is an answer (503); anything else is a bug and goes to the framework. */
function unavailable(error: unknown): Outcome {
  if (isStorageError(error)) return UNAVAILABLE;
  throw error;
}
