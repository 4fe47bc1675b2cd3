import { randomInt } from "node:crypto";
import { formatToken, generateToken, hashSecret, parseToken, verifySecret } from "../token.js";

/** A one-time code of `length` decimal digits from the CSPRNG (leading zeros kept). */
export function generateCode(length: number): string {
  let code = "";
  for (let i = 0; i < length; i++) code += String(randomInt(0, 10));
  return code;
}

/** The digits a person typed, without spaces or dashes; null for anything that cannot be a code. */
export function normalizeCode(value: unknown, length: number): string | null {
  if (typeof value !== "string" || value.length > 32) return null;
  const digits = value.replace(/[\s-]/g, "");
  return digits.length === length && /^\d+$/.test(digits) ? digits : null;
}

/**
 * A link token `<verification id>.<secret>` for a mail URL and the hash stored for it. It is not
 * the session token: it can only approve or end the one session its record is bound to.
 */
export function generateLinkToken(verificationId: string): { token: string; hash: string } {
  const { secret } = generateToken();
  return { token: formatToken({ id: verificationId, secret }), hash: hashSecret(secret) };
}

/** Splits a presented link token; null when malformed (bounded, strict alphabet). */
export function parseLinkToken(value: unknown): { id: string; secret: string } | null {
  return parseToken(typeof value === "string" ? value : null);
}

/** True when `presented` hashes to `storedHash`, compared in constant time: the hash derives from a secret. */
export function matchesHash(presented: string, storedHash: string | null): boolean {
  return storedHash !== null && verifySecret(presented, storedHash);
}

export { hashSecret };
