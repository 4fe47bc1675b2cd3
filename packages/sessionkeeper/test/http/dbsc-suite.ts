import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import type { DeviceBindingOptions } from "../../src/device-binding/options.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { countingStore, type StoreCalls, writeCalls } from "../helpers/counting-store.js";
import {
  DbscClient,
  newKeyPair,
  rawProof,
  sfQuote,
  signProof,
  unsignedProof,
} from "../helpers/dbsc-client.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";
import type { RunningApp, StartServer } from "./behaviour-suite.js";

const MINUTE = 60_000;
// Response bodies as the tests read them: any JSON, checked by assertions.
// biome-ignore lint/suspicious/noExplicitAny: test assertions read nested JSON fields
type Json = Record<string, any>;

/** The value, asserted present (a test step that needs it fails clearly otherwise). */
function must<T>(value: T | null | undefined): T {
  assert.ok(value !== null && value !== undefined, "expected a value");
  return value;
}
const T0 = Date.UTC(2026, 11, 2, 12);

interface Fixture extends RunningApp {
  keeper: SessionKeeper;
  clock: { now: number };
  calls: StoreCalls;
  sqlite: TempSqlite;
}

/**
 * The DBSC protocol through a real server on the adapter under test, played by a protocol-level
 * client (WebCrypto keys, jose-signed dbsc+jwt proofs): the full life of a bound session, and the
 * attacks the binding must stop. Time moves on the keeper's injectable clock, not by sleeping.
 */
