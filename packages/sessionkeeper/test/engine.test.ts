import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { SessionKeeperOptions } from "../src/options.js";
import { createSessionKeeper, type SessionKeeper } from "../src/session-keeper.js";
import { sqliteStorage } from "../src/storage/sqlite.js";
import type { RequestInfo, SessionRecord } from "../src/types.js";
import { countingStore, type StoreCalls, writeCalls } from "./helpers/counting-store.js";
import {
  cookieValue,
  snapshotTables,
  type TempSqlite,
  tempSqlite,
} from "./helpers/sqlite-fixture.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = 1_767_225_600_000;

/** A keeper on a real SQLite file with a clock the test moves, and a second connection to look at rows. */
interface Fixture {
  keeper: SessionKeeper;
  clock: { now: number };
  calls: StoreCalls;
  reader: Database.Database;
  sqlite: TempSqlite;
  row(id: string): SessionRecordRow;
  signIn(
    userId: string,
    cookieHeader?: string | null,
  ): Promise<{ token: string; record: SessionRecord }>;
}

interface SessionRecordRow {
  status: string;
  end_reason: string | null;
  ended_at: number | null;
  last_seen_at: number;
  last_ip: string;
  user_id: string;
}

let current: Fixture | null = null;

async function fixture(options: Partial<SessionKeeperOptions> = {}): Promise<Fixture> {
  const sqlite = await tempSqlite("sk-engine-");
  const counted = countingStore(sqlite.store);
  const clock = { now: T0 };
  const keeper = createSessionKeeper({ storage: counted.store, now: () => clock.now, ...options });
  await keeper.migrate();
  const reader = new Database(sqlite.file);
  const f: Fixture = {
    keeper,
    clock,
    calls: counted.calls,
    reader,
    sqlite,
    row(id) {
      const row = reader.prepare("SELECT * FROM sk_sessions WHERE id = ?").get(id) as
        | SessionRecordRow
        | undefined;
      assert.ok(row, `row ${id} exists`);
      return row;
    },
    async signIn(userId, cookieHeader = null) {
      const result = await keeper.signIn(userId, request(cookieHeader));
      const token = cookieValue(result.setCookies);
      assert.ok(token, "sign-in sets the session cookie");
      return { token, record: result.record };
    },
  };
  current = f;
  return f;
}

function request(cookieHeader: string | null = null, ip = "198.51.100.7"): RequestInfo {
  return {
    cookieHeader,
    ip,
    userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
    secure: false,
  };
}

function cookie(token: string): string {
  return `sk_session=${token}`;
}

function resetCalls(calls: StoreCalls): void {
  for (const key of Object.keys(calls) as (keyof StoreCalls)[]) calls[key] = 0;
}

function dataVersion(db: Database.Database): number {
  return db.pragma("data_version", { simple: true }) as number;
}

afterEach(async () => {
  if (!current) return;
  current.reader.close();
  await current.sqlite.cleanup();
  current = null;
});

describe("engine: tokens are issued, never adopted", () => {
  it("a planted cookie value is never adopted at sign-in", async () => {
    const f = await fixture();
    const other = await f.signIn("user-b");
    const planted = [
      "AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
      other.token,
      "attacker-chosen",
    ];
    for (const value of planted) {
      const { token, record } = await f.signIn("user-a", cookie(value));
      assert.notEqual(token, value);
      assert.notEqual(token.split(".")[0], value.split(".")[0], "a new session id too");
      assert.equal(record.userId, "user-a");
    }
    // A live session the browser presented is ended as replaced, never adopted or kept alive.
    assert.equal(await f.keeper.authenticate(request(cookie(other.token))), null);
    assert.deepEqual(
      [f.row(other.record.id).status, f.row(other.record.id).end_reason],
      ["revoked", "replaced"],
    );
  });

  it("two sign-ins never share an id or secret", async () => {
    const f = await fixture();
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const [id, secret] = (await f.signIn("user-a")).token.split(".") as [string, string];
      assert.ok(!seen.has(id) && !seen.has(secret));
      seen.add(id).add(secret);
    }
  });

  it("after sign-out, replaying the old cookie gets no session", async () => {
    const f = await fixture();
    const { token } = await f.signIn("user-a");
    const found = await f.keeper.authenticate(request(cookie(token)));
    assert.ok(found);
    const out = await f.keeper.signOut(found.record, request(cookie(token)));
    assert.match(out.setCookies[0] ?? "", /^sk_session=; Path=\/; Max-Age=0/);
    assert.equal(await f.keeper.authenticate(request(cookie(token))), null);
    assert.equal(await f.keeper.validate(request(cookie(token))), null);
    const row = f.row(found.record.id);
    assert.deepEqual([row.status, row.end_reason, row.ended_at], ["inactive", "sign_out", T0]);
  });

  it("after revoke, replaying the old cookie gets no session", async () => {
    const f = await fixture();
    const { token, record } = await f.signIn("user-a");
    assert.equal(
      await f.keeper.revokeSession(record.id, { userId: "user-a", info: request() }),
      true,
    );
    assert.equal(await f.keeper.authenticate(request(cookie(token))), null);
    assert.equal(f.row(record.id).status, "revoked");
  });
});

