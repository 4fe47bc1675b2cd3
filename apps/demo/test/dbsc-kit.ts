import { webcrypto } from "node:crypto";
import type { Client } from "./harness.js";

// Binds a demo client's session to a fresh P-256 key, as a DBSC browser would after the
// `Secure-Session-Registration` header of its sign-in (the library's own tests cover the
// protocol in depth; here it is only a way to show a bound session on the pages).

const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Registers a key for `client`'s session from the sign-in response's header; returns the status. */
export async function bindDevice(client: Client, signIn: Response): Promise<number> {
  const header = signIn.headers.get("secure-session-registration") ?? "";
  const m = /path="([^"]+)";challenge="([^"]+)"/.exec(header);
  if (!m) throw new Error(`no registration offered: ${header}`);
  const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey("jwk", keys.publicKey);
  const input = `${part({ alg: "ES256", typ: "dbsc+jwt", jwk: { kty, crv, x, y } })}.${part({ jti: m[2] })}`;
  const signature = await webcrypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    keys.privateKey,
    Buffer.from(input),
  );
  const proof = `${input}.${Buffer.from(signature).toString("base64url")}`;
  const res = await client.request("POST", m[1] as string, {
    headers: { "secure-session-response": `"${proof}"` },
  });
  return res.status;
}
