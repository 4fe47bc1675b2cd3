// User-Agent Client Hints (https://wicg.github.io/ua-client-hints/): the browser's own words for
// its brand, full version, platform version and model, which a frozen User-Agent no longer tells
// (every Windows 11 says "Windows NT 10.0", every Mac "Mac OS X 10_15_7"). The headers are as
// hostile as any other: bounded, parsed as RFC 8941 structured fields, and dropped when malformed.

/** The high-entropy hints pages ask for; the low-entropy ones (`Sec-CH-UA-Platform`) come anyway. */
export const ACCEPT_CH = "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, Sec-CH-UA-Full-Version-List";

/** The raw hint headers of a request (absent: null). */
export interface ClientHintHeaders {
  platform: string | null;
  platformVersion: string | null;
  model: string | null;
  fullVersionList: string | null;
}

/** What the hints tell, in the words the User-Agent parser uses ("Chrome", "Windows"). */
export interface ClientHints {
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  /** For Windows the marketing version ("11", "10"), else the platform's own ("15.1.0"). */
  osVersion: string | null;
  model: string | null;
}

// Longer headers are not parsed at all: real ones are well under 200 bytes.
const HEADER_LIMIT = 256;
const MAX_BRANDS = 8;

/** Reads the hint headers of a request through a header getter (only at sign-in, never per request). */
export function readClientHintHeaders(
  header: (name: string) => string | null | undefined,
): ClientHintHeaders {
  const read = (name: string) => {
    const value = header(name);
    return typeof value === "string" ? value : null;
  };
  return {
    platform: read("sec-ch-ua-platform"),
    platformVersion: read("sec-ch-ua-platform-version"),
    model: read("sec-ch-ua-model"),
    fullVersionList: read("sec-ch-ua-full-version-list"),
  };
}

// The hint's platform names, as bowser names the same systems.
const PLATFORMS: Record<string, string> = {
  Windows: "Windows",
  macOS: "macOS",
  Android: "Android",
  iOS: "iOS",
  "Chrome OS": "Chrome OS",
  "Chromium OS": "Chrome OS",
  Linux: "Linux",
};

// Brand names as bowser spells them, so a hinted browser reads like an unhinted one.
const BRANDS: Record<string, string> = {
  "Google Chrome": "Chrome",
  "Microsoft Edge": "Microsoft Edge",
  "Samsung Internet": "Samsung Internet for Android",
};

/** Parses the hints; a part that is absent, malformed or out of bounds is null. Never throws. */
export function parseClientHints(headers: ClientHintHeaders | null | undefined): ClientHints {
  const platform = headers ? sfString(headers.platform) : null;
  const osName = platform !== null ? (PLATFORMS[platform] ?? null) : null;
  const brand = headers ? pickBrand(sfList(headers.fullVersionList)) : null;
  const model = headers ? sfString(headers.model) : null;
  return {
    browserName: brand?.name ?? null,
    browserVersion: brand?.version ?? null,
    osName,
    osVersion: osName ? platformVersion(osName, headers?.platformVersion ?? null) : null,
    model: model && printable(model) ? model.slice(0, 64) : null,
  };
}

/**
 * Hints refine the User-Agent's guess where both name the same thing: the browser's full version
 * when the hinted brand is the browser the User-Agent names, the system's version (Windows 11,
 * macOS 15) and the model when the hinted platform is the system it names. Where they disagree
 * the User-Agent wins: the two then come from different places (an overridden or spoofed
 * User-Agent, an embedding app), and a name made of both would describe no real device.
 */
export function mergeHints<T extends ClientHintsTarget>(parsed: T, hints: ClientHints): T {
  // Never fill in what the User-Agent does not name: a User-Agent no parser knows is shown as it
  // is, not replaced by the name of whatever engine sent the hints.
  const sameBrowser = hints.browserName !== null && hints.browserName === parsed.browserName;
  const sameOs = hints.osName !== null && hints.osName === parsed.osName;
  return {
    ...parsed,
    browserName: sameBrowser ? hints.browserName : parsed.browserName,
    browserVersion: sameBrowser
      ? (hints.browserVersion ?? parsed.browserVersion)
      : parsed.browserVersion,
    osName: sameOs ? hints.osName : parsed.osName,
    osVersion: sameOs ? (hints.osVersion ?? parsed.osVersion) : parsed.osVersion,
    deviceModel: sameOs ? hints.model : null,
  };
}

