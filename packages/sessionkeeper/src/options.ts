import { compileTrustProxy, type ProxyTrust, type TrustProxy } from "./client-ip.js";
import { isValidCookieName } from "./cookies.js";
import {
  type DeviceBindingOptions,
  type ResolvedDeviceBinding,
  resolveDeviceBinding,
} from "./device-binding/options.js";
import { type Duration, describe, requireDuration } from "./duration.js";
import type { SessionEventListener } from "./events.js";
import type { GeoProvider } from "./geo/provider.js";
import type { SessionCache } from "./storage/cache-contract.js";
import type { SessionStore } from "./storage/contract.js";

export interface SessionKeeperOptions {
  /** Where sessions live, e.g. `sqliteStorage(db)`. Required. */
  storage: SessionStore;
  /** A session unused this long ends as `expired` (reason `idle_timeout`). Default "14d". */
  idleTimeout?: Duration;
  /** A session ends this long after sign-in whatever its use (`absolute_timeout`). Default "90d". */
  absoluteTimeout?: Duration;
  /**
   * Idle timeout of a session signed in without remember-me (`rememberMe: false`), whose cookie
   * lasts until the browser closes: browsers that restore tabs keep such cookies, so the server
   * ends the session sooner. Default "2h"; never longer than idleTimeout.
   */
  browserSessionIdleTimeout?: Duration;
  /** Largest session data, in bytes of its JSON text (1 to 65535). Default 4096. */
  dataMaxBytes?: number;
  /** Last-seen time and IP are written at most once per interval. Default "60s", capped at a quarter of idleTimeout. */
  touchInterval?: Duration;
  /** Session cookie name; `__Host-` is prefixed over HTTPS. Default "sk_session". */
  cookieName?: string;
  /** Long-lived cookie that recognises a returning device. Default "sk_device". */
  deviceCookieName?: string;
  /** Lifetime of the device cookie. Default "400d" (the most browsers keep). */
  deviceCookieMaxAge?: Duration;
  /** `"auto"` (default): Secure and `__Host-` when the request came over HTTPS. */
  secure?: "auto" | boolean;
  /** Which proxies may report the client IP. Default false: the socket address. */
  trustProxy?: TrustProxy;
  /** Paths with no session handling at all: a string matches itself and everything below it. */
  excludePaths?: ReadonlyArray<string | RegExp>;
  /** Geolocation for sign-ins and IP changes. */
  geo?: GeoProvider;
  /** Cache of validated sessions shared with a revocation broadcast (see `sessionkeeper/redis`). */
  cache?: SessionCache;
  /** Subscribed at once to every event (the same as `keeper.subscribe(onEvent)`). Errors are ignored. */
  onEvent?: SessionEventListener;
  /** The clock, in epoch ms. Tests move it. Default `Date.now`. */
  now?: () => number;
  /** Longest User-Agent kept. Default 512. */
  userAgentMaxLength?: number;
  /**
   * How long a proof of identity (sign-in or re-authentication) lets sensitive actions through,
   * sliding on each one (`requireRecentAuth` without its own `maxAge`). Default "2h".
   */
  reauthWindow?: Duration;
  /**
   * Device-bound sessions (DBSC): a session bound to a key in the device's security chip is
   * refused without its short-lived bound cookie, which only the key can renew. Default off.
   * See docs/device-bound-sessions.md.
   */
  deviceBinding?: DeviceBindingOptions;
}

export interface ResolvedOptions {
  storage: SessionStore;
  idleTimeout: number;
  absoluteTimeout: number;
  browserSessionIdleTimeout: number;
  dataMaxBytes: number;
  touchInterval: number;
  cookieName: string;
  deviceCookieName: string;
  deviceCookieMaxAge: number;
  secure: "auto" | boolean;
  trust: ProxyTrust;
  excludePaths: ReadonlyArray<string | RegExp>;
  geo: GeoProvider | undefined;
  cache: SessionCache | undefined;
  onEvent: SessionEventListener | undefined;
  now: () => number;
  userAgentMaxLength: number;
  reauthWindow: number;
  deviceBinding: ResolvedDeviceBinding;
}

const KNOWN = new Set([
  "storage",
  "idleTimeout",
  "absoluteTimeout",
  "browserSessionIdleTimeout",
  "dataMaxBytes",
  "touchInterval",
  "cookieName",
  "deviceCookieName",
  "deviceCookieMaxAge",
  "secure",
  "trustProxy",
  "excludePaths",
  "geo",
  "cache",
  "onEvent",
  "now",
  "userAgentMaxLength",
  "reauthWindow",
  "deviceBinding",
]);

