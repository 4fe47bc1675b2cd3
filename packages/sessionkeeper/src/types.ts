import type { ClientHintHeaders } from "./client-hints.js";

/** Where a session stands. Only `active` sessions authenticate; `pending` ones can only verify. */
export type SessionStatus =
  | "pending"
  | "active"
  | "inactive"
  | "revoked"
  | "expired"
  | "locked_out";

/** Why a session ended. Apps may pass their own reasons too. */
export type EndReason =
  | "sign_out"
  | "revoked_by_user"
  | "revoked_by_admin"
  | "password_changed"
  | "session_limit"
  | "idle_timeout"
  | "absolute_timeout"
  | "not_me"
  | "replaced"
  | "ip_denied"
  | "verification_failed"
  | (string & {});

export interface Location {
  city: string | null;
  region: string | null;
  country: string | null;
  /** Approximate coordinates, when the provider knows them (used by the impossible-travel check). */
  latitude?: number | null;
  longitude?: number | null;
}

/**
 * One sign-in, as stored. Holds the SHA-256 of the token's secret, never the secret itself.
 * Times are epoch milliseconds.
 */
export interface SessionRecord {
  id: string;
  secretHash: string;
  userId: string;
  status: SessionStatus;
  endReason: string | null;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  endedAt: number | null;
  ip: string;
  lastIp: string;
  userAgent: string;
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  deviceType: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  deviceId: string | null;
  /**
   * False when the user chose not to be remembered at sign-in: the cookie lasts until the browser
   * closes (no Max-Age) and the shorter `browserSessionIdleTimeout` applies.
   */
  rememberMe: boolean;
  /** The app's session data as stored (JSON text), or null. Read it parsed through `RequestSession.data`. */
  data: string | null;
  /** When the session was last proven (sign-in, verification or re-authentication); null: never. */
  authenticatedAt: number | null;
  /** How it was last proven. */
  authFactor: AuthFactor | null;
  /** The last sensitive action let through under a sliding window (it slides from here). */
  proofUsedAt: number | null;
  /**
   * Device binding (DBSC): the public key (a JWK as JSON text) the browser registered, or null
   * while the session is not bound. Only the public half; the private key never leaves the device.
   */
  deviceKey: string | null;
  /** The algorithm the key signs with (`ES256` or `RS256`): every later proof must use it. */
  deviceKeyAlg: DeviceKeyAlg | null;
  /** SHA-256 (hex) of the current short-lived bound cookie; the cookie itself is never stored. */
  boundCookieHash: string | null;
  /** When the current bound cookie stops being accepted (epoch ms). */
  boundCookieExpiresAt: number | null;
  /** When the session was bound to its device key. */
  boundAt: number | null;
  /** The user's own name for the device ("Work laptop"), or null (migration 0007). */
  name: string | null;
  /** The device's model from client hints ("Pixel 8"), or null (migration 0007). */
  deviceModel: string | null;
}

/** The signature algorithms a device-bound session key may use (DBSC). */
export type DeviceKeyAlg = "ES256" | "RS256";

/**
 * The app's own data kept with a session (a JSON object, bounded by `dataMaxBytes`), typed through
 * the keeper's generic: `createSessionKeeper<{ cartId: string }>(…)`.
 */
export type SessionData = Record<string, unknown>;

/** How a user proved who they are: their password, a code mailed to them, or a passkey. */
export type AuthFactor = "password" | "email_code" | "passkey";

/** A session as apps and pages see it: no secret hash, `current` marks the requesting device. */
export interface Session {
  id: string;
  userId: string;
  current: boolean;
  status: SessionStatus;
  endReason: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  /** When it ends if unused: the earlier of the idle deadline and the absolute lifetime. */
  expiresAt: Date;
  endedAt: Date | null;
  ip: string;
  lastIp: string;
  userAgent: string;
  browser: { name: string | null; version: string | null };
  os: { name: string | null; version: string | null };
  device: { type: string | null; model: string | null };
  location: Location | null;
  /** The user's own name for the device ("Work laptop"), or null. */
  name: string | null;
  /** False: signed in without "remember me"; the cookie lasts until the browser closes. */
  rememberMe: boolean;
  /** When the session was last proven (sign-in, verification, re-authentication); null: never. */
  authenticatedAt: Date | null;
  /** How it was last proven. */
  authFactor: AuthFactor | null;
  /** Bound to a key held by this device's security chip (DBSC): a copied cookie soon stops working. */
  bound: boolean;
}

/** A registered passkey (WebAuthn credential): only its public key is kept. */
export interface PasskeyRecord {
  /** The credential id, base64url (up to 255 characters). */
  id: string;
  userId: string;
  /** The user's name for it, up to 64 characters. */
  name: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter at its last use (0 for most passkeys). */
  counter: number;
  /** How the browser can reach it (`internal`, `hybrid`, `usb` …). */
  transports: string[];
  createdAt: number;
  lastUsedAt: number | null;
}

/**
 * Single-use, short-lived state of a re-authentication bound to one session: a WebAuthn challenge
 * (`passkey_create`, `passkey_get`; the SHA-256 of the challenge) or a form post kept while the
 * user proves it's them (`kept_post`; the SHA-256 of the browser's key, the path and the
 * encrypted body).
 */
export interface ReauthState {
  id: string;
  sessionId: string;
  /** `passkey_signin`: a sign-in ceremony's challenge; `sessionId` is then the ceremony's id. */
  kind: "passkey_create" | "passkey_get" | "passkey_signin" | "kept_post";
  secretHash: string;
  path: string | null;
  data: string | null;
  expiresAt: number;
  usedAt: number | null;
  createdAt: number;
}

export type LoginEventType =
  | "sign_in"
  | "sign_in_failed"
  | "sign_in_blocked"
  | "sign_out"
  | "session_revoked"
  | "session_expired"
  | "token_rotated"
  | "verification_sent"
  | "verification_approved"
  | "verification_denied"
  | "verification_failed"
  | "locked_out"
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
  | "ip_allow_removed"
  | (string & {});

/** One entry of a user's login history. `userId` is null for attempts on unknown accounts. */
export interface LoginEvent {
  id: string;
  userId: string | null;
  sessionId: string | null;
  type: LoginEventType;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  deviceType: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  createdAt: number;
}

/** What the core needs to know of a request. Adapters build it; every field is hostile input. */
export interface RequestInfo {
  cookieHeader: string | null | undefined;
  /** The client IP, already resolved with the trustProxy rules (see `resolveClientIp`). */
  ip: string;
  userAgent: string | null | undefined;
  /**
   * The User-Agent Client Hint headers, read only when asked (at sign-in). Optional: without them
   * the User-Agent alone names the device.
   */
  readonly clientHints?: ClientHintHeaders | null;
  /** Whether the request arrived over HTTPS (decides `Secure` and the `__Host-` prefix). */
  secure: boolean;
}