describe("engine: tampered tokens are no session and write nothing", () => {
  it("rejects every tampered form without touching the store", async () => {
    const f = await fixture();
    const a = await f.signIn("user-a");
    const b = await f.signIn("user-b");
    const [idA, secretA] = a.token.split(".") as [string, string];
    const [, secretB] = b.token.split(".") as [string, string];
    const flip = (s: string, i: number) =>
      s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const cases: Record<string, string | null> = {
      "flipped secret char": cookie(flip(a.token, a.token.length - 5)),
      "flipped last char": cookie(flip(a.token, a.token.length - 1)),
      "flipped id char": cookie(flip(a.token, 3)),
      truncated: cookie(a.token.slice(0, -1)),
      extended: cookie(`${a.token}A`),
      "one user's id with another's secret": cookie(`${idA}.${secretB}`),
      "id only": cookie(idA),
      "secret only": cookie(secretA),
      empty: "sk_session=",
      "no cookie": null,
      "8 KB": cookie("A".repeat(8192)),
      "8 KB after a valid prefix": cookie(`${a.token}${"A".repeat(8192)}`),
      "bad %-encoding": cookie(`${idA}.%E0%A4%A`),
      "%-encoded valid token": cookie(encodeURIComponent(a.token).replace(".", "%2E")),
      "duplicate cookie names": `${cookie(a.token)}; ${cookie(a.token)}`,
      "duplicate with a planted second": `${cookie(a.token)}; ${cookie(b.token)}`,
      "quoted with whitespace inside": `sk_session=" ${a.token}"`,
      "wrong separator": cookie(`${idA}:${secretA}`),
      "lower-cased name": `SK_SESSION=${a.token}`,
    };
    // Move past the touch interval: a valid token now would write last_seen_at.
    f.clock.now = T0 + 10 * MINUTE;
    const before = snapshotTables(f.reader);
    const version = dataVersion(f.reader);
    resetCalls(f.calls);
    for (const [name, header] of Object.entries(cases)) {
      assert.equal(await f.keeper.validate(request(header)), null, name);
      assert.equal(await f.keeper.authenticate(request(header)), null, name);
    }
    assert.equal(writeCalls(f.calls), 0, "no store write");
    assert.equal(dataVersion(f.reader), version, "no commit reached the database");
    assert.deepEqual(snapshotTables(f.reader), before);
    // Control: the untampered token is valid and does write (its touch), so the counters work.
    assert.ok(await f.keeper.authenticate(request(cookie(a.token))));
    assert.equal(f.calls.touchSession, 1);
    assert.notEqual(dataVersion(f.reader), version);
  });
});

