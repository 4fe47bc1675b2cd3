/** The most a form body on the account pages may carry. Their forms send (next to) nothing. */
export const FORM_BODY_LIMIT = 16 * 1024;

/** Longest query string the pages read; anything longer is ignored, not parsed. */
const QUERY_LIMIT = 2048;

/**
 * Parses an `application/x-www-form-urlencoded` body. Another content type yields no fields: the
 * pages never need a multipart or JSON body, and guessing at one would widen what they accept.
 */
export function parseFormBody(
  bytes: Uint8Array,
  contentType: string | null | undefined,
  acceptsJson = false,
): URLSearchParams {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  if (acceptsJson && type === "application/json") return jsonFields(bytes);
  if (type !== "application/x-www-form-urlencoded") return new URLSearchParams();
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

/**
 * A JSON object's top-level string fields as form fields (null as ""); anything else, or invalid
 * JSON, yields no fields, which the route answers as a missing field (400).
 */
export function jsonFields(input: Uint8Array | unknown): URLSearchParams {
  const fields = new URLSearchParams();
  let value: unknown = input;
  if (input instanceof Uint8Array) {
    try {
      value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(input));
    } catch {
      return fields;
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fields;
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === "string") fields.append(key, field);
    else if (field === null) fields.append(key, "");
  }
  return fields;
}

/** The query string of a request target ("/a/b?x=1"), bounded. */
export function parseQuery(target: string): URLSearchParams {
  const at = target.indexOf("?");
  if (at === -1) return new URLSearchParams();
  const query = target.slice(at + 1);
  return query.length > QUERY_LIMIT ? new URLSearchParams() : new URLSearchParams(query);
}

/** True when a declared Content-Length already says the body is too large to read. */
export function declaresTooLarge(contentLength: string | null | undefined, limit: number): boolean {
  if (!contentLength) return false;
  const length = Number(contentLength);
  return !Number.isFinite(length) || length > limit;
}

/** Joins chunks read so far into one buffer. */
export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
