import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { postgresStorage } from "../../src/storage/postgres.js";
import type { LoginEvent, SessionRecord } from "../../src/types.js";
import { runStorageConformance } from "../conformance/storage-suite.js";
import { DAY, loginEvent, sessionRecord } from "../helpers/records.js";
import { redisCachedStore, redisSkip } from "./redis-kit.js";
import { freshPgSchema, type PgSchema, postgresSkip } from "./services.js";

const skip = await postgresSkip();
const redisSkipped = skip || (await redisSkip());

if (skip) {
  describe("storage conformance: PostgreSQL", { skip }, () => {
    it("needs a PostgreSQL server", () => {});
  });
} else {
  // Each run gets a schema of its own in the shared database; the pool's connections use it.
  runStorageConformance("PostgreSQL (pg)", async () => {
    const schema = await freshPgSchema();
    const store = postgresStorage(schema.pool());
    return {
      store,
      async cleanup() {
        await store.close().catch(() => {}); // the suite may have closed it already
        await schema.drop();
      },
    };
  });
}

if (redisSkipped) {
  describe("storage conformance: PostgreSQL behind the Redis cache", { skip: redisSkipped }, () => {
    it("needs PostgreSQL and Redis", () => {});
  });
} else {
  // The same contract through the cache layer, with a Redis cache of its own (fresh prefix).
  runStorageConformance("PostgreSQL (pg) behind cachedStore + Redis cache", async () => {
    const schema = await freshPgSchema();
    const cached = await redisCachedStore(postgresStorage(schema.pool()));
    return {
      store: cached.store,
      async cleanup() {
        await cached.close();
        await schema.drop();
      },
    };
  });
}

describe("PostgreSQL specifics", { skip }, () => {
  let schema: PgSchema;
  before(async () => {
    schema = await freshPgSchema();
  });
  after(() => schema?.drop());

  it("two instances migrating a fresh schema at the same moment apply each migration once", async () => {
    const a = postgresStorage(schema.pool());
    const b = postgresStorage(schema.pool());
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      const check = schema.pool({ max: 1 });
      const { rows } = await check.query<{ name: string }>(
        "SELECT name FROM sk_migrations ORDER BY name",
      );
      const names = rows.map((r) => r.name);
      assert.ok(names.length >= 2, "the migrations ran");
      assert.deepEqual(names, [...new Set(names)], "no migration recorded twice");
      const tables = await check.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
        [schema.name],
      );
      assert.ok(
        tables.rows.some((r) => r.table_name === "sk_sessions"),
        "tables are in the instance's own schema",
      );
      await check.end();
      // Both instances work on the result.
      assert.equal(await a.findSession("nope"), null);
      assert.equal(await b.findSession("nope"), null);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("migrates into its own schema even when another schema of the database already has the tables", async () => {
    // The schema of the previous test is migrated; a second app in another schema must still get its own.
    const other = await freshPgSchema();
    const store = postgresStorage(other.pool());
    try {
      await store.migrate();
      await store.createSession(record("s-other"), event("s-other"));
      assert.equal((await store.findSession("s-other"))?.userId, "user-1");
      const first = postgresStorage(schema.pool());
      assert.equal(await first.findSession("s-other"), null, "the schemas do not share rows");
      await first.close();
    } finally {
      await store.close();
      await other.drop();
    }
  });

  it("survives the server dropping an idle connection: no crash, the next lookup reconnects", async () => {
    const appName = `sk-idle-${process.pid}-${Date.now()}`;
    const store = postgresStorage(schema.pool({ application_name: appName }));
    try {
      await store.migrate();
      assert.equal(await store.findSession("warm"), null);
      const admin = new pg.Client({ connectionString: schema.url });
      await admin.connect();
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        [appName],
      );
      await admin.end();
      assert.ok(killed.rowCount && killed.rowCount > 0, "an idle pooled connection was terminated");
      // Give the pool a moment to notice the dead idle client (its "error" event must not crash us).
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await store.findSession("after"), null);
    } finally {
      await store.close();
    }
  });

  it("ending a user's sessions reports only those this call ended, when another request ends one at the same moment", async () => {
    const store = postgresStorage(schema.pool());
    const locker = schema.pool({ max: 1 });
    try {
      await store.migrate();
      for (const id of ["c1", "c2"])
        await store.createSession({ ...record(id), userId: "user-c" }, event(id));
      const other = await locker.connect();
      try {
        // Another request is ending c1 and has not committed yet.
        await other.query("BEGIN");
        await other.query(
          "UPDATE sk_sessions SET status = 'revoked', end_reason = 'revoked_by_user', ended_at = 1 WHERE id = 'c1'",
        );
        const pending = store.endUserSessions("user-c", {
          status: "revoked",
          reason: "revoked_by_admin",
          endedAt: Date.now(),
        });
        await new Promise((r) => setTimeout(r, 150)); // ours now waits for c1's row lock
        await other.query("COMMIT");
        assert.deepEqual(await pending, ["c2"], "c1 was the other request's to report");
      } finally {
        other.release();
      }
      assert.equal((await store.findSession("c1"))?.endReason, "revoked_by_user");
    } finally {
      await locker.end();
      await store.close();
    }
  });

  it("lookups made together share one statement and each gets its own answer", async () => {
    const pool = schema.pool();
    let statements = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
      statements++;
      return query(...args);
    };
    const store = postgresStorage(pool);
    try {
      await store.migrate();
      for (const id of ["b1", "b2", "b3"]) await store.createSession(record(id), event(id));
      statements = 0;
      const ids = ["b1", "b2", "missing", "b3", "b1"];
      const found = await Promise.all(ids.map((id) => store.findSession(id)));
      assert.equal(statements, 1, "one round trip for five lookups");
      assert.deepEqual(
        found.map((r) => r?.id ?? null),
        ["b1", "b2", null, "b3", "b1"],
      );
      assert.notEqual(found[0], found[4], "callers never share a record object");
      // More lookups than one statement takes: split into batches, every one still answered.
      statements = 0;
      const many = Array.from({ length: 250 }, (_, i) => (i % 50 === 0 ? "b3" : `none-${i}`));
      const answers = await Promise.all(many.map((id) => store.findSession(id)));
      assert.equal(statements, 3, "batches of at most 100");
      assert.deepEqual(
        answers.map((r, i) => (r === null ? null : `${r.id}@${i}`)).filter(Boolean),
        [0, 50, 100, 150, 200].map((i) => `b3@${i}`),
      );
      // Alone, a lookup still answers (the single-id statement).
      assert.equal((await store.findSession("b2"))?.userId, "user-1");
      // Every lookup of a failed batch fails as a StorageError.
      await pool.end();
      const failed = await Promise.allSettled(["b1", "b2"].map((id) => store.findSession(id)));
      for (const result of failed) {
        assert.equal(result.status, "rejected");
        assert.equal(
          (result as PromiseRejectedResult).reason.code,
          "SESSIONKEEPER_STORAGE_UNAVAILABLE",
        );
      }
    } finally {
      await store.close().catch(() => {});
    }
  });
});

// Times are "now" here: these tests read rows back, they do not test expiry.
function record(id: string): SessionRecord {
  const now = Date.now();
  return sessionRecord({
    id,
    userId: "user-1",
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + DAY,
  });
}

function event(sessionId: string): LoginEvent {
  return loginEvent({ id: `e-${sessionId}`, userId: "user-1", sessionId, createdAt: Date.now() });
}
