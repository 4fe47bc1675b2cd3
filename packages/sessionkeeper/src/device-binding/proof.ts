import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeProtectedHeader, jwtVerify } from "jose";
import type { DeviceKeyAlg } from "../types.js";

/** Why a DBSC proof was refused; recorded in the history as the failure's reason. */
export type ProofFailure =
  | "malformed_proof"
  | "wrong_type"
  | "unsupported_algorithm"
  | "wrong_algorithm"
  | "invalid_key"
  | "bad_signature"
  | "missing_challenge";

export class ProofError extends Error {
  constructor(readonly reason: ProofFailure) {
    super(`DBSC proof refused: ${reason}`);
  }
}

/** The most a `Secure-Session-Response` JWT may be: an RSA-4096 key and signature fit in 3 KB. */
export const MAX_PROOF_LENGTH = 4096;
const MAX_CHALLENGE_LENGTH = 128;
const TYP = "dbsc+jwt";
const ALGS: readonly string[] = ["ES256", "RS256"];
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** A registration proof that verified with the key it carries. */
export interface RegistrationProof {
  alg: DeviceKeyAlg;
  /** The public JWK, reduced to its public members, as JSON text. */
  key: string;
  /** The `jti` claim: the challenge it answers. */
  challenge: string;
}

/**
 * Verifies a registration proof: `typ: dbsc+jwt`, `alg` ES256 or RS256 (`none` refused: such a
 * session stays unbound), a public `jwk` header of the right kind and size (P-256 only; RSA of
 * 2048 to 4096 bits), and a signature by that key (jose's `jwtVerify`, the algorithm pinned).
 */
export async function verifyRegistrationProof(jwt: string): Promise<RegistrationProof> {
  const header = headerOf(jwt);
  const alg = header.alg;
  if (typeof alg !== "string" || !ALGS.includes(alg)) throw new ProofError("unsupported_algorithm");
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk))
    throw new ProofError("invalid_key");
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw new ProofError("invalid_key");
  const publicJwk =
    alg === "ES256"
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, n: jwk.n, e: jwk.e };
  const key = importKey(publicJwk, alg as DeviceKeyAlg);
  const challenge = await verifyWith(jwt, key, alg as DeviceKeyAlg);
  return { alg: alg as DeviceKeyAlg, key: JSON.stringify(publicJwk), challenge };
}

/**
 * Verifies a refresh proof with the key registered for the session and only its algorithm: a
 * proof signed another way (or with `alg: none`) is refused before any signature check. A `jwk`
 * the proof may carry is ignored; the stored key decides.
 */
export async function verifyRefreshProof(
  jwt: string,
  storedKey: string,
  alg: DeviceKeyAlg,
): Promise<{ challenge: string }> {
  const header = headerOf(jwt);
  if (header.alg !== alg) throw new ProofError("wrong_algorithm");
  let jwk: unknown;
  try {
    jwk = JSON.parse(storedKey);
  } catch {
    throw new ProofError("invalid_key");
  }
  const challenge = await verifyWith(jwt, importKey(jwk as Record<string, unknown>, alg), alg);
  return { challenge };
}

function headerOf(jwt: string): Record<string, unknown> {
  if (jwt.length === 0 || jwt.length > MAX_PROOF_LENGTH) throw new ProofError("malformed_proof");
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwt) as Record<string, unknown>;
  } catch {
    throw new ProofError("malformed_proof");
  }
  if (header.typ !== TYP) throw new ProofError("wrong_type");
  return header;
}

/** Node's own JWK import, then the size rules: P-256 for ES256, RSA 2048–4096 bits for RS256. */
function importKey(jwk: Record<string, unknown>, alg: DeviceKeyAlg): KeyObject {
  let key: KeyObject;
  try {
    // biome-ignore lint/suspicious/noExplicitAny: Node's JsonWebKey type; the members were checked above
    key = createPublicKey({ key: jwk as any, format: "jwk" });
  } catch {
    throw new ProofError("invalid_key");
  }
  const details = key.asymmetricKeyDetails ?? {};
  const ok =
    alg === "ES256"
      ? key.asymmetricKeyType === "ec" && details.namedCurve === "prime256v1"
      : key.asymmetricKeyType === "rsa" &&
        (details.modulusLength ?? 0) >= 2048 &&
        (details.modulusLength ?? 0) <= 4096;
  if (!ok) throw new ProofError("invalid_key");
  return key;
}

async function verifyWith(jwt: string, key: KeyObject, alg: DeviceKeyAlg): Promise<string> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jwt, key, { algorithms: [alg], typ: TYP }));
  } catch {
    throw new ProofError("bad_signature");
  }
  const jti = payload.jti;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_CHALLENGE_LENGTH)
    throw new ProofError("missing_challenge");
  return jti;
}