interface ClientHintsTarget {
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  deviceModel: string | null;
}

function platformVersion(osName: string, raw: string | null): string | null {
  const version = sfString(raw);
  if (version === null || !/^\d{1,5}(\.\d{1,5}){0,3}$/.test(version)) return null;
  const major = Number(version.split(".")[0]);
  if (osName === "Windows") {
    // Microsoft's rule: platform version 13 and up is Windows 11; 1 to 12 is Windows 10; 0 is older
    // (the User-Agent already tells 7, 8 and 8.1 apart).
    if (major >= 13) return "11";
    return major >= 1 ? "10" : null;
  }
  // Chrome OS reports its build number, which means nothing to people.
  if (osName === "Chrome OS" || osName === "Linux") return null;
  return version;
}

interface Brand {
  name: string;
  version: string | null;
}

/** The browser among the brands: not a GREASE entry, and Chromium only when nothing else is named. */
function pickBrand(items: SfItem[] | null): Brand | null {
  if (!items) return null;
  let chromium: Brand | null = null;
  for (const item of items) {
    const name = item.value;
    if (/not.?a.?brand/i.test(name) || !printable(name) || name.length > 48) continue;
    const raw = item.params.get("v") ?? null;
    const version = raw !== null && /^\d{1,6}(\.\d{1,6}){0,3}$/.test(raw) ? raw : null;
    if (name === "Chromium") chromium ??= { name, version };
    else return { name: BRANDS[name] ?? name, version };
  }
  return chromium;
}

function printable(text: string): boolean {
  return text.trim().length > 0;
}

interface SfItem {
  value: string;
  params: Map<string, string>;
}

/** An RFC 8941 sf-string, or null when absent, too long or malformed. */
export function sfString(raw: string | null | undefined): string | null {
  if (typeof raw !== "string" || raw.length > HEADER_LIMIT) return null;
  const text = raw.trim();
  const parsed = readString(text, 0);
  return parsed && parsed.end === text.length ? parsed.value : null;
}

/** An RFC 8941 list of sf-strings with parameters (`"A";v="1", "B";v="2"`), or null when malformed. */
export function sfList(raw: string | null | undefined): SfItem[] | null {
  if (typeof raw !== "string" || raw.length > HEADER_LIMIT) return null;
  const text = raw.trim();
  const items: SfItem[] = [];
  let at = 0;
  while (at < text.length) {
    const value = readString(text, at);
    if (!value) return null;
    at = value.end;
    const params = new Map<string, string>();
    while (text[at] === ";") {
      at = skipSpaces(text, at + 1);
      const key = /^[a-z*][a-z0-9_.*-]{0,15}/.exec(text.slice(at, at + 16))?.[0];
      if (!key) return null;
      at += key.length;
      if (text[at] === "=") {
        const param = text[at + 1] === '"' ? readString(text, at + 1) : readToken(text, at + 1);
        if (!param) return null;
        params.set(key, param.value);
        at = param.end;
      } else params.set(key, "?1");
    }
    items.push({ value: value.value, params });
    if (items.length > MAX_BRANDS) return null;
    at = skipSpaces(text, at);
    if (at === text.length) break;
    if (text[at] !== ",") return null;
    at = skipSpaces(text, at + 1);
    if (at === text.length) return null; // a trailing comma
  }
  return items;
}

function readString(text: string, start: number): { value: string; end: number } | null {
  if (text[start] !== '"') return null;
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const next = text[i + 1];
      if (next !== '"' && next !== "\\") return null;
      value += next;
      i++;
    } else if (c === 0x22) return { value, end: i + 1 };
    else if (c < 0x20 || c > 0x7e)
      return null; // sf-strings are printable ASCII only
    else value += text[i];
  }
  return null; // unterminated
}

function readToken(text: string, start: number): { value: string; end: number } | null {
  const token = /^[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,63}/.exec(text.slice(start, start + 64));
  return token ? { value: token[0], end: start + token[0].length } : null;
}

function skipSpaces(text: string, at: number): number {
  while (text[at] === " " || text[at] === "\t") at++;
  return at;
}
