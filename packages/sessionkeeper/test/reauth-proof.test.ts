// The session's record of its last proof of identity, through the keeper's life cycle on a real
// SQLite file: a sign-in is a proof, a pending one is proven when verified, a re-authentication
// records its factor with one `reauthenticated` event and a new token.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type AuthFactor,
  type ReauthChallenge,
  type RecentAuthOptions,
  type RecentAuthRule,
  type RequestInfo,
  RequestSession,
  recentAuthRule,
  type SessionEvent,
} from "../src/index.js";
import { createSessionKeeper, type SessionKeeper } from "../src/session-keeper.js";
import { sessionToJSON } from "../src/session-view.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

const T0 = 1_767_225_600_000;
const INFO: RequestInfo = { cookieHeader: null, ip: "203.0.113.7", userAgent: "t", secure: false };

describe("proof of identity on the session", () => {
  let sqlite: TempSqlite;
  let keeper: SessionKeeper;
  const clock = { now: T0 };
  const events: SessionEvent[] = [];

  before(async () => {
    sqlite = await tempSqlite("sk-proof-");
    keeper = createSessionKeeper({ storage: sqlite.store, now: () => clock.now });
    await keeper.migrate();
    keeper.subscribe((e) => {
      events.push(e);
    });
  });
  after(() => sqlite.cleanup());

  it("a sign-in is a fresh proof by its factor (default password), shown in the session JSON", async () => {
    clock.now = T0;
    const { record, session } = await keeper.signIn("u1", INFO);
    assert.equal(record.authenticatedAt, T0);
    assert.equal(record.authFactor, "password");
    const json = sessionToJSON(session);
    assert.equal(json.authenticatedAt, new Date(T0).toISOString());
    assert.equal(json.authFactor, "password");
    const stored = await sqlite.store.findSession(record.id);
    assert.equal(stored?.authenticatedAt, T0);
    const passkey = await keeper.signIn("u1", INFO, { factor: "passkey" });
    assert.equal(passkey.record.authFactor, "passkey");
  });

  it("a pending sign-in has no proof until its verification completes", async () => {
    clock.now = T0;
    const pending = await keeper.signIn("u2", INFO, { status: "pending" });
    assert.equal(pending.record.authenticatedAt, null);
    clock.now = T0 + 60_000;
    const active = await keeper.activate(pending.record, INFO, { method: "code" });
    assert.ok(active);
    const stored = await sqlite.store.findSession(pending.record.id);
    assert.equal(stored?.authenticatedAt, T0 + 60_000);
    assert.equal(stored?.authFactor, "password");
  });

  it("reauthenticate records the factor with one event and a new token; null once ended", async () => {
    clock.now = T0;
    const { record } = await keeper.signIn("u3", INFO);
    clock.now = T0 + 5_000;
    await keeper.markProofUsed(record);
    assert.equal((await sqlite.store.findSession(record.id))?.proofUsedAt, T0 + 5_000);
    clock.now = T0 + 10_000;
    events.length = 0;
    const result = await keeper.reauthenticate(record, INFO, { factor: "email_code" });
    assert.ok(result);
    assert.notEqual(result.record.secretHash, record.secretHash);
    const stored = await sqlite.store.findSession(record.id);
    assert.equal(stored?.authenticatedAt, T0 + 10_000);
    assert.equal(stored?.authFactor, "email_code");
    // A new proof starts a new window: the sliding mark of the old one is gone.
    assert.equal(stored?.proofUsedAt, null);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason, e.sessionId]),
      [["reauthenticated", "email_code", record.id]],
    );
    await keeper.signOut(result.record, INFO);
    assert.equal(await keeper.reauthenticate(result.record, INFO, { factor: "password" }), null);
  });

  it("an unknown factor is a TypeError naming the option", async () => {
    const { record } = await keeper.signIn("u4", INFO);
    assert.throws(
      () => keeper.reauthenticate(record, INFO, { factor: "sms" as AuthFactor }),
      /options\.factor/,
    );
    await assert.rejects(
      keeper.signIn("u4", INFO, { factor: "sms" as AuthFactor }),
      /options\.factor/,
    );
  });
});

describe("RequestSession.checkRecentAuth", () => {
  let sqlite: TempSqlite;
  let keeper: SessionKeeper;
  const clock = { now: T0 };
  before(async () => {
    sqlite = await tempSqlite("sk-proof-rule-");
    keeper = createSessionKeeper({
      storage: sqlite.store,
      now: () => clock.now,
      reauthWindow: "30m",
    });
    await keeper.migrate();
  });
  after(() => sqlite.cleanup());

  it("answers by the rule: the keeper's window by default, factors in a fixed order", async () => {
    const options: RecentAuthOptions = { factors: ["passkey", "password", "passkey"] };
    const rule: RecentAuthRule = recentAuthRule(options);
    assert.deepEqual(rule.factors, ["password", "passkey"]);
    clock.now = T0;
    const found = await keeper.signIn("u5", INFO);
    const rs = new RequestSession(keeper, INFO, found, () => {});
    assert.equal(await rs.checkRecentAuth(rule), null);
    clock.now = T0 + 31 * 60_000; // 31 minutes after the proof and its last use
    const challenge: ReauthChallenge | null = await rs.checkRecentAuth(rule);
    // The user has no passkey: the challenge does not offer one.
    assert.deepEqual(challenge?.body, {
      error: "reauthentication_required",
      maxAge: 1800,
      factors: ["password"],
    });
    assert.match(challenge?.challenge ?? "", /insufficient_user_authentication.*max_age=1800/);
    await keeper.addPasskey(found.record, INFO, {
      id: "cred-u5",
      userId: "u5",
      name: "Laptop",
      publicKey: "pQECAyYgASFYIA",
      counter: 0,
      transports: [],
      createdAt: clock.now,
      lastUsedAt: null,
    });
    assert.deepEqual((await rs.checkRecentAuth(rule))?.body.factors, ["password", "passkey"]);
    // A passkey-only rule keeps its one factor either way.
    const only = recentAuthRule({ factors: ["passkey"] });
    assert.deepEqual((await rs.checkRecentAuth(only))?.body.factors, ["passkey"]);
  });
});
