import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

// A form post kept while the user proves it's them. The body may hold anything the form asked for
// (a new password, an address), so the database only ever sees it encrypted: the key comes from a
// secret that lives in a short-lived cookie of that browser alone, and only its SHA-256 is stored.

/** How long a kept post waits for the re-authentication: five minutes. */
export const KEPT_POST_TTL = 5 * 60_000;
/** The largest form body kept (bytes); a larger one is answered with the 401 challenge alone. */
export const KEPT_POST_MAX_BYTES = 16_384;
/** The longest path kept (the column is varchar(512)). */
export const KEPT_POST_MAX_PATH = 512;
/** How long a WebAuthn challenge can be answered. */
export const CHALLENGE_TTL = 5 * 60_000;

/** The query a resumed post carries: `POST /path?sk_resume=1` replays the kept body once. */
export const RESUME_PARAM = "sk_resume";

function keyOf(secret: string, id: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, id, "sessionkeeper kept post", 32));
}

/** AES-256-GCM of the body under a key derived from the browser's secret: base64url(iv|tag|data). */
export function sealBody(body: string, secret: string, id: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyOf(secret, id), iv);
  const data = Buffer.concat([cipher.update(body, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64url");
}

/** The body back, or null when the data was altered or the key is not the one it was sealed with. */
export function openBody(sealed: string, secret: string, id: string): string | null {
  try {
    const raw = Buffer.from(sealed, "base64url");
    if (raw.length < 28) return null;
    const decipher = createDecipheriv("aes-256-gcm", keyOf(secret, id), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/** Whether a request path may be kept: local, bounded, printable. */
export function keepablePath(path: string): boolean {
  return (
    path.length > 0 &&
    path.length <= KEPT_POST_MAX_PATH &&
    path.startsWith("/") &&
    !path.startsWith("//") &&
    /^[\x21-\x7e]+$/.test(path)
  );
}
