import { hash, randomBytes, timingSafeEqual } from "node:crypto";

// 16 random bytes of public id, 32 of secret: the secret carries 256 bits, well above the 128 required.
const ID_BYTES = 16;
const SECRET_BYTES = 32;
const ID_LENGTH = 22; // base64url of 16 bytes, unpadded
const SECRET_LENGTH = 43; // base64url of 32 bytes, unpadded
// No capture groups: test() then two slices allocates less than exec() on every request.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

export interface SessionToken {
  id: string;
  secret: string;
}

/** A random public id (also used for events, rules and verifications). */
export function randomId(): string {
  return randomBytes(ID_BYTES).toString("base64url");
}

/** A fresh session token. The secret leaves this process only inside the Set-Cookie value. */
export function generateToken(): SessionToken {
  return { id: randomId(), secret: randomBytes(SECRET_BYTES).toString("base64url") };
}

export function formatToken(token: SessionToken): string {
  return `${token.id}.${token.secret}`;
}

/** Parses `<id>.<secret>`; anything else (wrong length, alphabet, %-escapes) is null. */
export function parseToken(value: string | null | undefined): SessionToken | null {
  if (typeof value !== "string" || value.length !== ID_LENGTH + 1 + SECRET_LENGTH) return null;
  if (!TOKEN_PATTERN.test(value)) return null;
  return { id: value.slice(0, ID_LENGTH), secret: value.slice(ID_LENGTH + 1) };
}

/** SHA-256 hex of a secret: what is stored instead of the secret. */
export function hashSecret(secret: string): string {
  return hash("sha256", secret, "hex");
}

// Scratch space for the comparison, reused: JavaScript runs one comparison at a time, and both
// buffers are overwritten in full before each. They only ever hold hashes, never a secret.
const presentedScratch = Buffer.alloc(64);
const storedScratch = Buffer.alloc(64);

/**
 * Compares a presented secret with a stored hash in constant time: the stored value derives from a
 * secret, so an early-exit comparison would leak how many leading bytes matched.
 */
export function verifySecret(secret: string, storedHash: string): boolean {
  if (storedHash.length !== 64) return false;
  // The hex digests are compared as bytes: a hex string out of the one-shot hash and two writes into
  // fixed buffers cost half as much as a fresh digest Buffer and a decoded copy of the stored hash.
  presentedScratch.write(hashSecret(secret), 0, "latin1");
  storedScratch.write(storedHash, 0, "latin1");
  return timingSafeEqual(presentedScratch, storedScratch);
}
