import type { SqliteDatabase } from "kysely";
import { Kysely, SqliteDialect } from "kysely";
import { StorageError } from "../errors.js";
import type { MaybePromise } from "../maybe-promise.js";
import type { SessionRecord } from "../types.js";
import { cachedStore } from "./cached-store.js";
import type { SessionStore } from "./contract.js";
import {
  fromSessionRow,
  KyselyStore,
  type KyselyStoreOptions,
  type SqlSessionStore,
} from "./kysely-store.js";
import type { Database } from "./schema.js";
import { FIND_SESSION_COLUMNS, rowOf } from "./session-row.js";
import { type SqliteCacheOptions, SqliteReadCache } from "./sqlite-cache.js";

/** The few methods of a better-sqlite3 `Database` this store uses: bring your own instance. */
interface SqliteClient extends SqliteDatabase {
  pragma(source: string): unknown;
}

interface SqliteStorageOptions {
  /**
   * Sessions read are kept in memory while the database is provably unchanged (see
   * {@link SqliteCacheOptions}); `false` reads the file on every lookup. Stores on one connection
   * share its cache; one made with `false` does not drop from it, so give every store on a
   * connection the cache, or none.
   */
  cache?: SqliteCacheOptions | false;
}

/**
 * Session storage in an SQLite file through better-sqlite3 (WAL mode, busy timeout set).
 * It is the store wrapped in `cachedStore()` over the connection's read cache: write sessions only
 * through it (the keeper does), so its writes drop what they change; commits from other
 * connections clear the cache within `checkInterval`. `db` is the Kysely instance, for
 * `protectionStore(storage.db)`.
 * @example
 * import Database from "better-sqlite3";
 * const storage = sqliteStorage(new Database("data/sessions.db"));
 */
export function sqliteStorage(
  database: SqliteClient,
  options: SqliteStorageOptions = {},
): SqlSessionStore {
  if (typeof options !== "object" || options === null)
    throw new TypeError("sqliteStorage(database, options): options must be an object");
  const cache = options.cache === false ? null : SqliteReadCache.for(database, options.cache);
  // WAL lets readers run beside the one writer; the busy timeout waits out a writer in another process.
  database.pragma("journal_mode = WAL");
  database.pragma("busy_timeout = 5000");
  database.pragma("synchronous = NORMAL");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // Kysely's SQLite driver closes the database when the store is closed.
  const store = new SqliteStore(db, database, {
    onClose: () => db.destroy(),
    updateReturning: true,
  });
  return cache ? Object.assign(cachedStore(store, cache), { db }) : store;
}

const FIND_SESSION = `select ${FIND_SESSION_COLUMNS} from "sk_sessions" where "id" = ?`;
// The same conditional write as KyselyStore.touchSession: only a live row still at the last-seen
// time the caller read, so concurrent requests and instances write once.
const TOUCH_WHERE = `where "id" = ? and "last_seen_at" = ? and "status" in ('active', 'pending')`;
const TOUCH = `update "sk_sessions" set "last_seen_at" = ?, "last_ip" = ? ${TOUCH_WHERE}`;
const TOUCH_WITH_PLACE = `update "sk_sessions" set "last_seen_at" = ?, "last_ip" = ?, "country" = ?, "region" = ?, "city" = ? ${TOUCH_WHERE}`;

/** The part of a better-sqlite3 statement a prepared write uses. */
interface RunStatement {
  run(...params: unknown[]): { changes: number | bigint };
}

/** The parts of a better-sqlite3 statement the fast lookup uses. */
interface RawStatement {
  raw(toggle: boolean): RawStatement;
  get(...parameters: unknown[]): unknown[] | undefined;
}

/**
 * The SQL store with the per-request lookup on a prepared statement. better-sqlite3 is synchronous,
 * so outside a transaction the read needs no turn on Kysely's one-connection queue; that saves a
 * query build, a prepare and several awaits per request (the bench's profile showed them on top).
 * Caching is not its business: `cachedStore()` wraps it, so no write here need know of a cache.
 */
class SqliteStore extends KyselyStore {
  #find: RawStatement | undefined;
  readonly #statements = new Map<string, RunStatement>();

  constructor(
    db: Kysely<Database>,
    private readonly database: SqliteClient & { inTransaction?: boolean },
    options: KyselyStoreOptions,
  ) {
    super(db, options);
  }

  /** Answers synchronously outside a transaction; a failure throws its `StorageError` at once. */
  override findSession(id: string): MaybePromise<SessionRecord | null> {
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
      return values ? fromSessionRow(rowOf(values)) : null;
    } catch (error) {
      throw new StorageError("session storage failed during findSession", { cause: error });
    }
  }

  // The last-seen write is the one write of ordinary requests (once per session per touch
  // interval): outside a transaction it runs on a statement prepared once, where Kysely's driver
  // would build, compile and prepare it anew each time.
  override touchSession(
    id: string,
    update: Parameters<SessionStore["touchSession"]>[1],
  ): Promise<boolean> {
    if (this.database.inTransaction !== false) return super.touchSession(id, update);
    try {
      const { lastSeenAt, lastIp, previousLastSeenAt, location } = update;
      const result = location
        ? this.#prepared(TOUCH_WITH_PLACE).run(
            lastSeenAt,
            lastIp,
            location.country,
            location.region,
            location.city,
            id,
            previousLastSeenAt,
          )
        : this.#prepared(TOUCH).run(lastSeenAt, lastIp, id, previousLastSeenAt);
      return Promise.resolve(Number(result.changes) > 0);
    } catch (error) {
      return Promise.reject(
        new StorageError("session storage failed during touchSession", { cause: error }),
      );
    }
  }

  #prepared(sql: string): RunStatement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.database.prepare(sql) as unknown as RunStatement;
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
