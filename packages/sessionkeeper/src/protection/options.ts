import { type Duration, describe, requireDuration } from "../duration.js";
import type { Mailer } from "../mail/mailer.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { FailureCounter, ProtectionStore } from "../storage/protection-store.js";

/** When a sign-in is held until the user confirms it by email. */
export type VerificationPolicy = "off" | "new-ip" | "new-device";
/** Which sign-ins send the user an alert email. */
export type AlertPolicy = "new-device" | "every" | "off";

export interface GuardOptions {
  keeper: SessionKeeper<object>;
  /** Where rules, confirmations, known devices and counters live, e.g. `protectionStore(storage.db)`. */
  store: ProtectionStore;
  /** Required unless both `verification` and `alerts` are "off". */
  mailer?: Mailer;
  /** Hold sign-ins from a new device (or IP) until confirmed by email. Default "off". */
  verification?: VerificationPolicy;
  /** Email the user on sign-ins from a new device, on every sign-in, or never. Default "new-device". */
  alerts?: AlertPolicy;
  /** Failed sign-ins counted per account and per IP; `false` turns lockout off. */
  lockout?:
    | false
    | {
        /** Failures per account in the window before sign-in answers 429. Default 5. */
        maxFailures?: number;
        /** Failures per client IP (over all accounts) in the window. Default 4 × maxFailures. */
        maxFailuresPerIp?: number;
        /** Default "15m"; a window opens at the first failure. */
        window?: Duration;
        /** Where counts live. Default: the store's counters table. */
        counter?: FailureCounter;
        /**
         * Where counts live while `counter` fails (throws, rejects, or does not answer within 1 s),
         * so that sign-in goes on when, say, the Redis behind `redis.counters` is down. Default:
         * `store` (the SQL table, shared by every instance) when `counter` is something else;
         * `false` for none, so a failing counter fails the sign-in (503). Counts do not move
         * between the two: during an outage the window starts afresh in the fallback, and counts
         * made in `counter` before it are not seen (see docs/deploying.md).
         */
        fallbackCounter?: FailureCounter | false;
        /**
         * After `counter` failed, how long every call uses the fallback before one call tries
         * `counter` again; when it answers, counting goes back to it. Default "5s".
         */
        retryCounterAfter?: Duration;
      };
  /** At most `max` active sessions per user: at the cap, end the oldest (default) or refuse. */
  sessionLimit?: { max: number; onLimit?: "end-oldest" | "refuse" };
  /** Flag a sign-in that moved faster than `maxKmh` (default 1000) since the previous one; needs coordinates from the geo provider. */
  impossibleTravel?: boolean | { maxKmh?: number; minKm?: number };
  /** Shown in mail and pages. Default "your account". */
  appName?: string;
  /** Origin of the links in mail, e.g. "https://app.example.com". Required when mail is on. */
  baseUrl?: string;
  /**
   * Paths of the link pages and of the page that security mail points to. Defaults
   * "/signin/approve", "/signin/not-me" and "/account/security".
   */
  paths?: { approve?: string; notMe?: string; security?: string };
  /**
   * The address of a user's security mail: a password change, the account starting to refuse
   * unknown devices after failed sign-ins, a session ended for guessing the password, a "this
   * wasn't me" report. Null or undefined: no such mail for that user. Without this option those
   * mails are not sent (sign-in alerts and codes still go to the address given at sign-in).
   */
  addressOf?: (userId: string) => string | null | undefined | Promise<string | null | undefined>;
  /** Digits in a code, 6 to 8. Default 8. */
  codeLength?: number;
  /** How long codes and verification links work, 1 to 60 minutes. Default "10m". */
  codeTtl?: Duration;
  /** Wrong codes before the pending session is locked out. Default 5. */
  maxCodeAttempts?: number;
  /** How long the "this wasn't me" link of an alert works. Default "7d". */
  alertLinkTtl?: Duration;
  /** Rules changed on another instance are picked up within this. Default "30s". */
  ruleCacheTtl?: Duration;
  /**
   * Tells other instances when IP rules change, so they reload at once instead of within
   * `ruleCacheTtl`. The Redis cache (`openRedis(...).cache`) fits as it is.
   */
  broadcast?: RuleBroadcast;
  /** Allow rules per account. Default 50. */
  maxRulesPerAccount?: number;
}