describe("engine: idle timeout and absolute lifetime", () => {
  it("idle timeout: valid 1 ms before the deadline, expired at it, ended as expired/idle_timeout", async () => {
    const f = await fixture({ idleTimeout: "30m", absoluteTimeout: "1d" });
    const early = await f.signIn("user-a");
    const late = await f.signIn("user-a");

    f.clock.now = T0 + 30 * MINUTE - 1;
    assert.ok(await f.keeper.authenticate(request(cookie(early.token))));

    f.clock.now = T0 + 30 * MINUTE;
    assert.equal(await f.keeper.authenticate(request(cookie(late.token))), null);
    const row = f.row(late.record.id);
    assert.deepEqual(
      [row.status, row.end_reason, row.ended_at],
      ["expired", "idle_timeout", T0 + 30 * MINUTE],
    );
    const events = await f.keeper.listEvents("user-a");
    assert.deepEqual(
      events.filter((e) => e.type === "session_expired").map((e) => [e.sessionId, e.reason]),
      [[late.record.id, "idle_timeout"]],
    );
    // Still dead on the next request, and the early one, touched just in time, is still alive.
    assert.equal(await f.keeper.validate(request(cookie(late.token))), null);
    assert.ok(await f.keeper.authenticate(request(cookie(early.token))));
  });

  it("a session in use never idles out", async () => {
    const f = await fixture({ idleTimeout: "10m", absoluteTimeout: "1d" });
    const { token } = await f.signIn("user-a");
    // One request every 9 minutes for three hours: each one inside the idle window of the last.
    for (let t = 9 * MINUTE; t < 3 * HOUR; t += 9 * MINUTE) {
      f.clock.now = T0 + t;
      assert.ok(await f.keeper.authenticate(request(cookie(token))), `alive at +${t / MINUTE} min`);
    }
  });

  it("absolute lifetime: valid 1 ms before, expired at it even when in use, reason absolute_timeout", async () => {
    const f = await fixture({ idleTimeout: "30m", absoluteTimeout: "2h" });
    const { token, record } = await f.signIn("user-a");
    for (let t = 20 * MINUTE; t < 2 * HOUR; t += 20 * MINUTE) {
      f.clock.now = T0 + t;
      assert.ok(await f.keeper.authenticate(request(cookie(token))));
    }
    f.clock.now = T0 + 2 * HOUR - 1;
    assert.ok(await f.keeper.authenticate(request(cookie(token))));
    f.clock.now = T0 + 2 * HOUR;
    assert.equal(await f.keeper.authenticate(request(cookie(token))), null);
    const row = f.row(record.id);
    assert.deepEqual(
      [row.status, row.end_reason, row.ended_at],
      ["expired", "absolute_timeout", T0 + 2 * HOUR],
    );
  });

  it("listSessions hides a session past its deadline that nobody has presented yet", async () => {
    const f = await fixture({ idleTimeout: "30m", absoluteTimeout: "1d" });
    const stale = await f.signIn("user-a");
    f.clock.now = T0 + 20 * MINUTE;
    const fresh = await f.signIn("user-a");
    f.clock.now = T0 + 30 * MINUTE;
    const ids = (await f.keeper.listSessions("user-a")).map((s) => s.id);
    assert.deepEqual(ids, [fresh.record.id]);
    assert.ok(
      (await f.keeper.listSessions("user-a", { includeEnded: true })).some(
        (s) => s.id === stale.record.id,
      ),
    );
  });
});

describe("engine: listing with a limit", () => {
  it("fills the limit with live sessions even when more recently used ones are past their lifetime", async () => {
    const f = await fixture({ idleTimeout: "1d", absoluteTimeout: "2h" });
    const old = [await f.signIn("user-a"), await f.signIn("user-a"), await f.signIn("user-a")];
    f.clock.now = T0 + HOUR;
    const live = await f.signIn("user-a");
    // The three old ones are used just before their lifetime ends: the most recent activity.
    f.clock.now = T0 + 2 * HOUR - MINUTE;
    for (const { token } of old) assert.ok(await f.keeper.authenticate(request(cookie(token))));
    f.clock.now = T0 + 2 * HOUR + MINUTE;
    const listed = await f.keeper.listSessions("user-a", { limit: 1 });
    assert.deepEqual(
      listed.map((s) => s.id),
      [live.record.id],
    );
  });
});

describe("engine: last-seen writes", () => {
  it("200 requests within one touch interval write last_seen_at at most once", async () => {
    const f = await fixture({ touchInterval: "60s" });
    const { token, record } = await f.signIn("user-a");
    resetCalls(f.calls);
    // Within the first interval after sign-in: no write at all.
    for (let i = 0; i < 200; i++) {
      f.clock.now = T0 + Math.floor((i * MINUTE) / 200);
      assert.ok(await f.keeper.authenticate(request(cookie(token))));
    }
    assert.equal(f.calls.touchSession, 0);
    assert.equal(f.row(record.id).last_seen_at, T0);

    // The next interval: the first request writes, the other 199 do not.
    for (let i = 0; i < 200; i++) {
      f.clock.now = T0 + MINUTE + Math.floor((i * MINUTE) / 200);
      assert.ok(await f.keeper.authenticate(request(cookie(token), "198.51.100.99")));
    }
    assert.equal(f.calls.touchSession, 1);
    const row = f.row(record.id);
    assert.equal(row.last_seen_at, T0 + MINUTE);
    assert.equal(row.last_ip, "198.51.100.99");
  });

  it("200 concurrent validations when a touch is due issue one write", async () => {
    const f = await fixture({ touchInterval: "60s" });
    const { token, record } = await f.signIn("user-a");
    f.clock.now = T0 + 5 * MINUTE;
    resetCalls(f.calls);
    const results = await Promise.all(
      Array.from({ length: 200 }, () => f.keeper.authenticate(request(cookie(token)))),
    );
    assert.ok(results.every((r) => r?.record.id === record.id));
    assert.equal(f.calls.touchSession, 1);
    assert.equal(f.calls.touchesApplied, 1);
    assert.equal(f.row(record.id).last_seen_at, T0 + 5 * MINUTE);
  });

  it("two app instances touching the same session at once change the row once", async () => {
    const f = await fixture({ touchInterval: "60s" });
    const second = await tempSqliteKeeperOn(f);
    try {
      const { token, record } = await f.signIn("user-a");
      f.clock.now = T0 + 5 * MINUTE;
      resetCalls(f.calls);
      const [a, b] = await Promise.all([
        f.keeper.authenticate(request(cookie(token))),
        second.keeper.authenticate(request(cookie(token))),
      ]);
      assert.ok(a && b);
      assert.equal(f.calls.touchesApplied + second.calls.touchesApplied, 1);
      assert.equal(f.row(record.id).last_seen_at, T0 + 5 * MINUTE);
    } finally {
      await second.close();
    }
  });
});

