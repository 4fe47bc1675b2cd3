// The Structured Field (RFC 9651) pieces DBSC uses: strings, parsed and written. Only printable
// ASCII is allowed in an sf-string; `"` and `\` are escaped with a backslash.

/** Reads an sf-string item (parameters after it are ignored, as the draft says); null if malformed. */
export function parseSfString(value: string | null | undefined, maxLength: number): string | null {
  if (typeof value !== "string" || value.length > maxLength + 1024) return null;
  const text = value.trim();
  if (text[0] !== '"') return null;
  let out = "";
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const next = text[i + 1];
      if (next !== '"' && next !== "\\") return null;
      out += next;
      i++;
    } else if (c === 0x22) {
      const rest = text.slice(i + 1);
      // Nothing, or parameters (`;name=value…`), may follow the closing quote.
      if (rest !== "" && !rest.startsWith(";")) return null;
      return out.length > 0 && out.length <= maxLength ? out : null;
    } else if (c < 0x20 || c > 0x7e) return null;
    else out += text[i];
  }
  return null; // no closing quote
}

/** Writes an sf-string; the caller passes only printable ASCII (ids, challenges, paths). */
export function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