export interface ResolvedGuardOptions {
  keeper: SessionKeeper<object>;
  store: ProtectionStore;
  mailer: Mailer | null;
  verification: VerificationPolicy;
  alerts: AlertPolicy;
  lockout: {
    maxFailures: number;
    maxFailuresPerIp: number;
    window: number;
    counter: FailureCounter;
    fallbackCounter: FailureCounter | null;
    retryCounterAfter: number;
  } | null;
  sessionLimit: { max: number; onLimit: "end-oldest" | "refuse" } | null;
  impossibleTravel: { maxKmh: number; minKm: number } | null;
  appName: string;
  baseUrl: string;
  paths: { approve: string; notMe: string; security: string };
  addressOf:
    | ((userId: string) => string | null | undefined | Promise<string | null | undefined>)
    | null;
  codeLength: number;
  codeTtl: number;
  maxCodeAttempts: number;
  alertLinkTtl: number;
  ruleCacheTtl: number;
  maxRulesPerAccount: number;
  broadcast: RuleBroadcast | null;
}

/** A channel to every app instance: publish a topic, hear every instance's (see `RedisCache`). */
export interface RuleBroadcast {
  publish(topic: string, data: unknown): Promise<unknown>;
  onMessage(listener: (topic: string, data: unknown) => void): unknown;
}

const KNOWN = new Set([
  "keeper",
  "store",
  "mailer",
  "verification",
  "alerts",
  "lockout",
  "sessionLimit",
  "impossibleTravel",
  "appName",
  "baseUrl",
  "paths",
  "codeLength",
  "codeTtl",
  "maxCodeAttempts",
  "alertLinkTtl",
  "ruleCacheTtl",
  "broadcast",
  "maxRulesPerAccount",
  "addressOf",
]);

/** Validates guard options once at start-up; a bad value throws a TypeError naming it. */
export function resolveGuardOptions(options: GuardOptions): ResolvedGuardOptions {
  if (typeof options !== "object" || options === null)
    throw new TypeError("createGuard(options) needs an options object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not a guard option`);
  }
  if (typeof options.keeper?.signIn !== "function")
    throw new TypeError("options.keeper must be a SessionKeeper");
  if (typeof options.store?.listIpRules !== "function")
    throw new TypeError(
      "options.store must be a protection store, such as protectionStore(storage.db)",
    );
  const verification = oneOf("verification", options.verification ?? "off", [
    "off",
    "new-ip",
    "new-device",
  ] as const);
  const alerts = oneOf("alerts", options.alerts ?? "new-device", [
    "new-device",
    "every",
    "off",
  ] as const);
  const mailOn = verification !== "off" || alerts !== "off";
  const mailer = options.mailer ?? null;
  if (mailer !== null && typeof mailer.send !== "function")
    throw new TypeError("options.mailer must have a send(message) method");
  if (mailOn && mailer === null) {
    throw new TypeError(
      'options.mailer is required unless options.verification and options.alerts are both "off"',
    );
  }
  const baseUrl = resolveBaseUrl(options.baseUrl, mailOn);
  const codeTtl = requireDuration("codeTtl", options.codeTtl ?? "10m");
  if (codeTtl < 60_000 || codeTtl > 3_600_000)
    throw new TypeError("options.codeTtl must be from 1 to 60 minutes");
  return {
    keeper: options.keeper,
    store: options.store,
    mailer,
    verification,
    alerts,
    lockout: resolveLockout(options.lockout, options.store),
    sessionLimit: resolveSessionLimit(options.sessionLimit),
    impossibleTravel: resolveTravel(options.impossibleTravel),
    appName: oneLine("appName", options.appName ?? "your account", 100),
    baseUrl,
    paths: {
      approve: resolvePath("paths.approve", options.paths?.approve ?? "/signin/approve"),
      notMe: resolvePath("paths.notMe", options.paths?.notMe ?? "/signin/not-me"),
      security: resolvePath("paths.security", options.paths?.security ?? "/account/security"),
    },
    addressOf: resolveAddressOf(options.addressOf),
    codeLength: integer("codeLength", options.codeLength ?? 8, 6, 8),
    codeTtl,
    maxCodeAttempts: integer("maxCodeAttempts", options.maxCodeAttempts ?? 5, 1, 20),
    alertLinkTtl: requireDuration("alertLinkTtl", options.alertLinkTtl ?? "7d"),
    ruleCacheTtl: requireDuration("ruleCacheTtl", options.ruleCacheTtl ?? "30s"),
    broadcast: resolveBroadcast(options.broadcast),
    maxRulesPerAccount: integer("maxRulesPerAccount", options.maxRulesPerAccount ?? 50, 1, 10_000),
  };
}

