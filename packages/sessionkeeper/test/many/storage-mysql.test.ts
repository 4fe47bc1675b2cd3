import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mysql from "mysql2";
import mysqlPromise from "mysql2/promise";
import type { KyselyStore } from "../../src/storage/kysely-store.js";
import { mysqlStorage } from "../../src/storage/mysql.js";
import type { LoginEvent, SessionRecord } from "../../src/types.js";
import { runStorageConformance } from "../conformance/storage-suite.js";
import { DAY, sessionRecord, signInEventFor } from "../helpers/records.js";
import { redisCachedStore, redisSkip } from "./redis-kit.js";
import { freshMysqlDatabase, type MysqlDatabase, mysqlSkip } from "./services.js";

const skip = await mysqlSkip();
const redisSkipped = skip || (await redisSkip());

if (skip) {
  describe("storage conformance: MariaDB/MySQL", { skip }, () => {
    it("needs a MariaDB or MySQL server", () => {});
  });
} else {
  // Each run gets a database of its own on the shared server.
  runStorageConformance("MariaDB (mysql2)", async () => {
    const database = await freshMysqlDatabase();
    const store = mysqlStorage(mysql.createPool({ uri: database.url, connectionLimit: 4 }));
    return {
      store,
      async cleanup() {
        await store.close().catch(() => {}); // the suite may have closed it already
        await database.drop();
      },
    };
  });
}

if (redisSkipped) {
  describe("storage conformance: MariaDB/MySQL behind the Redis cache", {
    skip: redisSkipped,
  }, () => {
    it("needs MariaDB/MySQL and Redis", () => {});
  });
} else {
  // The same contract through the cache layer, with a Redis cache of its own (fresh prefix).
  runStorageConformance("MariaDB (mysql2) behind cachedStore + Redis cache", async () => {
    const database = await freshMysqlDatabase();
    const cached = await redisCachedStore(
      mysqlStorage(mysql.createPool({ uri: database.url, connectionLimit: 4 })),
    );
    return {
      store: cached.store,
      async cleanup() {
        await cached.close();
        await database.drop();
      },
    };
  });
}

describe("MariaDB/MySQL specifics", { skip }, () => {
  let database: MysqlDatabase;
  let store: KyselyStore;
  before(async () => {
    database = await freshMysqlDatabase();
    store = mysqlStorage(mysql.createPool({ uri: database.url, connectionLimit: 4 }));
  });
  after(async () => {
    await store?.close();
    await database?.drop();
  });

  it("two instances migrating a fresh database at the same moment apply each migration once", async () => {
    // A second instance, through a mysql2/promise pool: accepted as well.
    const other = mysqlStorage(mysqlPromise.createPool({ uri: database.url, connectionLimit: 2 }));
    try {
      await Promise.all([store.migrate(), other.migrate()]);
      const check = await mysqlPromise.createConnection({ uri: database.url });
      const [rows] = await check.query<mysqlPromise.RowDataPacket[]>(
        "SELECT name FROM sk_migrations ORDER BY name",
      );
      await check.end();
      const names = rows.map((r) => r.name as string);
      assert.ok(names.length >= 2, "the migrations ran");
      assert.deepEqual(names, [...new Set(names)], "no migration recorded twice");
      assert.equal(await other.findSession("nope"), null);
    } finally {
      await other.close();
    }
  });

  it("ending a user's sessions reports only those this call ended, when another request ends one at the same moment", async () => {
    await store.migrate();
    const first = record({ userId: "user-c" });
    const second = record({ userId: "user-c" });
    for (const r of [first, second]) await store.createSession(r, event(r));
    const other = await mysqlPromise.createConnection({ uri: database.url });
    try {
      // Another request is ending the first session and has not committed yet.
      await other.query("START TRANSACTION");
      await other.query(
        "UPDATE sk_sessions SET status = 'revoked', end_reason = 'revoked_by_user', ended_at = 1 WHERE id = ?",
        [first.id],
      );
      const pending = store.endUserSessions("user-c", {
        status: "revoked",
        reason: "revoked_by_admin",
        endedAt: Date.now(),
      });
      await new Promise((r) => setTimeout(r, 150)); // ours now waits for that row's lock
      await other.query("COMMIT");
      assert.deepEqual(await pending, [second.id], "the first was the other request's to report");
    } finally {
      await other.end();
    }
  });

  it("compares user ids and session ids exactly, as SQLite and PostgreSQL do: Bob is not bob", async () => {
    await store.migrate();
    const lower = record({ userId: "bob" });
    const upper = record({ userId: "Bob" });
    const spaced = record({ userId: "bob " });
    for (const r of [lower, upper, spaced]) await store.createSession(r, event(r));

    const listed = await store.listUserSessions("Bob", { includeEnded: false, limit: 10 });
    assert.deepEqual(
      listed.map((s) => s.id),
      [upper.id],
    );
    const ended = await store.endUserSessions("bob", {
      status: "revoked",
      reason: "revoked_by_admin",
      endedAt: Date.now(),
    });
    assert.deepEqual(ended, [lower.id], "revoking bob's sessions leaves Bob's and 'bob ''s alone");
    assert.equal((await store.findSession(upper.id))?.status, "active");
    assert.equal((await store.findSession(spaced.id))?.status, "active");
    // A session id differing only by letter case is another id.
    assert.equal(await store.findSession(swapCase(upper.id)), null);
  });

  it("keeps 4-byte unicode in a user agent and a city", async () => {
    await store.migrate();
    const r = record({ userAgent: "Agent 🦊 𝒳", city: "Zürich 🏔" });
    await store.createSession(r, event(r));
    const found = await store.findSession(r.id);
    assert.equal(found?.userAgent, "Agent 🦊 𝒳");
    assert.equal(found?.city, "Zürich 🏔");
  });
});

let counter = 0;

function swapCase(value: string): string {
  return [...value]
    .map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
    .join("");
}

function record(overrides: Partial<SessionRecord>): SessionRecord {
  const now = Date.now();
  counter++;
  return sessionRecord({
    id: `AbCdEfGhIjKlMnOpQr${String(counter).padStart(4, "0")}`,
    userId: "user-1",
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + DAY,
    ...overrides,
  });
}

function event(r: SessionRecord): LoginEvent {
  return { ...signInEventFor(r), id: `ev-${r.id}` };
}
