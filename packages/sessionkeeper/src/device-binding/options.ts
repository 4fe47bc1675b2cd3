import { isValidCookieName } from "../cookies.js";
import { type Duration, describe, requireDuration } from "../duration.js";

/**
 * Device-bound sessions (DBSC, W3C draft): `off` (default) ignores them; `opportunistic` offers
 * binding to every browser at sign-in and, once a session is bound, refuses it without its
 * short-lived bound cookie; `required` also refuses active sessions that are not bound.
 */
export type DeviceBindingMode = "off" | "opportunistic" | "required";

export interface DeviceBindingOptions {
  /** Default `"off"`. */
  mode?: DeviceBindingMode;
  /** How long a bound cookie is accepted before the browser must sign a fresh challenge. Default `10m`. */
  cookieTtl?: Duration;
  /** How long a challenge may be answered. Default `5m`. */
  challengeTtl?: Duration;
  /** The bound cookie's name (`__Host-` prefixed over HTTPS). Default `sk_bound`. */
  cookieName?: string;
  /** Where browsers register a key (POST). Default `/sessionkeeper/dbsc/registration`. */
  registrationPath?: string;
  /** Where browsers refresh the bound cookie (POST). Default `/sessionkeeper/dbsc/refresh`. */
  refreshPath?: string;
}

export interface ResolvedDeviceBinding {
  mode: DeviceBindingMode;
  cookieTtl: number;
  challengeTtl: number;
  cookieName: string;
  registrationPath: string;
  refreshPath: string;
}

const KNOWN = new Set([
  "mode",
  "cookieTtl",
  "challengeTtl",
  "cookieName",
  "registrationPath",
  "refreshPath",
]);
const MODES: readonly DeviceBindingMode[] = ["off", "opportunistic", "required"];
// Paths travel in structured header strings and JSON: plain URL path characters only, no quotes.
const PATH_PATTERN = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,200}$/;

export function resolveDeviceBinding(
  options: DeviceBindingOptions | undefined,
  sessionCookieName: string,
): ResolvedDeviceBinding {
  const o = options ?? {};
  if (typeof o !== "object" || o === null)
    throw new TypeError("options.deviceBinding must be an object");
  for (const key of Object.keys(o))
    if (!KNOWN.has(key)) throw new TypeError(`options.deviceBinding.${key} is not an option`);
  const mode = o.mode ?? "off";
  if (!MODES.includes(mode))
    throw new TypeError(
      `options.deviceBinding.mode must be "off", "opportunistic" or "required" (got ${describe(mode)})`,
    );
  const cookieTtl = requireDuration("deviceBinding.cookieTtl", o.cookieTtl ?? "10m");
  const challengeTtl = requireDuration("deviceBinding.challengeTtl", o.challengeTtl ?? "5m");
  if (cookieTtl < 10_000 || challengeTtl < 10_000)
    throw new TypeError("options.deviceBinding cookieTtl and challengeTtl must be at least 10s");
  const cookieName = o.cookieName ?? "sk_bound";
  if (
    typeof cookieName !== "string" ||
    !isValidCookieName(cookieName) ||
    cookieName.length > 64 ||
    /^__(host|secure)-/i.test(cookieName) ||
    cookieName === sessionCookieName
  )
    throw new TypeError(
      `options.deviceBinding.cookieName must be a cookie name of letters, digits and -_, without a prefix, other than the session cookie's (got ${describe(cookieName)})`,
    );
  const registrationPath = o.registrationPath ?? "/sessionkeeper/dbsc/registration";
  const refreshPath = o.refreshPath ?? "/sessionkeeper/dbsc/refresh";
  for (const [name, value] of [
    ["registrationPath", registrationPath],
    ["refreshPath", refreshPath],
  ] as const)
    if (typeof value !== "string" || !PATH_PATTERN.test(value))
      throw new TypeError(
        `options.deviceBinding.${name} must be a path starting with "/" (got ${describe(value)})`,
      );
  if (registrationPath === refreshPath)
    throw new TypeError("options.deviceBinding registrationPath and refreshPath must differ");
  return { mode, cookieTtl, challengeTtl, cookieName, registrationPath, refreshPath };
}
