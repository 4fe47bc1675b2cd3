import type { Selectable, SqliteDatabase } from "kysely";
import { Kysely, SqliteDialect } from "kysely";
import { StorageError } from "../errors.js";
import type { SessionRecord } from "../types.js";
import { fromSessionRow, KyselyStore } from "./kysely-store.js";
import type { Database, SessionsTable } from "./schema.js";

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
  return new SqliteStore(db, database, { onClose: () => db.destroy() });
}

// Listed, not `*`: rows come back as arrays in this order, which skips building a keyed object
// per row in the driver (half the cost of the lookup).
// biome-ignore format: a compact list of the table's columns
const SESSION_COLUMNS = [
  "id", "secret_hash", "user_id", "status", "end_reason", "created_at", "last_seen_at", "expires_at", "ended_at",
  "ip", "last_ip", "user_agent", "browser_name", "browser_version", "os_name", "os_version", "device_type",
  "country", "region", "city", "device_id",
] as const satisfies ReadonlyArray<keyof SessionsTable>;
const FIND_SESSION = `select ${SESSION_COLUMNS.map((c) => `"${c}"`).join(", ")} from "sk_sessions" where "id" = ?`;

/** The parts of a better-sqlite3 statement the fast lookup uses. */
interface RawStatement {
  raw(toggle: boolean): RawStatement;
  get(...parameters: unknown[]): unknown[] | undefined;
}

/**
 * The SQL store with the per-request lookup on a prepared statement. better-sqlite3 is synchronous,
 * so outside a transaction the read needs no turn on Kysely's one-connection queue; that saves a
 * query build, a prepare and several awaits per request (the bench's profile showed them on top).
 */
class SqliteStore extends KyselyStore {
  #find: RawStatement | undefined;

  constructor(
    db: Kysely<Database>,
    private readonly database: SqliteClient & { inTransaction?: boolean },
    options: { onClose: () => Promise<void> },
  ) {
    super(db, options);
  }

  override findSession(id: string): Promise<SessionRecord | null> {
    // Another task's transaction is open between its awaits: queue behind it, never read its
    // uncommitted rows. A client without better-sqlite3's API takes the same path.
    if (this.database.inTransaction !== false) return super.findSession(id);
    try {
      if (!this.#find) {
        const statement = this.database.prepare(FIND_SESSION) as unknown as Partial<RawStatement>;
        if (typeof statement.raw !== "function") return super.findSession(id);
        this.#find = statement.raw(true);
      }
      const values = this.#find.get(id);
      return Promise.resolve(values ? fromSessionRow(rowOf(values)) : null);
    } catch (error) {
      return Promise.reject(
        new StorageError("session storage failed during findSession", { cause: error }),
      );
    }
  }
}

// biome-ignore format: one line per group of columns, in SESSION_COLUMNS order
function rowOf(v: unknown[]): Selectable<SessionsTable> {
  // A literal keeps one object shape for every row.
  return {
    id: v[0], secret_hash: v[1], user_id: v[2], status: v[3], end_reason: v[4], created_at: v[5], last_seen_at: v[6],
    expires_at: v[7], ended_at: v[8], ip: v[9], last_ip: v[10], user_agent: v[11], browser_name: v[12],
    browser_version: v[13], os_name: v[14], os_version: v[15], device_type: v[16], country: v[17], region: v[18],
    city: v[19], device_id: v[20],
  } as Selectable<SessionsTable>;
}
