import { webcrypto } from "node:crypto";
import { type JWK, SignJWT } from "jose";

// A protocol-level stand-in for a DBSC browser (W3C draft, "Send request" and "Create session"):
// it keeps cookies, reacts to Secure-Session-Registration and Secure-Session-Challenge, holds a
// WebCrypto key pair (ES256 or RS256) whose private half is never exported, and signs dbsc+jwt
// proofs with jose. It also lets tests misbehave on purpose (other keys, algorithms, replays).

export type ClientAlg = "ES256" | "RS256";

export interface SessionConfig {
  session_identifier: string;
  refresh_url: string;
  scope: { include_site: boolean; scope_specification: unknown[] };
  credentials: Array<{ type: string; name: string; attributes: string }>;
}

export interface KeyPair {
  alg: ClientAlg;
  privateKey: webcrypto.CryptoKey;
  publicJwk: JWK;
}

export async function newKeyPair(alg: ClientAlg, rsaBits = 2048): Promise<KeyPair> {
  const params =
    alg === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: rsaBits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        };
  // Not extractable: like a key in a TPM, only its public half can be read.
  const pair = (await webcrypto.subtle.generateKey(params, false, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const publicJwk = (await webcrypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  const { key_ops: _ops, ext: _ext, ...jwk } = publicJwk;
  return { alg, privateKey: pair.privateKey, publicJwk: jwk };
}

/** Signs a dbsc+jwt proof over `challenge`; `jwk` goes in the header (registration only). */
export function signProof(
  key: KeyPair,
  challenge: string,
  options: { jwk?: JWK; alg?: string } = {},
): Promise<string> {
  const header: Record<string, unknown> = { alg: options.alg ?? key.alg, typ: "dbsc+jwt" };
  if (options.jwk) header.jwk = options.jwk;
  return new SignJWT({ jti: challenge })
    .setProtectedHeader(header as { alg: string })
    .setIssuedAt()
    .sign(key.privateKey);
}

/** An unsigned `alg: none` proof, as a browser without a usable key would send. */
export function unsignedProof(challenge: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none", typ: "dbsc+jwt" })}.${part({ jti: challenge })}.`;
}

export function sfQuote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Reads `"value";id="…"` or `(ES256 RS256);path="…";challenge="…"` parameters and item. */
export function parseRegistration(
  header: string,
): { algs: string[]; path: string; challenge: string } | null {
  const m = /^\(([^)]*)\);path="([^"]*)";challenge="([^"]*)"/.exec(header.trim());
  return m ? { algs: (m[1] ?? "").split(" "), path: m[2] ?? "", challenge: m[3] ?? "" } : null;
}

export function parseChallenge(header: string): { challenge: string; id: string } | null {
  const m = /^"([^"]*)";id="([^"]*)"$/.exec(header.trim());
  return m ? { challenge: m[1] ?? "", id: m[2] ?? "" } : null;
}

export class DbscClient {
  readonly cookies = new Map<string, string>();
  key: KeyPair | null = null;
  config: SessionConfig | null = null;
  registration: { algs: string[]; path: string; challenge: string } | null = null;
  /** The last challenge the server sent for the session (the draft's "cached challenge"). */
  cachedChallenge: string | null = null;
  /** Every proof this client sent, for replay tests. */
  readonly sentProofs: string[] = [];

  /** Mutable: the same browser may talk to another instance of the app. */
  constructor(public baseUrl: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join("; ");
  }

  async send(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/145.0.0.0 Safari/537.36",
      ...init.headers,
    };
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    this.#absorb(res);
    return res;
  }

  #absorb(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const reg = res.headers.get("secure-session-registration");
    if (reg) this.registration = parseRegistration(reg);
    const challenge = res.headers.get("secure-session-challenge");
    const parsed = challenge ? parseChallenge(challenge) : null;
    if (parsed && (!this.config || parsed.id === this.config.session_identifier))
      this.cachedChallenge = parsed.challenge;
  }

  /** Registers a new key for the session the last registration header offered. */
  async register(alg: ClientAlg = "ES256", proof?: string): Promise<Response> {
    if (!this.registration) throw new Error("no Secure-Session-Registration received");
    this.key ??= await newKeyPair(alg);
    const jwt =
      proof ??
      (await signProof(this.key, this.registration.challenge, { jwk: this.key.publicJwk }));
    this.sentProofs.push(jwt);
    const res = await this.send("POST", this.registration.path, {
      headers: { "secure-session-response": sfQuote(jwt) },
    });
    if (res.status === 200) {
      const body = (await res.clone().json()) as SessionConfig;
      if (body.session_identifier) this.config = body;
    }
    return res;
  }

  /** One refresh request as the draft sends it: the id, and a proof over the cached challenge. */
  async refreshOnce(proof?: string | null): Promise<Response> {
    if (!this.config) throw new Error("not registered");
    const headers: Record<string, string> = {
      "sec-secure-session-id": sfQuote(this.config.session_identifier),
    };
    let jwt = proof;
    if (jwt === undefined && this.cachedChallenge && this.key)
      jwt = await signProof(this.key, this.cachedChallenge);
    if (jwt) {
      headers["secure-session-response"] = sfQuote(jwt);
      this.sentProofs.push(jwt);
    }
    return this.send("POST", this.config.refresh_url, { headers });
  }

  /** A full refresh: on 403, sign the new challenge and try again (once, as the draft says). */
  async refresh(): Promise<Response> {
    const first = await this.refreshOnce();
    if (first.status !== 403) return first;
    return this.refreshOnce();
  }
}

/**
 * Signs a proof with WebCrypto directly, bypassing jose's own checks: for keys jose would refuse
 * to sign with (an RSA key under 2048 bits), so the server's refusal is what the test sees.
 */
export async function rawProof(key: KeyPair, challenge: string, jwk: JWK): Promise<string> {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${part({ alg: key.alg, typ: "dbsc+jwt", jwk })}.${part({ jti: challenge })}`;
  const algorithm =
    key.alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5" };
  const signature = await webcrypto.subtle.sign(algorithm, key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
}
