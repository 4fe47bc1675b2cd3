import { isIP } from "node:net";
import { isPrivateIp } from "./ip.js";
import type { Session } from "./types.js";

// Devices and places in words, for pages and mail alike.

/** The parsed device fields shared by sessions and login events. */
export interface DeviceParts {
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  /** The model from client hints ("Pixel 8"): named instead of the system when known. */
  deviceModel?: string | null;
  /** The user's own name for the device ("Work laptop"): it leads, the device follows. */
  name?: string | null;
}

/** The parts of a session's public view, for {@link describeDevice}. */
export function sessionDeviceParts(session: Session): DeviceParts {
  return {
    browserName: session.browser.name,
    browserVersion: session.browser.version,
    osName: session.os.name,
    osVersion: session.os.version,
    deviceModel: session.device.model,
    name: session.name,
  };
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

/**
 * "Chrome 131 on Windows 11", "Chrome 131 on Pixel 8": browser and major version on the model,
 * or on the OS and version; parts it lacks are left out. With the user's name for the device:
 * "Work laptop (Chrome 131 on Windows 11)". Every page, notice and mail names devices through here.
 */
export function describeDevice(parts: DeviceParts): string {
  return withName(parts.name, deviceWords(parts));
}

function deviceWords(parts: DeviceParts): string {
  const browser = parts.browserName
    ? joinWords(parts.browserName, majorVersion(parts.browserVersion))
    : null;
  const os = parts.deviceModel
    ? parts.deviceModel
    : parts.osName
      ? joinWords(parts.osName, osVersion(parts.osName, parts.osVersion))
      : null;
  if (browser && os) return `${browser} on ${os}`;
  if (browser) return browser;
  if (os) return `Unknown browser on ${os}`;
  return "Unknown device";
}

/** "Firefox on Windows", "Work laptop (Firefox on Windows)": the short form used in confirmations. */
export function summarizeDevice(parts: DeviceParts): string {
  const short =
    parts.browserName && parts.osName
      ? `${parts.browserName} on ${parts.osName}`
      : (parts.browserName ?? (parts.osName ? `a device on ${parts.osName}` : "a device"));
  return withName(parts.name, short);
}

function withName(name: string | null | undefined, device: string): string {
  return name ? `${name} (${device})` : device;
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
  const [major = "", minor] = version.split(".");
  // Since macOS 11 (and for Android, iOS), the major number is the name people know.
  if (name === "macOS" && Number(major) >= 11) return major;
  return minor === undefined || /^0+$/.test(minor) ? major : `${major}.${minor}`;
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
