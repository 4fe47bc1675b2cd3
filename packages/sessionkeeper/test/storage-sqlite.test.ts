import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { createSessionKeeper, type SessionKeeper } from "../src/session-keeper.js";
import { sqliteStorage } from "../src/storage/sqlite.js";
import type { RequestInfo } from "../src/types.js";
import { runStorageConformance } from "./conformance/storage-suite.js";
import { cookieValue, type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

// sqliteStorage() by default: the store behind the cache layer over the connection's read cache.
runStorageConformance("sqlite (better-sqlite3 file) behind its read cache", async () => {
  const t = await tempSqlite("sk-conformance-");
  return { store: t.store, cleanup: t.cleanup };
});

runStorageConformance("sqlite (better-sqlite3 file) without a cache", async () => {
  const t = await tempSqlite("sk-conformance-");
  const db = new Database(t.file);
  const store = sqliteStorage(db, { cache: false });
  return {
    store,
    async cleanup() {
      await store.close();
      if (db.open) db.close();
      await t.cleanup();
    },
  };
});

function browser(cookieHeader: string | null = null): RequestInfo {
  return {
    cookieHeader,
    ip: "198.51.100.23",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    secure: false,
  };
}

/** Every byte form a secret could take if it leaked: the text, the raw bytes, and their hex. */
function leakForms(base64urlSecret: string): Buffer[] {
  const raw = Buffer.from(base64urlSecret, "base64url");
  return [
    Buffer.from(base64urlSecret),
    raw,
    Buffer.from(raw.toString("hex")),
    Buffer.from(raw.toString("hex").toUpperCase()),
  ];
}

async function readIfExists(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    return Buffer.alloc(0);
  }
}

describe("sqlite storage specifics", () => {
  let t: TempSqlite;
  let keeper: SessionKeeper;

  before(async () => {
    t = await tempSqlite("sk-sqlite-");
    keeper = createSessionKeeper({ storage: t.store });
    await keeper.migrate();
  });
  after(() => t.cleanup());

  it("puts the database in WAL mode, as seen from another connection too", () => {
    assert.equal(t.db.pragma("journal_mode", { simple: true }), "wal");
    const other = new Database(t.file, { readonly: true });
    try {
      assert.equal(other.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      other.close();
    }
  });

  it("migration 0003 keeps older sessions as they were: remembered (a lasting cookie), no data", async () => {
    const old = await tempSqlite("sk-sqlite-0003-");
    try {
      await old.store.migrate();
      // The schema as 0002 left it: without the later migrations' columns and table, and those
      // migrations not recorded as applied (the migrator refuses a gap before an applied one).
      old.db.exec(`ALTER TABLE sk_sessions DROP COLUMN data;
        ALTER TABLE sk_sessions DROP COLUMN remember_me;
        ALTER TABLE sk_sessions DROP COLUMN authenticated_at;
        ALTER TABLE sk_sessions DROP COLUMN auth_factor;
        ALTER TABLE sk_sessions DROP COLUMN proof_used_at;
        ALTER TABLE sk_sessions DROP COLUMN dbsc_key;
        ALTER TABLE sk_sessions DROP COLUMN dbsc_alg;
        ALTER TABLE sk_sessions DROP COLUMN dbsc_cookie_hash;
        ALTER TABLE sk_sessions DROP COLUMN dbsc_cookie_expires_at;
        ALTER TABLE sk_sessions DROP COLUMN dbsc_bound_at;
        DROP TABLE sk_passkeys;
        DROP TABLE sk_dbsc_challenges;
        DROP TABLE sk_reauth_state;
        DROP INDEX sk_login_events_user_at_id;
        DROP INDEX sk_login_events_session;
        CREATE INDEX sk_login_events_user_time ON sk_login_events (user_id, created_at);
        DROP INDEX sk_sessions_user_device;
        ALTER TABLE sk_sessions DROP COLUMN name;
        ALTER TABLE sk_sessions DROP COLUMN device_model;
        DELETE FROM sk_migrations WHERE name IN ('0003_session_data', '0004_reauth', '0005_device_binding', '0006_reauth_state', '0007_device_names', '0009_history_index');`);
      old.db
        .prepare(
          `INSERT INTO sk_sessions (id, secret_hash, user_id, status, created_at, last_seen_at, expires_at, ip, last_ip, user_agent)
           VALUES ('old-session', ?, 'user-old', 'active', 1, 1, 9999999999999, '192.0.2.1', '192.0.2.1', '')`,
        )
        .run("a".repeat(64));
      await old.store.migrate();
      const found = await old.store.findSession("old-session");
      assert.deepEqual([found?.rememberMe, found?.data], [true, null]);
      // And no proof recorded: its first sensitive action asks for one.
      assert.equal(found?.authenticatedAt, null);
      // Nor a device binding (0005): it keeps working as an unbound session.
      assert.deepEqual([found?.deviceKey, found?.boundCookieHash], [null, null]);
      // 0006's table is back, empty.
      assert.deepEqual(await old.store.findReauthStates("old-session", "kept_post", 0), []);
      // Unnamed, no model (0007); and its browser's sign-ins can be counted.
      assert.deepEqual([found?.name, found?.deviceModel], [null, null]);
      assert.deepEqual(await old.store.deviceSignIns("user-old", "d".repeat(64)), {
        count: 0,
        firstAt: null,
      });
    } finally {
      await old.cleanup();
    }
  });

  it("never writes a cookie's secret to the database or its WAL, in any encoding", async () => {
    const secrets: string[] = [];
    const stored: string[] = [];
    for (let i = 0; i < 5; i++) {
      const signed = await keeper.signIn(`user-${i}`, browser());
      const token = cookieValue(signed.setCookies);
      const device = cookieValue(signed.setCookies, "sk_device");
      assert.ok(token && device);
      const [id, secret] = token.split(".") as [string, string];
      secrets.push(secret, device);
      stored.push(id);
      // Use, rotate and end some of them, so every write path has run.
      const found = await keeper.validate(browser(`sk_session=${token}`));
      assert.ok(found);
      if (i % 2 === 0) {
        const rotated = await keeper.rotate(found.record, browser(`sk_session=${token}`));
        assert.ok(rotated);
        const next = cookieValue(rotated.setCookies);
        assert.ok(next);
        secrets.push(next.split(".")[1] as string);
        await keeper.signOut(found.record, browser());
      } else {
        // A hash that is never replaced must be found: proof that the search sees stored values.
        stored.push(signed.record.secretHash);
      }
    }
    const bytes = Buffer.concat([await readIfExists(t.file), await readIfExists(`${t.file}-wal`)]);
    // The search works: ids and hashes are found, so an absent secret is really absent.
    for (const value of stored)
      assert.ok(bytes.includes(Buffer.from(value)), `expected ${value} in the files`);
    for (const secret of secrets) {
      for (const form of leakForms(secret))
        assert.equal(bytes.includes(form), false, "a secret reached the database files");
    }
  });
});