function resolveLockout(
  value: GuardOptions["lockout"],
  store: ProtectionStore,
): ResolvedGuardOptions["lockout"] {
  if (value === false) return null;
  if (value !== undefined && (typeof value !== "object" || value === null))
    throw new TypeError("options.lockout must be an object or false");
  const maxFailures = integer("lockout.maxFailures", value?.maxFailures ?? 5, 1, 1000);
  const counter = value?.counter ?? store;
  if (!isFailureCounter(counter))
    throw new TypeError("options.lockout.counter must be a FailureCounter");
  const fallback = value?.fallbackCounter ?? (counter === store ? false : store);
  if (fallback !== false && !isFailureCounter(fallback))
    throw new TypeError("options.lockout.fallbackCounter must be a FailureCounter or false");
  return {
    maxFailures,
    maxFailuresPerIp: integer(
      "lockout.maxFailuresPerIp",
      value?.maxFailuresPerIp ?? maxFailures * 4,
      1,
      100_000,
    ),
    window: requireDuration("lockout.window", value?.window ?? "15m"),
    counter,
    fallbackCounter: fallback === false || fallback === counter ? null : fallback,
    retryCounterAfter: requireDuration(
      "lockout.retryCounterAfter",
      value?.retryCounterAfter ?? "5s",
    ),
  };
}

function isFailureCounter(value: unknown): value is FailureCounter {
  const c = value as Partial<FailureCounter> | null;
  return (
    typeof c?.increment === "function" &&
    typeof c.read === "function" &&
    typeof c.reset === "function"
  );
}

function resolveSessionLimit(
  value: GuardOptions["sessionLimit"],
): ResolvedGuardOptions["sessionLimit"] {
  if (value === undefined) return null;
  if (typeof value !== "object" || value === null)
    throw new TypeError("options.sessionLimit must be { max, onLimit }");
  return {
    max: integer("sessionLimit.max", value.max, 1, 10_000),
    onLimit: oneOf("sessionLimit.onLimit", value.onLimit ?? "end-oldest", [
      "end-oldest",
      "refuse",
    ] as const),
  };
}

function resolveTravel(
  value: GuardOptions["impossibleTravel"],
): ResolvedGuardOptions["impossibleTravel"] {
  if (value === undefined || value === false) return null;
  const given = value === true ? {} : value;
  if (typeof given !== "object" || given === null)
    throw new TypeError("options.impossibleTravel must be true, false or { maxKmh, minKm }");
  return {
    maxKmh: integer("impossibleTravel.maxKmh", given.maxKmh ?? 1000, 1, 100_000),
    minKm: integer("impossibleTravel.minKm", given.minKm ?? 100, 0, 20_000),
  };
}

function resolveBaseUrl(value: unknown, required: boolean): string {
  if (value === undefined && !required) return "";
  const message =
    'options.baseUrl must be the http(s) origin the links in mail point to, such as "https://app.example.com"';
  if (typeof value !== "string" || value.length > 200) throw new TypeError(message);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(message);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(message);
  // Keep a base path (an app mounted under /app) but never a trailing slash, query or fragment.
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function resolvePath(name: string, value: unknown): string {
  if (typeof value !== "string" || !/^\/[A-Za-z0-9/_.-]{0,100}$/.test(value)) {
    throw new TypeError(`options.${name} must be a path such as "/signin/approve"`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value))
    return value as T;
  throw new TypeError(
    `options.${name} must be ${allowed.map((a) => JSON.stringify(a)).join(", ")} (got ${describe(value)})`,
  );
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)
    return value;
  throw new TypeError(
    `options.${name} must be an integer from ${min} to ${max} (got ${describe(value)})`,
  );
}

function oneLine(name: string, value: unknown, max: number): string {
  if (typeof value === "string" && value.length > 0 && value.length <= max && !/[\r\n]/.test(value))
    return value;
  throw new TypeError(`options.${name} must be one line of 1 to ${max} characters`);
}

function resolveAddressOf(value: unknown): ResolvedGuardOptions["addressOf"] {
  if (value === undefined || value === null) return null;
  if (typeof value !== "function")
    throw new TypeError("options.addressOf must be a function (userId) => address or null");
  return value as ResolvedGuardOptions["addressOf"];
}

function resolveBroadcast(value: unknown): RuleBroadcast | null {
  if (value === undefined || value === null) return null;
  const b = value as Partial<RuleBroadcast>;
  if (typeof b.publish !== "function" || typeof b.onMessage !== "function") {
    throw new TypeError("options.broadcast must have publish(topic, data) and onMessage(listener)");
  }
  return b as RuleBroadcast;
}
