/** Cookie attributes sessionkeeper writes. `Domain` is never set: cookies stay host-only. */
export interface CookieAttributes {
  maxAge?: number; // seconds; 0 clears
  secure: boolean;
  httpOnly?: boolean;
  sameSite?: "Lax" | "Strict";
}

const NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE_PATTERN = /^[A-Za-z0-9_.-]*$/;
// Browsers send at most a few KB of cookies; anything far beyond that is hostile. Scan no further.
const MAX_HEADER_LENGTH = 16_384;

export function isValidCookieName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/**
 * Every value a `Cookie` header carries under `name`, undecoded. Session tokens never need
 * decoding, and refusing to decode means a bad %-escape cannot throw.
 */
export function readCookieValues(header: string | null | undefined, name: string): string[] {
  if (!header) return [];
  const text = header.length > MAX_HEADER_LENGTH ? header.slice(0, MAX_HEADER_LENGTH) : header;
  const values: string[] = [];
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    values.push(value);
  }
  return values;
}

/**
 * The single value of a cookie, or null when it is absent or appears more than once. Two values
 * under one name mean a second cookie was planted (another path or a sibling subdomain): trust neither.
 * Every request runs this, so it scans the header in place rather than splitting it; it answers
 * exactly as `readCookieValues` would (the tests compare the two on random headers).
 */
export function readSingleCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  const text = header.length > MAX_HEADER_LENGTH ? header.slice(0, MAX_HEADER_LENGTH) : header;
  // Most requests without the cookie end here.
  if (text.indexOf(name) === -1) return null;
  let found: string | null = null;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(";", start);
    if (end === -1) end = text.length;
    const eq = text.indexOf("=", start);
    if (eq !== -1 && eq < end) {
      let nameStart = start;
      let nameEnd = eq;
      while (nameStart < nameEnd && isTrimmed(text.charCodeAt(nameStart))) nameStart++;
      while (nameEnd > nameStart && isTrimmed(text.charCodeAt(nameEnd - 1))) nameEnd--;
      if (nameEnd - nameStart === name.length && text.startsWith(name, nameStart)) {
        if (found !== null) return null;
        let valueStart = eq + 1;
        let valueEnd = end;
        while (valueStart < valueEnd && isTrimmed(text.charCodeAt(valueStart))) valueStart++;
        while (valueEnd > valueStart && isTrimmed(text.charCodeAt(valueEnd - 1))) valueEnd--;
        if (
          valueEnd - valueStart >= 2 &&
          text.charCodeAt(valueStart) === 0x22 &&
          text.charCodeAt(valueEnd - 1) === 0x22
        ) {
          valueStart++;
          valueEnd--;
        }
        found = text.slice(valueStart, valueEnd);
      }
    }
    start = end + 1;
  }
  return found;
}

/** The characters `String.prototype.trim` removes. */
function isTrimmed(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** A `Set-Cookie` header value: Path=/, HttpOnly and SameSite=Lax unless told otherwise; no Domain. */
export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  if (!NAME_PATTERN.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  if (!VALUE_PATTERN.test(value)) throw new TypeError("invalid cookie value");
  let out = `${name}=${value}; Path=/`;
  if (attrs.maxAge !== undefined) {
    out += `; Max-Age=${Math.max(0, Math.floor(attrs.maxAge))}`;
    if (attrs.maxAge <= 0) out += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
  }
  if (attrs.httpOnly !== false) out += "; HttpOnly";
  if (attrs.secure) out += "; Secure";
  out += `; SameSite=${attrs.sameSite ?? "Lax"}`;
  return out;
}
