import { parseDuration } from "sessionkeeper";

/** The reference app's settings, read from the environment (see apps/demo/README.md). */
export interface DemoConfig {
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string | null;
  trustProxy: false | number | "loopback" | string[];
  idleTimeout: number | undefined;
  absoluteTimeout: number | undefined;
  /** How long a proof of identity lets dangerous actions through (sliding). Default 2h (the library's). */
  reauthWindow: number | undefined;
  newDeviceVerification: "off" | "new-ip" | "new-device";
  signinAlerts: "new-device" | "every" | "off";
  lockoutMaxFailures: number;
  /** Failures from one client IP (over all accounts) before it is locked out. Default 10 × LOCKOUT_MAX_FAILURES. */
  lockoutMaxFailuresPerIp: number | null;
  smtpUrl: string | null;
  /** Where links in mail point. Default http://HOST:PORT. */
  publicUrl: string | null;
  /** Global deny rules added at start-up (comma list of addresses or CIDRs). */
  ipDenyList: string[];
  /** At most this many active sessions per user (the oldest ends). Default: no cap. */
  sessionLimit: number | null;
  /** Device-bound sessions (DBSC): `off`, `opportunistic` (the demo's default) or `required`. */
  dbsc: "off" | "opportunistic" | "required";
  /** How long a bound cookie lasts before the browser must sign a new challenge. Default 10m. */
  dbscCookieTtl: number | undefined;
}

/** Thrown for a bad setting; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === "") return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(
    `${name} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`,
  );
}

function duration(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const ms = parseDuration(value);
  if (ms === null)
    throw new ConfigError(
      `${name} must be a duration such as 90s, 30m or 7d (got ${JSON.stringify(value)})`,
    );
  return ms;
}

function integer(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(
      `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return Number(value);
}

function trustProxy(value: string | undefined): DemoConfig["trustProxy"] {
  if (value === undefined || value === "" || value === "off" || value === "false") return false;
  if (value === "loopback") return "loopback";
  if (/^\d+$/.test(value)) return Number(value);
  const list = value
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new ConfigError(
      "TRUST_PROXY must be off, a hop count, loopback, or a comma list of CIDRs",
    );
  return list;
}

function publicUrl(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
  } catch {
    // fall through to the error below
  }
  throw new ConfigError(
    `PUBLIC_URL must be an http(s) origin such as https://app.example.com (got ${JSON.stringify(value)})`,
  );
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  return {
    port: integer("PORT", env.PORT, 3000, 0, 65535),
    host: env.HOST || "127.0.0.1",
    databaseUrl: env.DATABASE_URL || "sqlite:./data/app.db",
    redisUrl: env.REDIS_URL || null,
    trustProxy: trustProxy(env.TRUST_PROXY),
    idleTimeout: duration("SESSION_IDLE_TIMEOUT", env.SESSION_IDLE_TIMEOUT),
    absoluteTimeout: duration("SESSION_ABSOLUTE_TIMEOUT", env.SESSION_ABSOLUTE_TIMEOUT),
    reauthWindow: duration("REAUTH_WINDOW", env.REAUTH_WINDOW),
    newDeviceVerification: oneOf(
      "NEW_DEVICE_VERIFICATION",
      env.NEW_DEVICE_VERIFICATION,
      ["off", "new-ip", "new-device"] as const,
      "new-device",
    ),
    signinAlerts: oneOf(
      "SIGNIN_ALERTS",
      env.SIGNIN_ALERTS,
      ["new-device", "every", "off"] as const,
      "new-device",
    ),
    lockoutMaxFailures: integer("LOCKOUT_MAX_FAILURES", env.LOCKOUT_MAX_FAILURES, 5, 1, 1000),
    lockoutMaxFailuresPerIp: env.LOCKOUT_MAX_FAILURES_PER_IP
      ? integer("LOCKOUT_MAX_FAILURES_PER_IP", env.LOCKOUT_MAX_FAILURES_PER_IP, 0, 1, 100_000)
      : null,
    smtpUrl: env.SMTP_URL || null,
    publicUrl: publicUrl(env.PUBLIC_URL),
    ipDenyList: (env.IP_DENYLIST ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean),
    sessionLimit: env.SESSION_LIMIT
      ? integer("SESSION_LIMIT", env.SESSION_LIMIT, 0, 1, 1000)
      : null,
    dbsc: oneOf("DBSC", env.DBSC, ["off", "opportunistic", "required"] as const, "opportunistic"),
    dbscCookieTtl: duration("DBSC_COOKIE_TTL", env.DBSC_COOKIE_TTL),
  };
}
