// The guard's storage on every SQL backend: the same behaviour on SQLite, PostgreSQL and MariaDB,
// concurrency included (counters count every failure; a confirmation is spent exactly once).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mysql from "mysql2";
import {
  type KyselyProtectionStore,
  protectionStore,
} from "../../src/storage/kysely-protection.js";
import type { SqlSessionStore } from "../../src/storage/kysely-store.js";
import { mysqlStorage } from "../../src/storage/mysql.js";
import { postgresStorage } from "../../src/storage/postgres.js";
import type { VerificationRecord } from "../../src/storage/protection-store.js";
import { tempSqlite } from "../helpers/sqlite-fixture.js";
import { freshMysqlDatabase, freshPgSchema, mysqlSkip, postgresSkip } from "../many/services.js";

type Open = () => Promise<{ store: SqlSessionStore; cleanup(): Promise<void> }>;

function verification(overrides: Partial<VerificationRecord> = {}): VerificationRecord {
  return {
    id: `v${Math.random().toString(36).slice(2, 12)}`,
    kind: "verification",
    sessionId: "s1",
    userId: "u1",
    codeHash: "a".repeat(64),
    approveHash: "b".repeat(64),
    denyHash: "c".repeat(64),
    attempts: 0,
    expiresAt: 10_000,
    approvedAt: null,
    usedAt: null,
    createdAt: 1000,
    ...overrides,
  };
}

