import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  formatToken,
  generateToken,
  hashSecret,
  parseToken,
  randomId,
  verifySecret,
} from "../src/token.js";

describe("token", () => {
  it("generates a 22-char id and a secret of at least 128 random bits, all base64url", () => {
    const token = generateToken();
    assert.match(token.id, /^[A-Za-z0-9_-]{22}$/);
    assert.match(token.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Buffer.from(token.secret, "base64url").length * 8 >= 128);
  });

  it("never repeats an id or a secret", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { id, secret } = generateToken();
      assert.ok(!seen.has(id) && !seen.has(secret));
      seen.add(id).add(secret);
    }
    assert.match(randomId(), /^[A-Za-z0-9_-]{22}$/);
  });

  it("formats as <id>.<secret> and parses back", () => {
    const token = generateToken();
    const text = formatToken(token);
    assert.equal(text, `${token.id}.${token.secret}`);
    assert.deepEqual(parseToken(text), token);
  });

  it("parses nothing but the exact shape", () => {
    const { id, secret } = generateToken();
    const bad = [
      null,
      undefined,
      "",
      id,
      `${id}.`,
      `.${secret}`,
      `${id}${secret}`,
      `${id}.${secret}A`,
      `${id}.${secret.slice(1)}`,
      `${id.slice(1)}.${secret}A`,
      `${id}..${secret.slice(1)}`,
      `${id}.${secret.slice(0, -1)}=`,
      `${id}.${secret.slice(0, -1)}+`,
      `${id}.${secret.slice(0, -1)}/`,
      `${id}.${secret.slice(0, -3)}%41`,
      ` ${id}.${secret.slice(1)}`,
      `${id}.${secret.slice(0, -1)}\u00e9`,
      `${id}.${secret}`.repeat(100),
      "A".repeat(8192),
    ];
    for (const value of bad)
      assert.equal(parseToken(value), null, JSON.stringify(value)?.slice(0, 80));
  });

  it("stores the SHA-256 hex of the secret, never the secret", () => {
    const { secret } = generateToken();
    const hash = hashSecret(secret);
    assert.equal(hash, createHash("sha256").update(secret).digest("hex"));
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(
      !hash.includes(secret) && !hash.includes(Buffer.from(secret, "base64url").toString("hex")),
    );
  });

  it("verifies only the matching secret, and refuses malformed stored hashes", () => {
    const { secret } = generateToken();
    const other = generateToken().secret;
    const hash = hashSecret(secret);
    assert.equal(verifySecret(secret, hash), true);
    assert.equal(verifySecret(other, hash), false);
    assert.equal(verifySecret(secret, ""), false);
    assert.equal(verifySecret(secret, hash.slice(0, 63)), false);
    assert.equal(verifySecret(secret, `${hash}00`), false);
    assert.equal(verifySecret(secret, "z".repeat(64)), false);
    assert.equal(verifySecret(secret, secret), false);
    // One character off at either end, or 64 characters outside Latin-1: no match.
    const flip = (c: string) => (c === "0" ? "1" : "0");
    assert.equal(verifySecret(secret, `${flip(hash[0] as string)}${hash.slice(1)}`), false);
    assert.equal(verifySecret(secret, `${hash.slice(0, 63)}${flip(hash[63] as string)}`), false);
    assert.equal(verifySecret(secret, "\u0130".repeat(64)), false);
    // Stored hashes are lowercase hex as hashSecret writes them; anything else fails closed.
    assert.equal(verifySecret(secret, hash.toUpperCase()), hash === hash.toUpperCase());
  });

  it("answers each comparison on its own inputs: a mismatch leaves nothing behind for the next", () => {
    const tokens = Array.from({ length: 50 }, () => generateToken().secret);
    const hashes = tokens.map(hashSecret);
    for (let i = 0; i < tokens.length; i++) {
      const secret = tokens[i] as string;
      assert.equal(verifySecret(secret, hashes[(i + 1) % tokens.length] as string), false);
      assert.equal(verifySecret(secret, hashes[i] as string), true);
    }
  });
});
