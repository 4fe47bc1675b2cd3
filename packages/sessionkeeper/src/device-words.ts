import { isIP } from "node:net";
import { isPrivateIp } from "./ip.js";

// Devices and places in words, for pages and mail alike.

/** The parsed device fields shared by sessions and login events. */
export interface DeviceParts {
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
}

// Windows reports its kernel version; people know the marketing one (10 and 11 share "NT 10.0").
const WINDOWS_VERSIONS: Record<string, string> = {
  "10.0": "10",
  "6.3": "8.1",
  "6.2": "8",
  "6.1": "7",
  "6.0": "Vista",
  "5.1": "XP",
};

/** "Chrome 120 on macOS 10.15": browser and major version on OS and version; parts it lacks are left out. */
export function describeDevice(parts: DeviceParts): string {
  const browser = parts.browserName
    ? joinWords(parts.browserName, majorVersion(parts.browserVersion))
    : null;
  const os = parts.osName
    ? joinWords(parts.osName, osVersion(parts.osName, parts.osVersion))
    : null;
  if (browser && os) return `${browser} on ${os}`;
  if (browser) return browser;
  if (os) return `Unknown browser on ${os}`;
  return "Unknown device";
}

/** "Firefox on Windows": the short form used in confirmations. */
export function summarizeDevice(parts: DeviceParts): string {
  if (parts.browserName && parts.osName) return `${parts.browserName} on ${parts.osName}`;
  return parts.browserName ?? (parts.osName ? `a device on ${parts.osName}` : "a device");
}

/** "Desktop", "Mobile", "Tablet", … from bowser's platform type; null when unknown. */
export function describeDeviceType(type: string | null): string | null {
  if (!type) return null;
  return type.charAt(0).toUpperCase() + type.slice(1);
}

function majorVersion(version: string | null): string | null {
  return version ? (version.split(".")[0] ?? null) : null;
}

function osVersion(name: string, version: string | null): string | null {
  if (!version) return null;
  if (name === "Windows") {
    const nt = /^NT (\d+\.\d+)$/.exec(version)?.[1];
    return nt !== undefined ? (WINDOWS_VERSIONS[nt] ?? null) : version;
  }
  return version.split(".").slice(0, 2).join(".");
}

function joinWords(...words: Array<string | null>): string {
  return words.filter((w): w is string => Boolean(w)).join(" ");
}

const REGION_NAMES = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

/**
 * "Berlin, Land Berlin, Germany"; "Local network" for loopback and private addresses (they have no
 * public location); "Unknown" when the provider did not know the address.
 */
export function describeLocation(
  location: { city: string | null; region: string | null; country: string | null } | null,
  ip: string | null,
): string {
  if (ip && isIP(ip) !== 0 && isPrivateIp(ip)) return "Local network";
  if (!location) return "Unknown";
  const parts: string[] = [];
  for (const part of [location.city, location.region, countryName(location.country)]) {
    // Skip a repeated name ("Singapore, Singapore").
    if (part && part !== parts[parts.length - 1]) parts.push(part);
  }
  return parts.length > 0 ? parts.join(", ") : "Unknown";
}

function countryName(code: string | null): string | null {
  if (!code) return null;
  if (!/^[A-Z]{2}$/.test(code)) return code;
  try {
    return REGION_NAMES.of(code) ?? code;
  } catch {
    return code;
  }
}
