// The SQLite file removed or replaced under a running store (review finding): SQLite keeps using
// the file it has open, which no one will open again, so every write after it would be lost. The
// store notices (the file at its path is not the one it opened), fails closed for good with
// StorageErrors and one log line, and checkHealth() says why.
import assert from "node:assert/strict";
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it, mock } from "node:test";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { isStorageError } from "../src/errors.js";
import { createSessionKeeper } from "../src/session-keeper.js";
import { sqliteStorage } from "../src/storage/sqlite.js";
import { countingStore } from "./helpers/counting-store.js";
import { sessionRecord, signInEventFor } from "./helpers/records.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

function removeFiles(file: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
}

function replaceFile(t: TempSqlite): void {
  const other = join(t.dir, "other.db");
  const db = new Database(other);
  db.exec("create table t (x)");
  db.close();
  removeFiles(t.file);
  renameSync(other, t.file);
}

describe("sqliteStorage when its file is removed or replaced", () => {
  let t: TempSqlite | undefined;
  afterEach(async () => {
    mock.restoreAll();
    await t?.cleanup();
    t = undefined;
  });

  async function migrated(): Promise<TempSqlite> {
    t = await tempSqlite("sk-file-");
    await t.store.migrate();
    return t;
  }

  it("a healthy file: checkHealth and keeper.checkHealth answer ok", async () => {
    const { store } = await migrated();
    assert.deepEqual(await store.checkHealth(), { ok: true });
    assert.deepEqual(await createSessionKeeper({ storage: store }).checkHealth(), { ok: true });
  });

  it("an in-memory database has no file to watch and is healthy", async () => {
    const store = sqliteStorage(new Database(":memory:"));
    await store.migrate();
    assert.deepEqual(await store.checkHealth(), { ok: true });
    await store.close();
  });

  it("removed: writes and reads fail closed (cached sessions too), health says database_file_missing, logged once", async () => {
    const { store, file } = await migrated();
    const kept = sessionRecord();
    await store.createSession(kept, signInEventFor(kept));
    assert.equal((await store.findSession(kept.id))?.id, kept.id); // now in the read cache
    const logged = mock.method(console, "error", () => {});
    removeFiles(file);
    const next = sessionRecord();
    await assert.rejects(store.createSession(next, signInEventFor(next)), isStorageError);
    assert.throws(() => store.findSession(kept.id), isStorageError);
    await assert.rejects(
      store.touchSession(kept.id, {
        lastSeenAt: kept.lastSeenAt + 1,
        lastIp: "192.0.2.1",
        previousLastSeenAt: kept.lastSeenAt,
      }),
      isStorageError,
    );
    // Other tables on the same handle (the guard's, an app's own) fail closed too.
    await assert.rejects(sql`create table app_users (id text)`.execute(store.db), isStorageError);
    assert.deepEqual(await store.checkHealth(), { ok: false, reason: "database_file_missing" });
    assert.deepEqual(await createSessionKeeper({ storage: store }).checkHealth(), {
      ok: false,
      reason: "database_file_missing",
    });
    const lines = logged.mock.calls.map((call) => call.arguments.join(" "));
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.ok(lines[0]?.includes(`${file} was removed`), lines[0]);
  });

  it("replaced by another database: health says database_file_replaced, then every call fails", async () => {
    const current = await migrated();
    const kept = sessionRecord();
    await current.store.createSession(kept, signInEventFor(kept));
    mock.method(console, "error", () => {});
    replaceFile(current);
    assert.deepEqual(await current.store.checkHealth(), {
      ok: false,
      reason: "database_file_replaced",
    });
    assert.throws(() => current.store.findSession(kept.id), isStorageError);
    await assert.rejects(current.store.listEvents(kept.userId, { limit: 10 }), isStorageError);
  });

  it("a read alone notices within a second, without a write or a probe", async () => {
    const { store, file } = await migrated();
    const kept = sessionRecord();
    await store.createSession(kept, signInEventFor(kept));
    assert.equal((await store.findSession(kept.id))?.id, kept.id);
    mock.method(console, "error", () => {});
    removeFiles(file);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.throws(() => store.findSession(kept.id), isStorageError);
  });
});

describe("keeper.checkHealth()", () => {
  let t: TempSqlite | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it("a store that cannot be reached (a StorageError) is storage_unavailable", async () => {
    t = await tempSqlite("sk-health-");
    await t.store.migrate();
    const keeper = createSessionKeeper({ storage: t.store });
    await t.store.close();
    assert.deepEqual(await keeper.checkHealth(), { ok: false, reason: "storage_unavailable" });
  });

  it("a store of one's own without checkHealth is probed with a lookup", async () => {
    t = await tempSqlite("sk-health-");
    await t.store.migrate();
    const { store, calls } = countingStore(t.store);
    const keeper = createSessionKeeper({ storage: store });
    assert.deepEqual(await keeper.checkHealth(), { ok: true });
    assert.equal(calls.findSession, 1);
    await t.store.close();
    assert.deepEqual(await keeper.checkHealth(), { ok: false, reason: "storage_unavailable" });
  });
});
