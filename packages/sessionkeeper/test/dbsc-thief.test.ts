// Review findings on device-bound sessions: whoever holds a session cookie reaches the DBSC
// endpoints, key or not. Such a caller must not be able to grow the challenge table, flood the
// owner's history, or keep a session from idling out; expired challenges must be pruned.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { answerDeviceBinding } from "../src/device-binding/endpoints.js";
import { createSessionKeeper, type RequestInfo, type SessionKeeper } from "../src/index.js";
import { newKeyPair, signProof } from "./helpers/dbsc-client.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

const REFRESH = "/sessionkeeper/dbsc/refresh";
const MINUTE = 60_000;
const info = (cookies: string[] = [], ua = "Owner/1.0"): RequestInfo => ({
  cookieHeader: cookies.join("; "),
  ip: "198.51.100.7",
  userAgent: ua,
  secure: false,
});
const pair = (c: string) => c.split(";")[0] as string;
const sf = (v: string) => `"${v}"`;

describe("DBSC endpoints against a thief holding only the session cookie", () => {
  let t: TempSqlite;
  let keeper: SessionKeeper;
  const clock = { now: Date.UTC(2026, 0, 5, 12) };
  const count = (sql: string, ...args: unknown[]) =>
    (t.db.prepare(sql).get(...args) as { n: number }).n;
  const events = (type: string, userId: string) =>
    count("select count(*) n from sk_login_events where type = ? and user_id = ?", type, userId);

  before(async () => {
    t = await tempSqlite("sk-dbsc-thief-");
    keeper = createSessionKeeper({
      storage: t.store,
      now: () => clock.now,
      idleTimeout: "30m",
      deviceBinding: { mode: "opportunistic" },
    });
    await keeper.migrate();
  });
  after(() => t.cleanup());

  /** A signed-in session bound to a fresh ES256 key: its session cookie (what a thief copies). */
  async function boundSession(userId: string) {
    const signed = await keeper.signIn(userId, info(), { replaces: null });
    const header = signed.headers.find(
      ([name]) => name.toLowerCase() === "secure-session-registration",
    );
    const challenge = /challenge="([^"]+)"/.exec(header?.[1] ?? "")?.[1] as string;
    const session = pair(signed.setCookies[0] as string);
    const key = await newKeyPair("ES256");
    const proof = await signProof(key, challenge, { jwk: key.publicJwk });
    assert.equal((await keeper.bindDevice(info([session]), proof)).kind, "bound");
    assert.equal(await keeper.validate(info([session])), null, "the copy alone is refused");
    return { id: signed.record.id, session };
  }

  const refresh = (id: string, session: string, proof: string | null) =>
    answerDeviceBinding(
      keeper as never,
      "POST",
      REFRESH,
      (name) =>
        name === "sec-secure-session-id"
          ? sf(id)
          : name === "secure-session-response" && proof !== null
            ? sf(proof)
            : null,
      info([session], "Thief/6.6"),
    );

  it("asking for challenges 300 times leaves at most 4 open for the session", async () => {
    const { id, session } = await boundSession("victim-a");
    for (let i = 0; i < 300; i++) await refresh(id, session, null);
    const open = count("select count(*) n from sk_dbsc_challenges where session_id = ?", id);
    assert.ok(open <= 4, `${open} open challenges`);
  });

  it("300 bad proofs record one failure per minute, and never keep the session from idling out", async () => {
    const { id, session } = await boundSession("victim-b");
    const seen = () => count("select last_seen_at n from sk_sessions where id = ?", id);
    const junk = await signProof(await newKeyPair("ES256"), "not-a-challenge");
    const lastSeen = seen();
    for (let i = 0; i < 300; i++) await refresh(id, session, junk);
    assert.equal(events("device_binding_failed", "victim-b"), 1, "one row for the burst");
    clock.now += MINUTE;
    await refresh(id, session, junk);
    assert.equal(events("device_binding_failed", "victim-b"), 2, "the next minute: one more");
    clock.now += 20 * MINUTE;
    await refresh(id, session, null);
    assert.equal(seen(), lastSeen, "the thief's calls wrote no last-seen time");
    clock.now += 20 * MINUTE; // 41 minutes without a real request: past the 30-minute idle timeout
    const answer = await refresh(id, session, null);
    assert.equal(answer?.status, 200);
    assert.equal(
      count("select count(*) n from sk_sessions where id = ? and status = 'expired'", id),
      1,
      "the session idled out",
    );
  });

  it("a revoked session's cookie records the binding's end once, however often it asks", async () => {
    const { id, session } = await boundSession("victim-c");
    await keeper.revokeSession(id, { userId: "victim-c" });
    for (let i = 0; i < 200; i++) {
      clock.now += 1000;
      const answer = await refresh(id, session, null);
      assert.match(answer?.body ?? "", /"continue":\s*false/);
    }
    assert.equal(events("device_binding_ended", "victim-c"), 1);
    const page = await keeper.historyPage("victim-c");
    assert.equal(page.entries[0]?.kind, "sign_in", "the owner's history still reads normally");
  });

  it("prune deletes every expired challenge, whatever the retention", async () => {
    for (let i = 0; i < 20; i++) await keeper.signIn(`plain-${i}`, info(), { replaces: null });
    assert.ok(count("select count(*) n from sk_dbsc_challenges") >= 20);
    clock.now += 24 * 60 * MINUTE;
    await keeper.prune({ retention: 30 * 24 * 60 * MINUTE });
    assert.equal(
      count("select count(*) n from sk_dbsc_challenges where expires_at < ?", clock.now),
      0,
    );
  });
});
