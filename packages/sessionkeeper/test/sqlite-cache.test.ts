import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { StorageError } from "../src/errors.js";
import { createSessionKeeper, type SessionKeeper } from "../src/session-keeper.js";
import { sqliteStorage } from "../src/storage/sqlite.js";
import type { RequestInfo } from "../src/types.js";
import { cookieValue, type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function request(cookie: string | null): RequestInfo {
  return { cookieHeader: cookie, ip: "203.0.113.9", userAgent: "test", secure: false };
}

async function signIn(keeper: SessionKeeper, userId = "u1"): Promise<string> {
  const { setCookies } = await keeper.signIn(userId, request(null));
  return `sk_session=${cookieValue(setCookies)}`;
}

// The SQLite store keeps sessions it read in memory. These tests are about what must never be
// served from there: a session another connection ended, or anything once the database is gone.
describe("SQLite read cache", () => {
  let sqlite: TempSqlite;
  let keeper: SessionKeeper;
  before(async () => {
    sqlite = await tempSqlite("sk-cache-");
    keeper = createSessionKeeper({ storage: sqlite.store });
    await keeper.migrate();
  });
  after(() => sqlite.cleanup());

  it("serves repeat lookups from memory: the file is not read again", async () => {
    const cookie = await signIn(keeper);
    assert.ok(await keeper.authenticate(request(cookie)));
    // A raw update on the store's own connection bypasses the store: the cached copy still answers.
    const id = cookie.slice("sk_session=".length, "sk_session=".length + 22);
    sqlite.db.prepare("UPDATE sk_sessions SET user_agent = 'changed' WHERE id = ?").run(id);
    const again = await keeper.authenticate(request(cookie));
    assert.equal(again?.record.userAgent, "test");
  });

  it("refuses, on the next lookup, a session this keeper revoked", async () => {
    const cookie = await signIn(keeper);
    const found = await keeper.authenticate(request(cookie));
    assert.ok(found);
    await keeper.revokeSession(found.record.id, { userId: "u1", info: request(cookie) });
    assert.equal(await keeper.authenticate(request(cookie)), null);
  });

  it("refuses a session another connection (another process, the CLI) ended, within the check interval", async () => {
    const cookie = await signIn(keeper, "u2");
    assert.ok(await keeper.authenticate(request(cookie)));
    const other = new Database(sqlite.file);
    try {
      const otherKeeper = createSessionKeeper({ storage: sqliteStorage(other) });
      assert.equal(await otherKeeper.revokeAllSessions("u2", { info: request(null) }), 1);
      await sleep(5); // > the default 1 ms check interval
      assert.equal(await keeper.authenticate(request(cookie)), null);
    } finally {
      other.close();
    }
  });

  it("with checkInterval 0, sees another connection's commit on the very next lookup", async () => {
    const db = new Database(sqlite.file);
    const other = new Database(sqlite.file);
    try {
      const strict = createSessionKeeper({
        storage: sqliteStorage(db, { cache: { checkInterval: 0 } }),
      });
      const cookie = await signIn(strict, "u3");
      for (let i = 0; i < 3; i++) assert.ok(await strict.authenticate(request(cookie)));
      other.prepare("UPDATE sk_sessions SET status = 'revoked' WHERE user_id = 'u3'").run();
      assert.equal(await strict.authenticate(request(cookie)), null);
    } finally {
      db.close();
      other.close();
    }
  });

  it("fails closed once the connection is closed, even for a cached session", async () => {
    const scratch = await tempSqlite("sk-cache-closed-");
    try {
      const k = createSessionKeeper({ storage: scratch.store });
      await k.migrate();
      const cookie = await signIn(k);
      assert.ok(await k.authenticate(request(cookie)));
      scratch.db.close();
      await assert.rejects(k.authenticate(request(cookie)), StorageError);
    } finally {
      await scratch.cleanup();
    }
  });

  // Writes on the cache's own connection do not move data_version: they reach the cache only
  // through a cache layer over it. Two stores on one connection share that one cache.
  it("shares one cache between stores on one connection, so either's writes reach the other", async () => {
    const db = new Database(sqlite.file);
    try {
      const a = createSessionKeeper({ storage: sqliteStorage(db) });
      const b = createSessionKeeper({ storage: sqliteStorage(db) });
      const cookie = await signIn(a, "u4");
      const found = await a.authenticate(request(cookie));
      assert.ok(found);
      await b.revokeSession(found.record.id, { userId: "u4", info: request(null) });
      assert.equal(await a.authenticate(request(cookie)), null);
    } finally {
      db.close();
    }
  });

  it("reads a session again once its ttl is over", async () => {
    const db = new Database(sqlite.file);
    try {
      const k = createSessionKeeper({ storage: sqliteStorage(db, { cache: { ttl: 20 } }) });
      const cookie = await signIn(k, "u5");
      assert.equal((await k.authenticate(request(cookie)))?.record.userAgent, "test");
      db.prepare("UPDATE sk_sessions SET user_agent = 'later' WHERE user_id = 'u5'").run();
      await sleep(40);
      assert.equal((await k.authenticate(request(cookie)))?.record.userAgent, "later");
    } finally {
      db.close();
    }
  });

  it("names a bad cache option at start-up", () => {
    const db = new Database(":memory:");
    try {
      assert.throws(() => sqliteStorage(db, { cache: { maxEntries: -1 } }), /cache\.maxEntries/);
      assert.throws(
        () => sqliteStorage(db, { cache: { checkInterval: "soon" } }),
        /cache\.checkInterval/,
      );
      assert.throws(() => sqliteStorage(db, { cache: { ttl: 0 } }), /cache\.ttl/);
    } finally {
      db.close();
    }
  });
});