/** A second keeper (another app instance) on the same SQLite file and clock. */
async function tempSqliteKeeperOn(
  f: Fixture,
): Promise<{ keeper: SessionKeeper; calls: StoreCalls; close(): Promise<void> }> {
  const counted = countingStore(sqliteStorage(new Database(f.sqlite.file)));
  const keeper = createSessionKeeper({
    storage: counted.store,
    now: () => f.clock.now,
    touchInterval: "60s",
  });
  return { keeper, calls: counted.calls, close: () => keeper.close() };
}

describe("engine: a user controls only their own sessions", () => {
  it("revoking another user's session id returns false and changes nothing", async () => {
    const f = await fixture();
    await f.signIn("user-a");
    const b = await f.signIn("user-b");
    const before = snapshotTables(f.reader);
    resetCalls(f.calls);
    assert.equal(
      await f.keeper.revokeSession(b.record.id, { userId: "user-a", info: request() }),
      false,
    );
    assert.equal(
      await f.keeper.revokeSession("x".repeat(65), { userId: "user-a", info: request() }),
      false,
    );
    assert.equal(
      await f.keeper.revokeSession("no-such-session", { userId: "user-a", info: request() }),
      false,
    );
    assert.equal(f.calls.recordEvent, 0);
    assert.deepEqual(snapshotTables(f.reader), before);
    assert.ok(await f.keeper.authenticate(request(cookie(b.token))));
  });

  it("listSessions for one user never includes another's, ended or not", async () => {
    const f = await fixture();
    const a1 = await f.signIn("user-a");
    f.clock.now = T0 + MINUTE;
    const a2 = await f.signIn("user-a");
    const b = await f.signIn("user-b");
    await f.keeper.revokeSession((await f.signIn("user-b")).record.id, { userId: "user-b" });
    const live = await f.keeper.listSessions("user-a", { currentId: a1.record.id });
    assert.deepEqual(
      live.map((s) => [s.id, s.current]),
      [
        [a1.record.id, true],
        [a2.record.id, false],
      ],
    );
    const all = await f.keeper.listSessions("user-a", { includeEnded: true });
    assert.ok(all.every((s) => s.userId === "user-a"));
    assert.ok(!all.some((s) => s.id === b.record.id));
    // The public view never carries the hash.
    assert.ok(!JSON.stringify(all).includes(a1.record.secretHash));
  });

  it("revokeOtherSessions ends the user's other sessions and keeps the current and other users'", async () => {
    const f = await fixture();
    const current = await f.signIn("user-a");
    const other1 = await f.signIn("user-a");
    const other2 = await f.signIn("user-a");
    const stranger = await f.signIn("user-b");
    f.clock.now = T0 + SECOND;
    assert.equal(
      await f.keeper.revokeOtherSessions("user-a", {
        keep: current.record.id,
        info: request(cookie(current.token)),
      }),
      2,
    );
    assert.ok(await f.keeper.authenticate(request(cookie(current.token))));
    assert.ok(await f.keeper.authenticate(request(cookie(stranger.token))));
    for (const other of [other1, other2]) {
      assert.equal(await f.keeper.authenticate(request(cookie(other.token))), null);
      const row = f.row(other.record.id);
      assert.deepEqual(
        [row.status, row.end_reason, row.ended_at],
        ["revoked", "revoked_by_user", T0 + SECOND],
      );
    }
    const revokedEvents = (await f.keeper.listEvents("user-a")).filter(
      (e) => e.type === "session_revoked",
    );
    assert.deepEqual(
      revokedEvents.map((e) => e.sessionId).sort(),
      [other1.record.id, other2.record.id].sort(),
    );
    assert.equal(await f.keeper.revokeOtherSessions("user-a", { keep: current.record.id }), 0);
  });

  it("revokeAllSessions ends every session of the user with the given reason", async () => {
    const f = await fixture();
    const a1 = await f.signIn("user-a");
    const a2 = await f.signIn("user-a");
    const b = await f.signIn("user-b");
    assert.equal(await f.keeper.revokeAllSessions("user-a", { reason: "password_changed" }), 2);
    for (const a of [a1, a2]) {
      assert.equal(await f.keeper.authenticate(request(cookie(a.token))), null);
      assert.equal(f.row(a.record.id).end_reason, "password_changed");
    }
    assert.ok(await f.keeper.authenticate(request(cookie(b.token))));
    const events = (await f.keeper.listEvents("user-a")).filter(
      (e) => e.type === "session_revoked",
    );
    assert.ok(events.length === 2 && events.every((e) => e.reason === "password_changed"));
    assert.equal(await f.keeper.revokeAllSessions("user-b"), 1);
    assert.equal(f.row(b.record.id).end_reason, "revoked_by_admin");
  });
});

