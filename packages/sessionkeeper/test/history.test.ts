// The history as people read it, on real stores: a sign-in's story in one entry, failures folded,
// security changes alone; cursor pages on SQLite and PostgreSQL that neither repeat nor skip an
// entry while new events arrive, and that stay fast deep into a long history.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import {
  decodeHistoryCursor,
  type EventPosition,
  encodeHistoryCursor,
  HISTORY_FILTERS,
  type HistoryEntry,
  type HistoryEntryJSON,
  type HistoryFilter,
  type HistoryPage,
  historyEntryToJSON,
} from "../src/index.js";
import { createSessionKeeper, type SessionKeeper } from "../src/session-keeper.js";
import type { SessionStore } from "../src/storage/contract.js";
import type { KyselyStore } from "../src/storage/kysely-store.js";
import { postgresStorage } from "../src/storage/postgres.js";
import type { RequestInfo, Session } from "../src/types.js";
import { tempSqlite } from "./helpers/sqlite-fixture.js";
import { freshPgSchema, postgresSkip } from "./many/services.js";

const T0 = Date.UTC(2026, 2, 14, 23, 41);
const SAFARI_IOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const CHROME_WIN =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

function from(userAgent: string, ip = "203.0.113.9"): RequestInfo {
  return { cookieHeader: null, ip, userAgent, secure: true };
}

/** The id that keys an entry (its first stored event), to compare pages. */
function keyOf(entry: HistoryEntry): string {
  return entry.kind === "failures" ? (entry.events[0]?.id as string) : entry.first.id;
}

describe("history cursors and JSON", () => {
  it("round-trips a position through an opaque cursor and refuses any other spelling", () => {
    const position: EventPosition = { at: T0, id: "Ab_9-xYz" };
    const cursor = encodeHistoryCursor(position);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeHistoryCursor(cursor), position);
    for (const bad of [
      "",
      `${cursor}=`,
      `${cursor}A`,
      cursor.replace(/.$/, "."),
      Buffer.from(`${T0}.a/b`).toString("base64url"),
      Buffer.from(`0${T0}.ab`).toString("base64url"),
      Buffer.from(`${T0}.${"a".repeat(33)}`).toString("base64url"),
      Buffer.from(`${2 ** 53}.ab`).toString("base64url"),
      "x".repeat(81),
    ])
      assert.equal(decodeHistoryCursor(bad), null, bad);
    const filters: readonly HistoryFilter[] = HISTORY_FILTERS;
    assert.deepEqual(filters, ["all", "sign_ins", "failures", "security"]);
  });

  it("gives a sign-in its timeline and a failure run its count and span, in ISO-8601", () => {
    const row = (type: string, createdAt: number, sessionId: string | null = "s1") => ({
      id: `${type}-${createdAt}`,
      userId: "u",
      sessionId,
      type,
      reason: null,
      ip: "192.0.2.1",
      userAgent: null,
      browserName: "Safari",
      browserVersion: "17.5",
      osName: "iOS",
      osVersion: "17.5",
      deviceType: "mobile",
      country: null,
      region: null,
      city: null,
      createdAt,
    });
    const signIn: HistoryEntryJSON = historyEntryToJSON({
      kind: "sign_in",
      first: row("sign_in", T0),
      story: [row("session_activated", T0 + 1000), row("sign_out", T0 + 60_000)],
    });
    assert.deepEqual(
      [signIn.kind, signIn.count, signIn.firstAt, signIn.lastAt],
      ["sign_in", 1, new Date(T0).toISOString(), new Date(T0 + 60_000).toISOString()],
    );
    assert.deepEqual(
      signIn.timeline.map((e) => e.type),
      ["sign_in", "session_activated", "sign_out"],
    );
    const run = historyEntryToJSON({
      kind: "failures",
      events: [row("sign_in_failed", T0 + 9000, null), row("sign_in_failed", T0, null)],
    });
    assert.deepEqual(
      [run.kind, run.type, run.count, run.firstAt, run.lastAt, run.timeline],
      [
        "failures",
        "sign_in_failed",
        2,
        new Date(T0).toISOString(),
        new Date(T0 + 9000).toISOString(),
        [],
      ],
    );
  });
});

interface Backend {
  store: SessionStore;
  cleanup(): Promise<void>;
}

const backends: Array<[string, () => Promise<Backend>, string | false]> = [
  [
    "SQLite",
    async () => {
      const t = await tempSqlite("sk-history-");
      return { store: t.store, cleanup: t.cleanup };
    },
    false,
  ],
  [
    "PostgreSQL",
    async () => {
      const schema = await freshPgSchema();
      const store = postgresStorage(schema.pool());
      return {
        store,
        async cleanup() {
          await store.close().catch(() => {});
          await schema.drop();
        },
      };
    },
    await postgresSkip(),
  ],
];

