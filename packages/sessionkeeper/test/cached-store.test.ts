import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { isStorageError } from "../src/errors.js";
import { isPromise } from "../src/maybe-promise.js";
import { cachedStore } from "../src/storage/cached-store.js";
import type { EndSessionInput, SessionStore } from "../src/storage/contract.js";
import { sqliteStorage } from "../src/storage/sqlite.js";
import { SqliteReadCache } from "../src/storage/sqlite-cache.js";
import type { SessionRecord } from "../src/types.js";
import { loginEvent, MINUTE, sessionRecord, T0 } from "./helpers/records.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";
import { countFinds } from "./many/kit.js";

const ENDED: EndSessionInput = { status: "revoked", reason: "revoked_by_user", endedAt: T0 + 1 };

async function seed(store: SessionStore, overrides: Partial<SessionRecord> = {}) {
  const record = sessionRecord(overrides);
  await store.createSession(record, loginEvent({ userId: record.userId, sessionId: record.id }));
  return record;
}

/** The store's lookup, which must have answered without a promise. */
function findNow(store: SessionStore, id: string): SessionRecord | null {
  const found = store.findSession(id);
  assert.equal(isPromise(found), false, "answered without a promise");
  return found as SessionRecord | null;
}

// The cache layer over a real SQLite store and the connection's real read cache; the store is
// made without a cache of its own so that its reads can be counted beneath the layer.
describe("cachedStore: the cache layer over a store", () => {
  let t: TempSqlite;
  let db: Database.Database;
  let cache: SqliteReadCache;
  let inner: ReturnType<typeof countFinds<SessionStore>>;
  let store: SessionStore;
  before(async () => {
    t = await tempSqlite("sk-cached-store-");
    await t.store.migrate();
    db = new Database(t.file);
    cache = SqliteReadCache.for(db) as SqliteReadCache;
    inner = countFinds(sqliteStorage(db, { cache: false }));
    store = cachedStore(inner.store, cache);
  });
  after(async () => {
    await store.close();
    await t.cleanup();
  });

  it("serves a hit synchronously, without reading the store, and the read before it too", async () => {
    const record = await seed(store);
    const before = inner.finds();
    assert.deepEqual(findNow(store, record.id), record);
    const hit = findNow(store, record.id);
    assert.deepEqual(hit, record);
    assert.equal(inner.finds(), before + 1, "the second lookup was a hit");
    assert.ok(Object.isFrozen(hit), "a shared copy nobody can change");
  });

  it("reads the store again when isFresh refuses the cached copy", async () => {
    const record = await seed(store);
    let fresh = true;
    const picky = cachedStore(inner.store, cache, { isFresh: () => fresh });
    findNow(picky, record.id);
    const before = inner.finds();
    findNow(picky, record.id);
    assert.equal(inner.finds(), before);
    fresh = false;
    findNow(picky, record.id);
    assert.equal(inner.finds(), before + 1);
  });

  it("never keeps ended sessions", async () => {
    const record = await seed(store, { status: "revoked", endedAt: T0, endReason: "sign_out" });
    findNow(store, record.id);
    assert.equal(cache.get(record.id), null);
  });

  it("does not keep a read that raced a drop of the same session", async () => {
    const record = await seed(store);
    // A store whose lookup reads at once but answers only when released: the read is over
    // before the session ends, its answer arrives after.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: SessionStore = Object.create(inner.store, {
      findSession: {
        value: async (id: string) => {
          const read = await inner.store.findSession(id);
          await released;
          return read;
        },
      },
    });
    const layered = cachedStore(slow, cache);
    const racing = layered.findSession(record.id);
    assert.equal(await layered.endSession(record.id, ENDED), true);
    release();
    assert.equal((await racing)?.status, "active", "the racing read saw the row before the end");
    assert.equal(cache.get(record.id), null, "and it was not kept");
    assert.equal((await layered.findSession(record.id))?.status, "revoked");
  });

  it("applies its own touch to the cached copy: the next lookup is a hit with the new values", async () => {
    const record = await seed(store);
    findNow(store, record.id);
    const update = { lastSeenAt: T0 + MINUTE, lastIp: "192.0.2.9", previousLastSeenAt: T0 };
    assert.equal(await store.touchSession(record.id, update), true);
    const before = inner.finds();
    const hit = findNow(store, record.id);
    assert.equal(inner.finds(), before, "a hit");
    assert.deepEqual(hit, { ...record, lastSeenAt: T0 + MINUTE, lastIp: "192.0.2.9" });
    // A touch that changed nothing forgets the copy: the next lookup reads the row.
    assert.equal(await store.touchSession(record.id, update), false);
    assert.equal(cache.get(record.id), null);
  });

  it("drops what a failing write may have changed: the session, or every session for endUserSessions", async () => {
    const a = await seed(store, { userId: "fails" });
    const b = await seed(store, { userId: "fails" });
    const bystander = await seed(store, { userId: "someone-else" });
    for (const s of [a, b, bystander]) findNow(store, s.id);
    db.exec(
      "CREATE TRIGGER refuse_updates BEFORE UPDATE ON sk_sessions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    );
    try {
      await assert.rejects(
        store.rotateSession(a.id, { secretHash: "f".repeat(64), expectStatus: "active" }),
        isStorageError,
      );
      assert.equal(cache.get(a.id), null);
      assert.ok(cache.get(b.id), "the others stay");
      await assert.rejects(store.endUserSessions("fails", ENDED), isStorageError);
      assert.equal(cache.size, 0, "which sessions ended is unknown: none is kept");
    } finally {
      db.exec("DROP TRIGGER refuse_updates");
    }
  });

  it("turns a cache that throws into a StorageError, synchronously", async () => {
    const scratch = await tempSqlite("sk-cached-store-closed-");
    try {
      await scratch.store.migrate();
      const record = await seed(scratch.store);
      findNow(scratch.store, record.id);
      scratch.db.close(); // the read cache's get now throws: the connection is not open
      assert.throws(
        () => scratch.store.findSession(record.id),
        (error: unknown) =>
          isStorageError(error) && /not open/.test(String((error as Error).cause)),
      );
    } finally {
      await scratch.cleanup();
    }
  });
});