/** Validates options once at start-up. A bad value throws a TypeError that names the option. */
export function resolveOptions(options: SessionKeeperOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null)
    throw new TypeError("options must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not a sessionkeeper option`);
  }
  const storage = options.storage as SessionStore | undefined;
  if (!storage || typeof storage.findSession !== "function") {
    throw new TypeError("options.storage must be a session store, such as sqliteStorage(db)");
  }
  const idleTimeout = requireDuration("idleTimeout", options.idleTimeout ?? "14d");
  const absoluteTimeout = requireDuration("absoluteTimeout", options.absoluteTimeout ?? "90d");
  const browserSessionIdleTimeout = Math.min(
    requireDuration("browserSessionIdleTimeout", options.browserSessionIdleTimeout ?? "2h"),
    idleTimeout,
  );
  const dataMaxBytes = options.dataMaxBytes ?? 4096;
  // The data column is TEXT, which holds 65,535 bytes on MySQL/MariaDB.
  if (!Number.isInteger(dataMaxBytes) || dataMaxBytes < 1 || dataMaxBytes > 65_535) {
    throw new TypeError(
      `options.dataMaxBytes must be a whole number of bytes from 1 to 65535 (got ${describe(dataMaxBytes)})`,
    );
  }
  // Keep the touch interval well below the idle timeout, so a session in use never idles out.
  const touchInterval = Math.min(
    requireDuration("touchInterval", options.touchInterval ?? "60s"),
    Math.max(1, Math.floor(idleTimeout / 4)),
  );
  const cookieName = options.cookieName ?? "sk_session";
  const deviceCookieName = options.deviceCookieName ?? "sk_device";
  for (const [name, value] of [
    ["cookieName", cookieName],
    ["deviceCookieName", deviceCookieName],
  ] as const) {
    if (
      typeof value !== "string" ||
      !isValidCookieName(value) ||
      value.length > 64 ||
      /^__(host|secure)-/i.test(value)
    ) {
      throw new TypeError(
        `options.${name} must be a cookie name of letters, digits and -_ without a __Host-/__Secure- prefix (got ${describe(value)})`,
      );
    }
  }
  if (cookieName === deviceCookieName)
    throw new TypeError("options.deviceCookieName must differ from options.cookieName");
  const secure = options.secure ?? "auto";
  if (secure !== "auto" && typeof secure !== "boolean") {
    throw new TypeError(`options.secure must be "auto", true or false (got ${describe(secure)})`);
  }
  const excludePaths = options.excludePaths ?? [];
  if (
    !Array.isArray(excludePaths) ||
    !excludePaths.every((p) => p instanceof RegExp || (typeof p === "string" && p.startsWith("/")))
  ) {
    throw new TypeError(
      'options.excludePaths must be a list of paths starting with "/" or RegExps',
    );
  }
  const now = options.now ?? Date.now;
  if (typeof now !== "function")
    throw new TypeError("options.now must be a function returning epoch milliseconds");
  if (options.onEvent !== undefined && typeof options.onEvent !== "function")
    throw new TypeError("options.onEvent must be a function");
  if (options.geo !== undefined && typeof options.geo?.lookup !== "function")
    throw new TypeError("options.geo must have a lookup(ip) method");
  const userAgentMaxLength = options.userAgentMaxLength ?? 512;
  if (
    !Number.isInteger(userAgentMaxLength) ||
    userAgentMaxLength < 16 ||
    userAgentMaxLength > 512
  ) {
    throw new TypeError("options.userAgentMaxLength must be an integer from 16 to 512");
  }
  return {
    storage,
    idleTimeout,
    absoluteTimeout,
    browserSessionIdleTimeout,
    dataMaxBytes,
    touchInterval,
    cookieName,
    deviceCookieName,
    deviceCookieMaxAge: requireDuration("deviceCookieMaxAge", options.deviceCookieMaxAge ?? "400d"),
    secure,
    trust: compileTrustProxy(options.trustProxy),
    excludePaths,
    geo: options.geo,
    cache: options.cache,
    onEvent: options.onEvent,
    now,
    userAgentMaxLength,
    reauthWindow: requireDuration("reauthWindow", options.reauthWindow ?? "2h"),
    deviceBinding: resolveDeviceBinding(options.deviceBinding, cookieName),
  };
}
