import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SessionEvent } from "../../src/events.js";
import type { SessionKeeper } from "../../src/session-keeper.js";
import type { RequestInfo, SessionRecord } from "../../src/types.js";
import { browser, eventually, sessionCookie } from "../many/kit.js";

/**
 * Two instances of one deployment: `a` makes every change, `b` has read (and cached) the session
 * before it, and must see the change. They share the storage and the clock.
 */
export interface Deployment {
  a: SessionKeeper;
  b: SessionKeeper;
  clock: { now: number };
  close(): Promise<void>;
}

interface Signed {
  record: SessionRecord;
  cookie: string;
}

const DENIED_IP = "203.0.113.66";
const MINUTE = 60_000;

/**
 * Walks every transition of the life cycle: each must announce exactly one event of its type, store
 * exactly one history row of that type, and be seen at once by the other instance (its cache dropped).
 */
export function runTransitionTable(name: string, open: () => Promise<Deployment>): void {
  describe(`life cycle transition table: ${name}`, () => {
    let d: Deployment;
    const heard: SessionEvent[] = [];
    let users = 0;

    before(async () => {
      d = await open();
      d.a.subscribe((event) => void heard.push(event));
      // The IP-denied ending comes from a gate, as the guard's deny rules do.
      d.a.addSessionGate((_record, info) => (info.ip === DENIED_IP ? "ip_denied" : null));
    });
    after(() => d.close());

    const user = () => `table-user-${++users}`;

    async function signIn(userId: string, options: { pending?: boolean } = {}): Promise<Signed> {
      const result = await d.a.signIn(userId, browser(), {
        ...(options.pending ? { status: "pending" as const } : {}),
        replaces: null,
      });
      return { record: result.record, cookie: sessionCookie(result.setCookies) };
    }

    /** `b` reads the session now, so a stale copy would be in its cache if nothing dropped it. */
    async function warm(s: Signed): Promise<void> {
      const found = await d.b.validate(browser(s.cookie));
      assert.equal(found?.record.id, s.record.id, "instance b sees the session before the change");
    }

    /** Exactly one event and one history row of `type` (and `reason`) for the session. */
    async function once(s: Signed | SessionRecord, type: string, reason: string | null) {
      const id = "record" in s ? s.record.id : s.id;
      const userId = "record" in s ? s.record.userId : s.userId;
      const events = heard.filter((e) => e.sessionId === id && e.type === type);
      assert.equal(events.length, 1, `one ${type} event for ${id}`);
      assert.equal(events[0]?.reason, reason, `${type} reason`);
      const rows = (await d.a.listEvents(userId, { limit: 1000 })).filter(
        (e) => e.sessionId === id && e.type === type,
      );
      assert.equal(rows.length, 1, `one ${type} history row for ${id}`);
      assert.equal(rows[0]?.reason, reason);
      return events[0] as SessionEvent;
    }

    /** No other transition was announced for the session than the ones listed. */
    function only(s: Signed, types: string[]) {
      const seen = heard.filter((e) => e.sessionId === s.record.id && "session" in e);
      assert.deepEqual(seen.map((e) => e.type).sort(), [...types].sort());
    }

    /** Instance b refuses `cookie` (eventually: a broadcast takes a moment). */
    async function refusedOnB(cookie: string) {
      await eventually(async () => (await d.b.validate(browser(cookie))) === null, "b refuses");
    }

    async function endedEverywhere(s: Signed) {
      await refusedOnB(s.cookie);
      assert.equal(await d.a.validate(browser(s.cookie)), null);
    }

    it("sign-in (active): sign_in", async () => {
      const s = await signIn(user());
      const event = await once(s, "sign_in", null);
      assert.deepEqual(event.actor, { kind: "user" });
      assert.ok(!JSON.stringify(event).includes(s.record.secretHash), "no secret hash in events");
      only(s, ["sign_in"]);
    });

    it("sign-in (pending): sign_in with pending_verification", async () => {
      const s = await signIn(user(), { pending: true });
      await once(s, "sign_in", "pending_verification");
      assert.equal((await d.b.validate(browser(s.cookie)))?.record.status, "pending");
    });

    it("sign-in over a live session: the old one ends as replaced", async () => {
      const old = await signIn(user());
      await warm(old);
      const next = await d.a.signIn(old.record.userId, browser(old.cookie));
      await once(old, "session_revoked", "replaced");
      await once(next.record, "sign_in", null);
      await endedEverywhere(old);
    });

    for (const method of ["code", "link", "approved"] as const) {
      it(`pending → active (${method}): session_activated, the pending cookie dies everywhere`, async () => {
        const s = await signIn(user(), { pending: true });
        await warm(s);
        const by =
          method === "approved" ? { kind: "session" as const, sessionId: "approver" } : undefined;
        const done = await d.a.activate(s.record, browser(s.cookie), {
          method,
          ...(by ? { by } : {}),
        });
        assert.ok(done);
        const event = await once(s, "session_activated", method);
        assert.deepEqual(event.actor, by ?? { kind: "user" });
        only(s, ["sign_in", "session_activated"]);
        await refusedOnB(s.cookie);
        const fresh = sessionCookie(done.setCookies);
        assert.equal((await d.b.validate(browser(fresh)))?.record.status, "active");
      });
    }

    it("rotation: token_rotated, the old cookie dies everywhere", async () => {
      const s = await signIn(user());
      await warm(s);
      const done = await d.a.rotate(s.record, browser(s.cookie));
      assert.ok(done);
      await once(s, "token_rotated", "privilege_change");
      await refusedOnB(s.cookie);
      assert.ok(await d.b.validate(browser(sessionCookie(done.setCookies))));
    });

    it("re-authentication: reauthenticated with the factor, the proof seen everywhere", async () => {
      const s = await signIn(user());
      await warm(s);
      d.clock.now += MINUTE;
      const done = await d.a.reauthenticate(s.record, browser(s.cookie), { factor: "passkey" });
      assert.ok(done);
      await once(s, "reauthenticated", "passkey");
      await refusedOnB(s.cookie);
      const seen = await d.b.validate(browser(sessionCookie(done.setCookies)));
      assert.equal(seen?.record.authFactor, "passkey");
      assert.equal(seen?.record.authenticatedAt, d.clock.now);
    });

    it("sign-out: sign_out", async () => {
      const s = await signIn(user());
      await warm(s);
      await d.a.signOut(s.record, browser(s.cookie));
      await once(s, "sign_out", "sign_out");
      await endedEverywhere(s);
    });

    const endings: Array<{
      name: string;
      status: "revoked" | "locked_out" | "expired";
      reason: string;
      type: string;
    }> = [
      { name: "revoke one", status: "revoked", reason: "revoked_by_user", type: "session_revoked" },
      { name: "session cap", status: "revoked", reason: "session_limit", type: "session_revoked" },
      { name: "not me", status: "locked_out", reason: "not_me", type: "session_locked" },
      {
        name: "verification failed",
        status: "locked_out",
        reason: "verification_failed",
        type: "session_locked",
      },
      {
        name: "verification expired",
        status: "expired",
        reason: "verification_expired",
        type: "session_expired",
      },
    ];
    for (const end of endings) {
      it(`${end.name}: ${end.type} (${end.reason})`, async () => {
        const s = await signIn(user());
        await warm(s);
        const ended = await d.a.endSession(s.record.id, {
          status: end.status,
          reason: end.reason,
          userId: s.record.userId,
          by: { kind: "system" },
        });
        assert.equal(ended, true);
        await once(s, end.type, end.reason);
        await endedEverywhere(s);
        // Ending it again is no transition: no second event or row.
        assert.equal(
          await d.a.endSession(s.record.id, { status: "revoked", reason: "again" }),
          false,
        );
        await once(s, end.type, end.reason);
        only(s, ["sign_in", end.type]);
      });
    }

    it("revoke others and revoke all: one session_revoked per ended session", async () => {
      const userId = user();
      const keep = await signIn(userId);
      const others = [await signIn(userId), await signIn(userId)];
      for (const o of others) await warm(o);
      assert.equal(await d.a.revokeOtherSessions(userId, { keep: keep.record.id }), 2);
      for (const o of others) {
        await once(o, "session_revoked", "revoked_by_user");
        await endedEverywhere(o);
      }
      await warm(keep);
      assert.equal(await d.a.revokeAllSessions(userId, { by: { kind: "admin", name: "t" } }), 1);
      const event = await once(keep, "session_revoked", "revoked_by_admin");
      assert.deepEqual(event.actor, { kind: "admin", name: "t" });
      await endedEverywhere(keep);
    });

    it("password changed: the kept session rotates, the others end, one activity row", async () => {
      const userId = user();
      const keep = await signIn(userId);
      const other = await signIn(userId);
      await warm(keep);
      await warm(other);
      const info: RequestInfo = browser(keep.cookie);
      const result = await d.a.passwordChanged(userId, { keep: keep.record, info });
      assert.equal(result.revoked, 1);
      assert.ok(result.rotated);
      await once(keep, "token_rotated", "password_changed");
      await once(other, "session_revoked", "password_changed");
      await once(keep, "password_changed", null);
      await endedEverywhere(other);
      await refusedOnB(keep.cookie);
      assert.ok(await d.b.validate(browser(sessionCookie(result.rotated.setCookies))));
    });

    it("IP denied: a gate ends the session as revoked (ip_denied)", async () => {
      const s = await signIn(user());
      await warm(s);
      assert.equal(await d.a.validate({ ...browser(s.cookie), ip: DENIED_IP }), null);
      const event = await once(s, "session_revoked", "ip_denied");
      assert.deepEqual(event.actor, { kind: "system" });
      await endedEverywhere(s);
    });

    for (const timeout of ["idle_timeout", "absolute_timeout"] as const) {
      it(`${timeout}: session_expired`, async () => {
        const s = await signIn(user());
        await warm(s);
        // Keep the session in use until its absolute end, or leave it idle past the idle timeout.
        const { idleTimeout, absoluteTimeout } = d.a.settings;
        if (timeout === "idle_timeout") d.clock.now += idleTimeout;
        else {
          const end = s.record.createdAt + absoluteTimeout;
          while (d.clock.now + idleTimeout / 2 < end) {
            d.clock.now += idleTimeout / 2;
            assert.ok(await d.a.validate(browser(s.cookie)), "still in use");
          }
          d.clock.now = end;
        }
        assert.equal(await d.a.validate(browser(s.cookie)), null);
        await once(s, "session_expired", timeout);
        await endedEverywhere(s);
        d.clock.now += MINUTE;
      });
    }
  });
}
