import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { RedisCache } from "../../src/cache/redis.js";
import { isStorageError } from "../../src/errors.js";
import { isPromise } from "../../src/maybe-promise.js";
import { cachedStore } from "../../src/storage/cached-store.js";
import type { SessionStore } from "../../src/storage/contract.js";
import { sqliteStorage } from "../../src/storage/sqlite.js";
import { loginEvent, MINUTE, sessionRecord, T0 } from "../helpers/records.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";
import { eventually } from "./kit.js";
import { redisSkip, sharedRedisCache } from "./redis-kit.js";

const skip = await redisSkip();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Instance {
  store: SessionStore;
  cache: RedisCache;
  drops: Array<{ ids: readonly string[]; origin: "local" | "remote" }>;
  close(): Promise<void>;
}

// Two app instances on one database (an SQLite file, one connection each, no read cache of their
// own) and one Redis: what the cache layer broadcasts, and what it keeps to itself.
describe("cachedStore with the Redis cache: what reaches other instances", { skip }, () => {
  let t: TempSqlite;
  let a: Instance;
  let b: Instance;
  let prefix: string | undefined;

  async function instance(): Promise<Instance> {
    const drops: Instance["drops"] = [];
    const redis = await sharedRedisCache(prefix, {
      onInvalidated: (ids, origin) => drops.push({ ids, origin }),
    });
    prefix = redis.prefix;
    const store = cachedStore(sqliteStorage(new Database(t.file), { cache: false }), redis.cache);
    return {
      store,
      cache: redis.cache,
      drops,
      async close() {
        await store.close();
        await redis.close();
      },
    };
  }

  async function seedBoth() {
    const record = sessionRecord();
    await a.store.createSession(record, loginEvent({ sessionId: record.id }));
    for (const on of [a, b]) await on.store.findSession(record.id);
    return record;
  }

  before(async () => {
    t = await tempSqlite("sk-cached-redis-");
    await t.store.migrate();
    a = await instance();
    b = await instance();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await t?.cleanup();
  });

  it("answers a hit synchronously although the store is asynchronous to it", async () => {
    const record = await seedBoth();
    const hit = b.store.findSession(record.id);
    assert.equal(isPromise(hit), false);
    assert.deepEqual(hit, record);
  });

  it("does not broadcast a touch: the copy here takes it, the other instance's copy lags", async () => {
    const record = await seedBoth();
    const [aBefore, bBefore] = [a.drops.length, b.drops.length];
    const update = { lastSeenAt: T0 + MINUTE, lastIp: "192.0.2.4", previousLastSeenAt: T0 };
    assert.equal(await a.store.touchSession(record.id, update), true);
    await sleep(200); // long enough for a published message to arrive
    assert.equal(a.drops.length, aBefore, "A published nothing");
    assert.equal(b.drops.length, bBefore, "B heard nothing");
    assert.equal(a.cache.get(record.id)?.lastSeenAt, T0 + MINUTE);
    assert.equal(
      b.cache.get(record.id)?.lastSeenAt,
      T0,
      "tolerated: the keeper's isFresh re-reads",
    );
    // An ending is broadcast.
    assert.equal(await a.store.endSession(record.id, { ...ended(), endedAt: T0 + 2 }), true);
    await eventually(() => b.cache.get(record.id) === null, "B drops the ended session");
    assert.equal((await b.store.findSession(record.id))?.status, "revoked");
  });

  it("broadcasts a data update: the other instance drops its copy and reads the new data", async () => {
    const record = await seedBoth();
    assert.equal(b.cache.get(record.id)?.data, null, "B holds a copy");
    const bBefore = b.drops.length;
    assert.equal(await a.store.updateSessionData(record.id, { data: '{"cartId":"c-2"}' }), true);
    await eventually(() => b.cache.get(record.id) === null, "B drops the session");
    assert.deepEqual(
      b.drops.slice(bBefore).map((d) => [d.ids, d.origin]),
      [[[record.id], "remote"]],
    );
    assert.equal((await b.store.findSession(record.id))?.data, '{"cartId":"c-2"}');
    // A write that changed nothing (an ended session) has nothing to broadcast.
    await a.store.endSession(record.id, ended());
    await eventually(() => b.cache.get(record.id) === null, "B drops the ended session");
    const aBefore = a.drops.length;
    assert.equal(await a.store.updateSessionData(record.id, { data: "{}" }), false);
    await sleep(200);
    assert.equal(a.drops.length, aBefore, "A published nothing");
  });

  it("broadcasts the drop of a failing write, and a clear when a bulk end fails", async () => {
    const record = await seedBoth();
    const other = await seedBoth();
    t.db.exec(
      "CREATE TRIGGER refuse_updates BEFORE UPDATE ON sk_sessions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    );
    try {
      await assert.rejects(
        a.store.rotateSession(record.id, { secretHash: "e".repeat(64), expectStatus: "active" }),
        isStorageError,
      );
      await eventually(() => b.cache.get(record.id) === null, "B drops the session");
      assert.ok(b.cache.get(other.id), "and only that one");
      await assert.rejects(a.store.endUserSessions(other.userId, ended()), isStorageError);
      await eventually(() => b.cache.get(other.id) === null, "B forgets every session");
    } finally {
      t.db.exec("DROP TRIGGER refuse_updates");
    }
  });
});

function ended() {
  return { status: "revoked" as const, reason: "revoked_by_user", endedAt: T0 + 1 };
}