describe("engine: rotation and pruning", () => {
  it("rotate kills the old cookie at once and the new one works for the same session", async () => {
    const f = await fixture();
    const { token, record } = await f.signIn("user-a");
    const found = await f.keeper.authenticate(request(cookie(token)));
    assert.ok(found);
    const rotated = await f.keeper.rotate(found.record, request(cookie(token)));
    assert.ok(rotated);
    const next = cookieValue(rotated.setCookies);
    assert.ok(next && next !== token);
    assert.equal(next.split(".")[0], record.id);
    assert.equal(await f.keeper.authenticate(request(cookie(token))), null);
    assert.equal((await f.keeper.authenticate(request(cookie(next))))?.record.id, record.id);
    assert.ok(
      (await f.keeper.listEvents("user-a")).some(
        (e) => e.type === "token_rotated" && e.sessionId === record.id,
      ),
    );
    // A session that has ended cannot be rotated back to life.
    await f.keeper.signOut(found.record, request());
    assert.equal(await f.keeper.rotate(found.record, request()), null);
    assert.equal(await f.keeper.authenticate(request(cookie(next))), null);
  });

  it("activate turns a pending session active with a new token; a pending session never authenticates", async () => {
    const f = await fixture();
    const signed = await f.keeper.signIn("user-a", request(), { status: "pending" });
    const token = cookieValue(signed.setCookies) as string;
    assert.equal(await f.keeper.authenticate(request(cookie(token))), null);
    const pending = await f.keeper.validate(request(cookie(token)));
    assert.equal(pending?.record.status, "pending");
    assert.ok(pending);
    assert.equal(
      await f.keeper.rotate(pending.record, request(cookie(token))),
      null,
      "rotate needs active",
    );
    const rotated = await f.keeper.activate(pending.record, request(cookie(token)), {
      method: "code",
    });
    assert.ok(rotated);
    const next = cookieValue(rotated.setCookies) as string;
    assert.equal(await f.keeper.validate(request(cookie(token))), null);
    assert.equal((await f.keeper.authenticate(request(cookie(next))))?.record.status, "active");
  });

  it("prune deletes sessions ended or dead longer than the retention, and old events", async () => {
    const f = await fixture({ idleTimeout: "1d", absoluteTimeout: "90d" });
    const signedOut = await f.signIn("user-a");
    await f.keeper.signOut(signedOut.record, request());
    const abandoned = await f.signIn("user-a");
    f.clock.now = T0 + 40 * DAY;
    const recent = await f.signIn("user-a");
    const result = await f.keeper.prune({ retention: 30 * DAY });
    assert.equal(result.sessions, 2);
    assert.equal(result.events, 3, "two sign-ins and a sign-out from T0");
    assert.equal(await f.sqlite.store.findSession(signedOut.record.id), null);
    assert.equal(await f.sqlite.store.findSession(abandoned.record.id), null);
    assert.ok(await f.keeper.authenticate(request(cookie(recent.token))));
    assert.deepEqual(
      (await f.keeper.listEvents("user-a")).map((e) => e.type),
      ["sign_in"],
    );
  });
});
