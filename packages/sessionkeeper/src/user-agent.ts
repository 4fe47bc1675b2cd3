import Bowser from "bowser";
import { type ClientHintHeaders, mergeHints, parseClientHints } from "./client-hints.js";

/** What the devices page shows of a User-Agent, parsed once at sign-in. */
export interface DeviceInfo {
  userAgent: string;
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  deviceType: string | null;
  /** The device's model from client hints ("Pixel 8"); null without them. */
  deviceModel: string | null;
}

export const DEFAULT_USER_AGENT_LIMIT = 512;

function clean(value: unknown, max = 64): string | null {
  if (typeof value !== "string") return null;
  // Keep printable text only: parsed parts come from the request and end up in pages and mail.
  const text = value
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(0, max);
  return text.length > 0 ? text : null;
}

/**
 * Parses a User-Agent, capped first: bowser throws on an empty string and long input costs time.
 * Client hints, when the browser sent them, win part by part (they tell Windows 11 from 10, the
 * real macOS version, the phone's model). Never throws; unknown parts are null.
 */
export function parseUserAgent(
  raw: string | null | undefined,
  limit = DEFAULT_USER_AGENT_LIMIT,
  hints?: ClientHintHeaders | null,
): DeviceInfo {
  const parsed = parseUserAgentOnly(raw, limit);
  return hints ? mergeHints(parsed, parseClientHints(hints)) : parsed;
}

function parseUserAgentOnly(raw: string | null | undefined, limit: number): DeviceInfo {
  const userAgent =
    typeof raw === "string" ? raw.replace(/[\u0000-\u001f\u007f]/g, "").slice(0, limit) : "";
  const empty: DeviceInfo = {
    userAgent,
    browserName: null,
    browserVersion: null,
    osName: null,
    osVersion: null,
    deviceType: null,
    deviceModel: null,
  };
  if (userAgent.trim().length === 0) return empty;
  try {
    const parsed = Bowser.parse(userAgent);
    return {
      userAgent,
      browserName: clean(parsed.browser.name),
      browserVersion: clean(parsed.browser.version, 32),
      osName: clean(parsed.os.name),
      osVersion: clean(parsed.os.version, 32),
      deviceType: clean(parsed.platform.type, 16),
      deviceModel: null,
    };
  } catch {
    return empty;
  }
}