for (const [name, open, skip] of backends) {
  describe(`history on ${name}`, { skip }, () => {
    let backend: Backend;
    let keeper: SessionKeeper;
    const clock = { now: T0 };
    before(async () => {
      backend = await open();
      keeper = createSessionKeeper({ storage: backend.store, now: () => clock.now });
      await keeper.migrate();
    });
    after(async () => {
      await keeper.close();
      await backend.cleanup();
    });

    it("tells a held sign-in's story in one entry, folds five failures, keeps changes apart", async () => {
      const user = "story-user";
      clock.now = T0;
      const laptop = await keeper.signIn(user, from(CHROME_WIN, "198.51.100.4"));
      clock.now += 60_000;
      // Five wrong passwords from one iPhone, seconds apart, then one from elsewhere.
      for (let i = 0; i < 5; i++) {
        clock.now += 12_000;
        await keeper.recordActivity(
          { type: "sign_in_failed", userId: user, reason: "invalid_credentials" },
          { info: from(SAFARI_IOS) },
        );
      }
      clock.now += 1000;
      await keeper.recordActivity(
        { type: "sign_in_failed", userId: user, reason: "invalid_credentials" },
        { info: from(SAFARI_IOS, "192.0.2.200") },
      );
      // Then the right password, held for a code, confirmed by the link, ended from the laptop.
      clock.now += 30_000;
      const held = await keeper.signIn(user, from(SAFARI_IOS), { status: "pending" });
      await keeper.recordActivity(
        {
          type: "verification_sent",
          userId: user,
          sessionId: held.session.id,
          reason: "new_device",
        },
        { info: from(SAFARI_IOS) },
      );
      clock.now += 45_000;
      const record = await backend.store.findSession(held.session.id);
      assert.ok(record);
      assert.ok(await keeper.activate(record, from(SAFARI_IOS), { method: "link" }));
      clock.now += 5 * 60_000;
      await keeper.recordActivity({ type: "password_changed", userId: user, sessionId: null });
      clock.now += 60_000;
      assert.ok(
        await keeper.revokeSession(held.session.id, {
          userId: user,
          info: from(CHROME_WIN, "198.51.100.4"),
          by: { kind: "session", sessionId: laptop.session.id },
        }),
      );

      // The story's ending is the session's: only the laptop is still signed in.
      const live: Session[] = await keeper.listSessions(user);
      assert.deepEqual(
        live.map((s) => s.id),
        [laptop.session.id],
      );
      const page = await keeper.historyPage(user);
      assert.equal(page.next, null);
      assert.deepEqual(
        page.entries.map((e) => e.kind),
        ["security", "sign_in", "failures", "failures", "sign_in"],
        "the revocation is not an entry: it ends the story of the sign-in it ended",
      );
      const [change, story, lone, run] = page.entries as [
        HistoryEntry,
        Extract<HistoryEntry, { kind: "sign_in" }>,
        Extract<HistoryEntry, { kind: "failures" }>,
        Extract<HistoryEntry, { kind: "failures" }>,
      ];
      assert.equal(change.kind === "security" && change.first.type, "password_changed");
      assert.deepEqual(
        [story.first, ...story.story].map((e) => [e.type, e.reason]),
        [
          ["sign_in", "pending_verification"],
          ["verification_sent", "new_device"],
          ["session_activated", "link"],
          ["session_revoked", "revoked_by_user"],
        ],
      );
      assert.equal(
        story.story[2]?.browserName,
        "Chrome",
        "the ending carries the device that did it",
      );
      assert.equal(lone.events.length, 1, "another address is another entry");
      assert.equal(run.events.length, 5);
      assert.equal(
        (run.events[0]?.createdAt as number) - (run.events[4]?.createdAt as number),
        48_000,
      );

      // Each filter keeps its kind; the sign-ins tab still tells each story.
      const signIns = await keeper.historyPage(user, { filter: "sign_ins" });
      assert.deepEqual(
        signIns.entries.map((e) => e.kind),
        ["sign_in", "sign_in"],
      );
      const failures = await keeper.historyPage(user, { filter: "failures" });
      assert.deepEqual(
        failures.entries.map((e) => (e.kind === "failures" ? e.events.length : 0)),
        [1, 5],
      );
      const security = await keeper.historyPage(user, { filter: "security" });
      assert.deepEqual(
        security.entries.map((e) => e.kind),
        ["security"],
      );
    });

    it("never splits a failure run across pages, and the page after it goes on from its end", async () => {
      const user = "run-user";
      clock.now = T0 + 86_400_000;
      await keeper.signIn(user, from(CHROME_WIN));
      for (let i = 0; i < 150; i++) {
        clock.now += 2000;
        await keeper.recordActivity(
          { type: "sign_in_failed", userId: user, reason: "invalid_credentials" },
          { info: from(SAFARI_IOS) },
        );
      }
      clock.now += 1000;
      await keeper.signIn(user, from(CHROME_WIN));
      const first = await keeper.historyPage(user, { limit: 2 });
      assert.deepEqual(
        first.entries.map((e) => (e.kind === "failures" ? e.events.length : e.kind)),
        ["sign_in", 150],
        "150 failures in one entry, read past the first batch",
      );
      assert.ok(first.next);
      const second = await keeper.historyPage(user, { limit: 2, before: first.next });
      assert.deepEqual(
        second.entries.map((e) => e.kind),
        ["sign_in"],
      );
      assert.equal(second.next, null);
    });

    it("walks more than two pages with no repeat and no gap while new events arrive", async () => {
      const user = "pager-user";
      clock.now = T0 + 10 * 86_400_000;
      const sessions: string[] = [];
      // 40 entries; every third event shares its millisecond with the one before.
      for (let i = 0; i < 40; i++) {
        if (i % 3 !== 0) clock.now += 1000;
        if (i % 4 === 0)
          await keeper.recordActivity(
            { type: "sign_in_failed", userId: user, reason: "invalid_credentials" },
            // Another address each time: not folded, one entry each.
            { info: from(SAFARI_IOS, `192.0.2.${i}`) },
          );
        else if (i % 7 === 0)
          await keeper.recordActivity({ type: "password_changed", userId: user, sessionId: null });
        else sessions.push((await keeper.signIn(user, from(CHROME_WIN))).session.id);
      }
      const whole = await keeper.historyPage(user, { limit: 100 });
      assert.equal(whole.entries.length, 40);
      const expected = whole.entries.map(keyOf);

      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const before = cursor ? decodeHistoryCursor(cursor) : null;
        if (cursor) assert.ok(before, "a cursor the library made decodes");
        const page: HistoryPage = await keeper.historyPage(user, { limit: 7, before });
        pages++;
        walked.push(...page.entries.map(keyOf));
        cursor = page.next ? encodeHistoryCursor(page.next) : null;
        // Meanwhile: a new sign-in, a new failure, and an old session ended (a story grows).
        clock.now += 1000;
        await keeper.signIn(user, from(CHROME_WIN));
        await keeper.recordActivity(
          { type: "sign_in_failed", userId: user, reason: "invalid_credentials" },
          { info: from(SAFARI_IOS, "192.0.2.250") },
        );
        const old = sessions.shift();
        if (old) await keeper.revokeSession(old, { userId: user });
      } while (cursor && pages < 20);
      assert.equal(pages, 6, "40 entries at 7 a page");
      assert.deepEqual(walked, expected, "every entry once, in order, none of the newer ones");
    });

    it("answers a page deep in 50,000 events from the index, quickly", async () => {
      const user = "long-user";
      const count = 50_000;
      const started = performance.now();
      await bulkInsert(backend.store as KyselyStore, user, count);
      // As autovacuum (PostgreSQL) would have by then: the planner knows the table is large.
      await sql`analyze sk_login_events`.execute((backend.store as KyselyStore).db);
      const seeded = performance.now() - started;
      const first = await timed(() => keeper.historyPage(user, { limit: 20 }));
      const deep = await timed(() =>
        keeper.historyPage(user, { limit: 20, before: { at: T0 + count / 2, id: "m" } }),
      );
      assert.equal(first.value.entries.length, 20);
      assert.equal(deep.value.entries.length, 20);
      console.log(
        `# ${name}: ${count} events seeded in ${seeded.toFixed(0)} ms; first page ${first.ms.toFixed(1)} ms, page at the middle ${deep.ms.toFixed(1)} ms`,
      );
      // Generous bounds for a loaded CI machine; a scan of every row per page would not be.
      assert.ok(first.ms < 500 && deep.ms < 500, `${first.ms} ms, ${deep.ms} ms`);
    });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  await fn(); // warm: the first query plans and fills caches
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/** Seeds a long history in one statement per batch: sign-ins and failures, one per millisecond. */
async function bulkInsert(store: KyselyStore, userId: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - start) }, (_, k) => {
      const i = start + k;
      return {
        id: `bulk${String(i).padStart(8, "0")}`,
        user_id: userId,
        session_id: i % 2 === 0 ? `bulk-session-${i}` : null,
        type: i % 2 === 0 ? "sign_in" : "sign_in_failed",
        reason: null,
        ip: `192.0.2.${i % 250}`,
        user_agent: null,
        browser_name: null,
        browser_version: null,
        os_name: null,
        os_version: null,
        device_type: null,
        country: null,
        region: null,
        city: null,
        created_at: T0 + i,
      };
    });
    // One transaction per thousand (one commit, not one per statement); fewer rows per
    // statement than PostgreSQL's 65,535 parameters allow.
    await store.db.transaction().execute(async (trx) => {
      for (let k = 0; k < rows.length; k += 250)
        await trx
          .insertInto("sk_login_events")
          .values(rows.slice(k, k + 250))
          .execute();
    });
  }
}