export function runDbscBehaviour(name: string, startServer: StartServer): void {
  async function start(binding: DeviceBindingOptions = { mode: "opportunistic" }) {
    const sqlite = await tempSqlite("sk-dbsc-");
    const counted = countingStore(sqlite.store);
    const clock = { now: T0 };
    const keeper = createSessionKeeper({
      storage: counted.store,
      now: () => clock.now,
      excludePaths: ["/healthz", "/static"],
      deviceBinding: binding,
    });
    await keeper.migrate();
    const app = await startServer(keeper);
    const f: Fixture = {
      ...app,
      keeper,
      clock,
      calls: counted.calls,
      sqlite,
      async close() {
        await app.close();
        await sqlite.cleanup();
      },
    };
    return f;
  }

  async function signedIn(f: Fixture, userId = "user-1"): Promise<DbscClient> {
    const client = new DbscClient(f.baseUrl);
    const res = await client.send("POST", "/signin", { body: { userId } });
    assert.equal(res.status, 200, await res.text());
    return client;
  }

  async function bound(f: Fixture, alg: "ES256" | "RS256" = "ES256"): Promise<DbscClient> {
    const client = await signedIn(f);
    const res = await client.register(alg);
    assert.equal(res.status, 200, await res.text());
    return client;
  }

  async function me(client: DbscClient) {
    const res = await client.send("GET", "/me");
    return { status: res.status, body: (await res.json()) as Json };
  }

  function events(f: Fixture, type: string): Array<{ reason: string | null }> {
    return f.sqlite.db
      .prepare("SELECT reason FROM sk_login_events WHERE type = ? ORDER BY created_at")
      .all(type) as Array<{ reason: string | null }>;
  }

  describe(`${name}: device-bound sessions (DBSC)`, () => {
    let f: Fixture;
    before(async () => {
      f = await start();
    });
    after(() => f.close());

    for (const alg of ["ES256", "RS256"] as const) {
      it(`${alg}: register, use, refresh on expiry, rotate challenges, revoke → continue:false`, async () => {
        f.clock.now = T0;
        const client = await signedIn(f);
        assert.deepEqual(client.registration?.algs, ["ES256", "RS256"]);
        assert.equal(client.registration?.path, "/sessionkeeper/dbsc/registration");
        assert.match(client.registration?.challenge ?? "", /^[A-Za-z0-9_-]{43}$/);
        const sessionId = (await me(client)).body.session.id as string;
        assert.equal((await me(client)).body.session.bound, false);

        const reg = await client.register(alg);
        assert.equal(reg.status, 200);
        assert.equal(reg.headers.get("x-frame-options"), "DENY");
        assert.equal(client.config?.session_identifier, sessionId);
        assert.equal(client.config?.refresh_url, "/sessionkeeper/dbsc/refresh");
        assert.deepEqual(client.config?.credentials, [
          { type: "cookie", name: "sk_bound", attributes: "Path=/; HttpOnly; SameSite=Lax" },
        ]);
        assert.deepEqual(client.config?.scope, {
          include_site: false,
          scope_specification: [
            { type: "exclude", domain: "*", path: "/healthz" },
            { type: "exclude", domain: "*", path: "/static" },
          ],
        });
        assert.ok(client.cookies.has("sk_bound"), "a short-lived bound cookie is set");
        const used = await me(client);
        assert.equal(used.status, 200);
        assert.equal(used.body.session.bound, true);

        // Past the bound cookie's lifetime (10 minutes) the session is refused until refreshed.
        f.clock.now += 10 * MINUTE + 1;
        assert.deepEqual(await me(client), {
          status: 401,
          body: { error: "device_binding_required" },
        });
        // No proof yet: 403 and a challenge; the signed answer gets a fresh cookie.
        const first = await client.refreshOnce();
        assert.equal(first.status, 403);
        assert.equal(first.headers.get("x-frame-options"), "DENY");
        assert.equal(first.headers.get("content-security-policy"), "frame-ancestors 'none'");
        assert.equal(first.headers.get("access-control-allow-credentials"), null);
        const before = client.cookies.get("sk_bound");
        const second = await client.refreshOnce();
        assert.equal(second.status, 200);
        assert.equal(
          ((await second.json()) as { session_identifier: string }).session_identifier,
          sessionId,
        );
        assert.notEqual(client.cookies.get("sk_bound"), before, "a new bound cookie");
        assert.equal((await me(client)).status, 200);

        // Near the cookie's end an ordinary response carries a fresh challenge (once), so the
        // next refresh succeeds at the first request.
        f.clock.now += 9 * MINUTE;
        client.cachedChallenge = null;
        const near = await client.send("GET", "/me");
        assert.equal(near.status, 200);
        assert.ok(client.cachedChallenge, "a proactive Secure-Session-Challenge");
        const again = await client.send("GET", "/me");
        assert.equal(again.headers.get("secure-session-challenge"), null, "sent once per period");
        f.clock.now += 2 * MINUTE;
        assert.equal((await client.refreshOnce()).status, 200);

        // Not only the latest challenge: an older one still unanswered is accepted.
        const c1 = await client.refreshOnce(null);
        const older = client.cachedChallenge as string;
        await client.refreshOnce(null);
        assert.notEqual(client.cachedChallenge, older);
        assert.equal(c1.status, 403);
        const byOlder = await client.refreshOnce(await signProof(must(client.key), older));
        assert.equal(byOlder.status, 200);

        // Revoked from another device: the next refresh tells the browser to stop.
        const other = await signedIn(f);
        const revoke = await other.send("POST", "/revoke", { body: { id: sessionId } });
        assert.equal(revoke.status, 204);
        const ended = await client.refresh();
        assert.equal(ended.status, 200);
        assert.deepEqual(await ended.json(), { continue: false });
        assert.ok(!client.cookies.has("sk_bound"), "the bound cookie is cleared");
        assert.equal((await me(client)).status, 401);
        assert.ok(events(f, "device_bound").some((e) => e.reason === alg));
        assert.ok(events(f, "device_binding_ended").some((e) => e.reason === "revoked_by_user"));
      });
    }

    it("a copied session cookie (and bound cookie) without the key stops working when the short cookie expires", async () => {
      f.clock.now = T0;
      const victim = await bound(f);
      const thief = new DbscClient(f.baseUrl);
      for (const [n, v] of victim.cookies) thief.cookies.set(n, v);
      assert.equal((await me(thief)).status, 200, "works while the copied bound cookie lasts");
      // Only the long-lived cookie: refused at once.
      const onlyLong = new DbscClient(f.baseUrl);
      onlyLong.cookies.set("sk_session", must(victim.cookies.get("sk_session")));
      assert.deepEqual(await me(onlyLong), {
        status: 401,
        body: { error: "device_binding_required" },
      });

      f.clock.now += 10 * MINUTE + 1;
      assert.equal((await me(thief)).status, 401);
      // The thief asks for a challenge and signs it with a key of its own: refused.
      thief.config = victim.config;
      const challenged = await thief.refreshOnce();
      assert.equal(challenged.status, 403);
      thief.key = await newKeyPair("ES256");
      const forged = await thief.refreshOnce();
      assert.deepEqual([forged.status, await forged.json()], [401, { error: "bad_signature" }]);
      assert.equal((await me(thief)).status, 401);
      // The victim's browser refreshes and carries on.
      assert.equal((await victim.refresh()).status, 200);
      assert.equal((await me(victim)).status, 200);
      assert.equal((await me(thief)).status, 401);
      assert.ok(events(f, "device_binding_failed").some((e) => e.reason === "bad_signature"));
    });

    it("refuses replayed, wrong-algorithm, wrong-key, forged and expired proofs", async () => {
      f.clock.now = T0;
      const client = await bound(f);
      const key = must(client.key);
      const refused = async (proof: string) => {
        const res = await client.refreshOnce(proof);
        assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith("sk_bound=")));
        return { status: res.status, body: await res.json() };
      };
      await client.refreshOnce(null);
      const good = await signProof(key, must(client.cachedChallenge));
      assert.equal((await client.refreshOnce(good)).status, 200);
      // Replayed: the challenge is used up.
      assert.deepEqual(await refused(good), { status: 403, body: { error: "challenge_required" } });
      // A challenge never issued.
      assert.equal((await refused(await signProof(key, "made-up-challenge"))).status, 403);
      // Wrong algorithm: an RS256 proof for an ES256 key, and HS256 keyed with the public JWK.
      await client.refreshOnce(null);
      const challenge = must(client.cachedChallenge);
      const rsa = await newKeyPair("RS256");
      assert.deepEqual(await refused(await signProof(rsa, challenge)), {
        status: 401,
        body: { error: "wrong_algorithm" },
      });
      const hs = await new SignJWT({ jti: challenge })
        .setProtectedHeader({ alg: "HS256", typ: "dbsc+jwt" })
        .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
      assert.equal((await refused(hs)).body.error, "wrong_algorithm");
      assert.equal((await refused(unsignedProof(challenge))).body.error, "wrong_algorithm");
      // Wrong key (same algorithm), carrying its own jwk: the stored key decides.
      const other = await newKeyPair("ES256");
      assert.deepEqual(await refused(await signProof(other, challenge, { jwk: other.publicJwk })), {
        status: 401,
        body: { error: "bad_signature" },
      });
      // Forged: the right header and payload, a tampered signature.
      const real = await signProof(key, challenge);
      const tampered = `${real.slice(0, -4)}${real.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
      assert.equal((await refused(tampered)).body.error, "bad_signature");
      // Wrong type, malformed, oversized.
      const plainJwt = await new SignJWT({ jti: challenge })
        .setProtectedHeader({ alg: "ES256", typ: "JWT" })
        .sign(key.privateKey);
      assert.equal((await refused(plainJwt)).body.error, "wrong_type");
      assert.equal((await refused("not.a.jwt")).body.error, "malformed_proof");
      assert.equal((await refused("x".repeat(5000))).status, 400);
      // Expired: a challenge older than its lifetime (5 minutes).
      f.clock.now += 6 * MINUTE;
      assert.equal((await refused(await signProof(key, challenge))).status, 403);
      // The right key over a fresh challenge still works after all that.
      assert.equal((await client.refresh()).status, 200);
    });

    it("registration: alg none stays unbound; bad keys and other sessions' challenges refused", async () => {
      f.clock.now = T0;
      const none = await signedIn(f);
      const res = await none.register("ES256", unsignedProof(must(none.registration).challenge));
      assert.deepEqual([res.status, await res.json()], [400, { error: "unsupported_algorithm" }]);
      f.clock.now += 60 * MINUTE;
      const still = await me(none);
      assert.equal(still.status, 200, "an unbound session works as before, with no bound cookie");
      assert.equal(still.body.session.bound, false);

      const client = await signedIn(f);
      const challenge = must(client.registration).challenge;
      const small = await newKeyPair("RS256", 1024);
      const weak = await rawProof(small, challenge, small.publicJwk);
      assert.equal((await (await client.register("ES256", weak)).json()).error, "invalid_key");
      const p384 = await webcryptoP384();
      assert.equal(
        (await (await client.register("ES256", p384(challenge))).json()).error,
        "invalid_key",
      );
      const es = await newKeyPair("ES256");
      const withPrivate = await signProof(es, challenge, { jwk: { ...es.publicJwk, d: "AAAA" } });
      assert.equal(
        (await (await client.register("ES256", withPrivate)).json()).error,
        "invalid_key",
      );
      const noJwk = await signProof(es, challenge);
      assert.equal((await (await client.register("ES256", noJwk)).json()).error, "invalid_key");
      // Another session's challenge.
      const elsewhere = await signedIn(f, "user-2");
      const foreign = await signProof(es, must(elsewhere.registration).challenge, {
        jwk: es.publicJwk,
      });
      assert.equal(
        (await (await client.register("ES256", foreign)).json()).error,
        "stale_challenge",
      );
      // The right one binds, once; a second key is refused even with both cookies.
      client.key = es;
      assert.equal((await client.register()).status, 200);
      assert.equal((await me(client)).body.session.bound, true);
    });

    it("an already bound session cannot be re-bound to another key", async () => {
      f.clock.now = T0;
      const client = await bound(f);
      const thief = new DbscClient(f.baseUrl);
      for (const [n, v] of client.cookies) thief.cookies.set(n, v);
      thief.key = await newKeyPair("ES256");
      // A challenge it could get from a sign-in elsewhere is not this session's anyway.
      thief.registration = {
        algs: ["ES256"],
        path: "/sessionkeeper/dbsc/registration",
        challenge: "c",
      };
      const res = await thief.register();
      assert.deepEqual([res.status, await res.json()], [409, { error: "already_bound" }]);
    });

    it("bounds and checks every input of the endpoints", async () => {
      f.clock.now = T0;
      const client = await bound(f);
      const post = (path: string, headers: Record<string, string>) =>
        client.send("POST", path, { headers });
      const refresh = "/sessionkeeper/dbsc/refresh";
      assert.equal((await post(refresh, {})).status, 400);
      assert.equal((await post(refresh, { "sec-secure-session-id": "unquoted" })).status, 400);
      assert.equal(
        (await post(refresh, { "sec-secure-session-id": sfQuote("x".repeat(65)) })).status,
        400,
      );
      assert.equal((await post(refresh, { "sec-secure-session-id": '"a\\b"' })).status, 400);
      const get = await client.send("GET", refresh);
      assert.deepEqual([get.status, get.headers.get("allow")], [405, "POST"]);
      // Another session's id with this session's cookie: not this browser's session.
      const foreign = await post(refresh, {
        "sec-secure-session-id": sfQuote("AAAAAAAAAAAAAAAAAAAAAA"),
      });
      assert.deepEqual(await foreign.json(), { continue: false });
      // Cross-site: the origin check comes first.
      const cross = await post(refresh, {
        "sec-secure-session-id": sfQuote(must(client.config).session_identifier),
        "sec-fetch-site": "cross-site",
      });
      assert.equal(cross.status, 403);
      assert.equal((await me(client)).status, 200, "nothing of that ended the binding");
    });

    it("a route that requires binding lets only a bound session through", async () => {
      f.clock.now = T0;
      const unbound = await signedIn(f);
      const refused = await unbound.send("GET", "/bound");
      assert.deepEqual(
        [refused.status, await refused.json()],
        [401, { error: "device_binding_required" }],
      );
      assert.equal((await unbound.send("GET", "/me")).status, 200, "other routes still serve it");
      const client = await bound(f);
      assert.equal((await client.send("GET", "/bound")).status, 200);
      const anonymous = new DbscClient(f.baseUrl);
      const none = await anonymous.send("GET", "/bound");
      assert.deepEqual([none.status, await none.json()], [401, { error: "unauthenticated" }]);
    });

    it("a bound request costs the one session lookup and no write", async () => {
      f.clock.now = T0;
      const client = await bound(f);
      await me(client);
      const before = { ...f.calls };
      const res = await me(client);
      assert.equal(res.status, 200);
      assert.equal(f.calls.findSession - before.findSession, 1);
      assert.equal(writeCalls(f.calls) - writeCalls(before), 0);
    });

    it("sign-out clears the bound cookie and ends the binding", async () => {
      f.clock.now = T0;
      const client = await bound(f);
      const signOut = await client.send("POST", "/signout");
      assert.equal(signOut.status, 204);
      assert.ok(!client.cookies.has("sk_bound"));
      assert.ok(!client.cookies.has("sk_session"));
    });
  });

  describe(`${name}: device binding modes`, () => {
    it("off: no registration header, no endpoints, no enforcement", async () => {
      const f = await start({ mode: "off" });
      try {
        const client = await signedIn(f);
        assert.equal(client.registration, null);
        const res = await client.send("POST", "/sessionkeeper/dbsc/registration");
        assert.equal(res.status, 404);
      } finally {
        await f.close();
      }
    });

    it("required: an unbound session is refused until it is bound", async () => {
      const f = await start({ mode: "required", cookieTtl: "2m" });
      try {
        const client = await signedIn(f);
        assert.deepEqual(await me(client), {
          status: 401,
          body: { error: "device_binding_required" },
        });
        assert.equal((await client.register("RS256")).status, 200);
        assert.equal((await me(client)).status, 200);
        f.clock.now += 2 * MINUTE;
        assert.equal((await me(client)).status, 401, "the cookieTtl option is honoured");
      } finally {
        await f.close();
      }
    });
  });
}

/** A P-384 key signing as ES384 but claiming ES256 cannot pass; nor can a P-384 jwk with ES256. */
async function webcryptoP384(): Promise<(challenge: string) => string> {
  const { webcrypto } = await import("node:crypto");
  const pair = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
  ])) as CryptoKeyPair;
  const jwk = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return (challenge) =>
    `${part({ alg: "ES256", typ: "dbsc+jwt", jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } })}.${part({ jti: challenge })}.${"A".repeat(86)}`;
}
