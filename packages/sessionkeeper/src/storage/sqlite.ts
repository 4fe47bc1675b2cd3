import { Kysely, SqliteDialect } from "kysely";
import type { SqliteDatabase } from "kysely";
import { createKyselyStore, type KyselyStore } from "./kysely-store.js";
import type { Database } from "./schema.js";

/** The few methods of a better-sqlite3 `Database` this store uses: bring your own instance. */
export interface SqliteClient extends SqliteDatabase {
  pragma(source: string): unknown;
}

/**
 * Session storage in an SQLite file through better-sqlite3 (WAL mode, busy timeout set).
 * @example
 * import Database from "better-sqlite3";
 * const storage = sqliteStorage(new Database("data/sessions.db"));
 */
export function sqliteStorage(database: SqliteClient): KyselyStore {
  // WAL lets readers run beside the one writer; the busy timeout waits out a writer in another process.
  database.pragma("journal_mode = WAL");
  database.pragma("busy_timeout = 5000");
  database.pragma("synchronous = NORMAL");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // Kysely's SQLite driver closes the database when the store is closed.
  return createKyselyStore(db, { onClose: () => db.destroy() });
}
