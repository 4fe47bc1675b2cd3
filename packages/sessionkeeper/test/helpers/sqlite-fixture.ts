import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { SqlSessionStore } from "../../src/storage/kysely-store.js";
import { sqliteStorage } from "../../src/storage/sqlite.js";

/** A real SQLite file in a fresh temp dir, the store over it, and a cleanup that removes both. */
export interface TempSqlite {
  dir: string;
  file: string;
  db: Database.Database;
  store: SqlSessionStore;
  cleanup(): Promise<void>;
}

/** Opens a new, empty SQLite database file in its own temp dir (not migrated). */
export async function tempSqlite(prefix = "sk-test-"): Promise<TempSqlite> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const file = join(dir, "sessions.db");
  const db = new Database(file);
  const store = sqliteStorage(db);
  return {
    dir,
    file,
    db,
    store,
    async cleanup() {
      // Closing twice is safe: Kysely destroys its driver once, better-sqlite3 ignores a second close.
      await store.close();
      if (db.open) db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every row of the session and event tables, in a stable order: compare before and after a request. */
export function snapshotTables(db: Database.Database): { sessions: unknown[]; events: unknown[] } {
  return {
    sessions: db.prepare("SELECT * FROM sk_sessions ORDER BY id").all(),
    events: db.prepare("SELECT * FROM sk_login_events ORDER BY id").all(),
  };
}

/** The session cookie's value out of Set-Cookie strings, or null when none sets it. */
export function cookieValue(setCookies: readonly string[], name = "sk_session"): string | null {
  for (const line of setCookies) {
    const first = line.split(";")[0] ?? "";
    const eq = first.indexOf("=");
    if (eq !== -1 && first.slice(0, eq).trim() === name) return first.slice(eq + 1).trim();
  }
  return null;
}
