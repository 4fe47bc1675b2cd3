import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseSfString, sfString } from "../src/device-binding/headers.js";
import {
  BINDING_REFUSED,
  createSessionKeeper,
  type DeviceBindingMode,
  type DeviceBindingResult,
  type DeviceKeyAlg,
  type DeviceSessionConfig,
  type RequestInfo,
  type SessionBinding,
  type SessionKeeper,
} from "../src/index.js";
import { newKeyPair, signProof } from "./helpers/dbsc-client.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

// The keeper's device-binding methods without HTTP: option checks, the sentinel adapters rely on,
// and what registration stores. The HTTP protocol itself runs in test/http/dbsc-suite.ts.

function info(cookies: string[] = []): RequestInfo {
  return { cookieHeader: cookies.join("; "), ip: "192.0.2.5", userAgent: "test", secure: false };
}

function pair(setCookie: string): string {
  return setCookie.split(";")[0] as string;
}

describe("device binding in the keeper", () => {
  let t: TempSqlite;
  let keeper: SessionKeeper;
  const clock = { now: Date.UTC(2026, 11, 2, 12) };
  before(async () => {
    t = await tempSqlite("sk-binding-");
    const mode: DeviceBindingMode = "opportunistic";
    keeper = createSessionKeeper({
      storage: t.store,
      now: () => clock.now,
      deviceBinding: { mode },
    });
    await keeper.migrate();
  });
  after(() => t.cleanup());

  it("refuses bad settings at start-up, naming them", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ mode: "always" }, /deviceBinding\.mode/],
      [{ cookieTtl: "soon" }, /cookieTtl/],
      [{ cookieTtl: "1s" }, /at least 10s/],
      [{ cookieName: "__Host-x" }, /cookieName/],
      [{ cookieName: "sk_session" }, /cookieName/],
      [{ refreshPath: 'x"y' }, /refreshPath/],
      [{ registrationPath: "/same", refreshPath: "/same" }, /must differ/],
      [{ colour: "blue" }, /deviceBinding\.colour/],
    ];
    for (const [deviceBinding, message] of bad)
      assert.throws(
        () => createSessionKeeper({ storage: t.store, deviceBinding: deviceBinding as never }),
        message,
      );
  });

  it("binds through the keeper; validateRequest then tells a missing bound cookie apart", async () => {
    const signed = await keeper.signIn("user-k", info());
    const [name, value] = signed.headers[0] ?? [];
    assert.equal(name, "Secure-Session-Registration");
    const challenge = /challenge="([^"]+)"/.exec(value ?? "")?.[1] as string;
    const session = pair(signed.setCookies[0] as string);
    const key = await newKeyPair("RS256");
    const proof = await signProof(key, challenge, { jwk: key.publicJwk });
    const result: DeviceBindingResult = await keeper.bindDevice(info([session]), proof);
    assert.equal(result.kind, "bound");
    if (result.kind !== "bound") return;
    const config: DeviceSessionConfig = result.config;
    assert.equal(config.session_identifier, signed.record.id);
    const alg: DeviceKeyAlg | null = result.record.deviceKeyAlg;
    assert.equal(alg, "RS256");
    // Only the public key and the hash of the bound cookie are stored.
    const stored = (await t.store.findSession(signed.record.id)) as NonNullable<
      Awaited<ReturnType<typeof t.store.findSession>>
    >;
    const binding: SessionBinding = {
      key: stored.deviceKey as string,
      alg: stored.deviceKeyAlg as DeviceKeyAlg,
      cookieHash: stored.boundCookieHash as string,
      cookieExpiresAt: stored.boundCookieExpiresAt as number,
      boundAt: stored.boundAt as number,
    };
    assert.deepEqual(Object.keys(JSON.parse(binding.key)).sort(), ["e", "kty", "n"]);
    const bound = pair(result.setCookies[0] as string);
    assert.ok(!JSON.stringify(stored).includes(bound.split("=")[1] as string));
    assert.equal(binding.cookieExpiresAt, clock.now + 10 * 60_000);

    assert.equal(await keeper.validateRequest(info([session])), BINDING_REFUSED);
    assert.equal(await keeper.validate(info([session])), null);
    assert.ok(await keeper.validate(info([session, bound])));
    // A bound request on SQLite is answered without a promise, like an unbound one.
    const outcome = keeper.beginRequest(
      {
        method: "GET",
        path: "/",
        header: (name) => (name === "cookie" ? `${session}; ${bound}` : null),
        socketAddress: "192.0.2.5",
        encrypted: false,
      },
      () => {},
    );
    assert.ok(!(outcome instanceof Promise) && outcome.kind === "next");
    assert.equal(outcome.context.deviceBinding, "bound");
    assert.deepEqual(
      keeper.clearCookies(info()).map((c) => c.split("=")[0]),
      ["sk_session", "sk_bound"],
    );
  });

  it("reads and writes structured-field strings strictly", () => {
    assert.equal(parseSfString('"abc";id="x"', 10), "abc");
    assert.equal(parseSfString('"a\\"b"', 10), 'a"b');
    for (const bad of ["abc", '"abc', '"a\\nb"', '"abc" x', '""', `"${"a".repeat(11)}"`, '"é"'])
      assert.equal(parseSfString(bad, 10), null, bad);
    assert.equal(sfString('a"b\\c'), '"a\\"b\\\\c"');
  });
});