function protectionSuite(name: string, open: Open, options: { skip?: string | false } = {}) {
  describe(`protection store: ${name}`, { skip: options.skip || false }, () => {
    let opened: Awaited<ReturnType<Open>>;
    let store: KyselyProtectionStore;

    before(async () => {
      opened = await open();
      await opened.store.migrate();
      store = protectionStore(opened.store.db);
    });
    after(async () => {
      await opened?.cleanup();
    });

    it("counts every one of many concurrent failures, and restarts a window that ended", async () => {
      const now = 1_000_000;
      const results = await Promise.all(
        Array.from({ length: 25 }, () =>
          store.increment("k:concurrent", { now, windowMs: 60_000 }),
        ),
      );
      assert.ok(results.every((r) => r.resetAt === now + 60_000));
      assert.deepEqual(await store.read("k:concurrent", now + 1), {
        count: 25,
        resetAt: now + 60_000,
      });
      assert.equal(
        await store.read("k:concurrent", now + 60_000),
        null,
        "gone when the window ends",
      );
      assert.deepEqual(
        await store.increment("k:concurrent", { now: now + 60_000, windowMs: 60_000 }),
        { count: 1, resetAt: now + 120_000 },
      );
      await store.reset("k:concurrent");
      assert.equal(await store.read("k:concurrent", now + 60_001), null);
      assert.equal(await store.read("k:absent", now), null);
    });

    it("spends a confirmation exactly once, approves once, and counts attempts atomically", async () => {
      const v = verification({ sessionId: "s-spend" });
      await store.createVerification(v);
      assert.deepEqual(await store.findVerification(v.id), v);
      assert.deepEqual(await store.findOpenVerification("s-spend"), v);
      const attempts = await Promise.all(
        Array.from({ length: 10 }, () => store.addVerificationAttempt(v.id)),
      );
      assert.deepEqual([...attempts].sort((a, b) => (a ?? 0) - (b ?? 0))[9], 10);
      assert.equal((await store.findVerification(v.id))?.attempts, 10);
      assert.equal(await store.approveVerification(v.id, 10_000), false, "not once expired");
      const approvals = await Promise.all(
        Array.from({ length: 5 }, () => store.approveVerification(v.id, 5000)),
      );
      assert.equal(approvals.filter(Boolean).length, 1);
      const spends = await Promise.all(
        Array.from({ length: 10 }, () => store.spendVerification(v.id, 6000)),
      );
      assert.equal(spends.filter(Boolean).length, 1, "exactly one caller spends it");
      assert.equal(await store.findOpenVerification("s-spend"), null);
      assert.equal(await store.addVerificationAttempt(v.id), null, "a spent record counts nothing");
      assert.deepEqual(await store.findVerification(v.id), {
        ...v,
        attempts: 10,
        approvedAt: 5000,
        usedAt: 6000,
      });

      const alert = verification({
        kind: "alert",
        sessionId: "s-alert",
        codeHash: null,
        approveHash: null,
      });
      await store.createVerification(alert);
      assert.deepEqual(await store.findVerification(alert.id), alert);
      assert.equal(
        await store.findOpenVerification("s-alert"),
        null,
        "alerts are not verifications",
      );
    });

    it("remembers completed sign-ins per user, concurrently, with the latest place", async () => {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.rememberSignIn("u-known", {
            deviceId: "d".repeat(64),
            ip: "203.0.113.1",
            at: 1000 + i,
            latitude: 48.85,
            longitude: 2.35,
          }),
        ),
      );
      await store.rememberSignIn("u-known", {
        deviceId: null,
        ip: "2001:db8::1",
        at: 5000,
        latitude: 40.71,
        longitude: -74.01,
      });
      assert.equal(await store.isKnownDevice("u-known", "d".repeat(64)), true);
      assert.equal(
        await store.isKnownDevice("u-other", "d".repeat(64)),
        false,
        "known for that user only",
      );
      assert.equal(await store.isKnownIp("u-known", "203.0.113.1"), true);
      assert.equal(await store.isKnownIp("u-known", "203.0.113.2"), false);
      assert.deepEqual(await store.previousSignIn("u-known"), {
        ip: "2001:db8::1",
        at: 5000,
        latitude: 40.71,
        longitude: -74.01,
      });
      assert.equal(await store.previousSignIn("u-nobody"), null);
    });

    it("adds, lists, counts and removes IP rules by scope and account", async () => {
      const base = { note: null, createdAt: 1 };
      await store.addIpRule({
        id: "r1",
        scope: "global",
        userId: null,
        action: "deny",
        cidr: "10.0.0.0/8",
        ...base,
      });
      await store.addIpRule({
        id: "r2",
        scope: "account",
        userId: "u1",
        action: "allow",
        cidr: "2001:db8::/32",
        ...base,
        createdAt: 2,
      });
      await store.addIpRule({
        id: "r3",
        scope: "account",
        userId: "u2",
        action: "allow",
        cidr: "192.0.2.1",
        note: "home",
        createdAt: 3,
      });
      assert.deepEqual(
        (await store.listIpRules()).map((r) => [r.id, r.scope, r.userId, r.action, r.cidr, r.note]),
        [
          ["r1", "global", null, "deny", "10.0.0.0/8", null],
          ["r2", "account", "u1", "allow", "2001:db8::/32", null],
          ["r3", "account", "u2", "allow", "192.0.2.1", "home"],
        ],
      );
      assert.equal(await store.countIpRules("account", "u1"), 1);
      assert.equal(await store.countIpRules("global", null), 1);
      assert.equal(
        await store.removeIpRule("r3", { scope: "account", userId: "u1" }),
        false,
        "not u1's rule",
      );
      assert.equal(await store.removeIpRule("r3", { scope: "account", userId: "u2" }), true);
      assert.equal(
        await store.removeIpRule("r1", { scope: "account", userId: "u1" }),
        false,
        "scope must match",
      );
      assert.equal(await store.removeIpRule("r1", { scope: "global" }), true);
    });

    it("prunes ended counter windows and old confirmations", async () => {
      await store.increment("k:prune-old", { now: 0, windowMs: 10 });
      await store.increment("k:prune-live", { now: 0, windowMs: 1_000_000 });
      await store.createVerification(verification({ sessionId: "s-prune", expiresAt: 50 }));
      const pruned = await store.pruneProtection({ now: 100, verificationsBefore: 100 });
      assert.ok(pruned.counters >= 1 && pruned.verifications >= 1);
      assert.equal(await store.read("k:prune-live", 100).then((r) => r?.count), 1);
      assert.equal(await store.findOpenVerification("s-prune"), null);
    });
  });
}

protectionSuite("SQLite", async () => {
  const sqlite = await tempSqlite("sk-protection-store-");
  return { store: sqlite.store, cleanup: () => sqlite.cleanup() };
});

const pgSkip = await postgresSkip();
protectionSuite(
  "PostgreSQL",
  async () => {
    const schema = await freshPgSchema();
    const store = postgresStorage(schema.pool({ max: 8 }));
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  },
  { skip: pgSkip },
);

const myskip = await mysqlSkip();
protectionSuite(
  "MariaDB/MySQL",
  async () => {
    const database = await freshMysqlDatabase();
    const store = mysqlStorage(mysql.createPool({ uri: database.url, connectionLimit: 8 }));
    return {
      store,
      async cleanup() {
        await store.close();
        await database.drop();
      },
    };
  },
  { skip: myskip },
);
