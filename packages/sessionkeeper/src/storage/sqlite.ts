import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import type { SqliteDatabase } from "kysely";
import { Kysely, SqliteDialect } from "kysely";
import { StorageError } from "../errors.js";
import type { MaybePromise } from "../maybe-promise.js";
import type { SessionRecord } from "../types.js";
import type { SessionCache } from "./cache-contract.js";
import { cachedStore } from "./cached-store.js";
import type { SessionStore, StoreHealth } from "./contract.js";
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
  /** The path it was opened with (better-sqlite3); checked to still be the same file. */
  readonly name?: string;
  readonly memory?: boolean;
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
  const readCache = options.cache === false ? null : SqliteReadCache.for(database, options.cache);
  const file = DatabaseFile.of(database);
  // A session served from memory is still a read of this file: it fails closed with the file.
  const cache = readCache && file ? checkedCache(readCache, file) : readCache;
  // WAL lets readers run beside the one writer; the busy timeout waits out a writer in another process.
  database.pragma("journal_mode = WAL");
  database.pragma("busy_timeout = 5000");
  database.pragma("synchronous = NORMAL");
  // Every statement run through Kysely (sessions, the guard's tables, an app's own tables on
  // `storage.db`) checks the file first.
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: file ? checkedDatabase(database, file) : database }),
  });
  // Kysely's SQLite driver closes the database when the store is closed.
  const store = new SqliteStore(db, database, file, {
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
    private readonly file: DatabaseFile | null,
    options: KyselyStoreOptions,
  ) {
    super(db, options);
  }

  /**
   * After a write, the file at the path must still be the one written: otherwise the write went to
   * a file no one will open again, and must not be reported as saved. (Before it, each statement
   * checked through Kysely's connection.)
   */
  protected override async run<T>(step: string, fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await super.run(step, fn);
    } catch (error) {
      // A failed write may be the file going away: if so, say that (and fail closed from now on).
      if (this.file && WRITES.has(step)) this.file.check(step, true);
      throw error;
    }
    if (this.file && WRITES.has(step)) this.file.check(step, true);
    return result;
  }

  /** The file at the path is the one open (and accessible), then one trivial query. */
  override async checkHealth(): Promise<StoreHealth> {
    const problem = this.file?.probe() ?? null;
    if (problem) return { ok: false, reason: problem };
    return super.checkHealth();
  }

  /** Answers synchronously outside a transaction; a failure throws its `StorageError` at once. */
  override findSession(id: string): MaybePromise<SessionRecord | null> {
    // Another task's transaction is open between its awaits: queue behind it, never read its
    // uncommitted rows. A client without better-sqlite3's API takes the same path.
    if (this.database.inTransaction !== false) return super.findSession(id);
    this.file?.check("findSession", false);
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
      this.file?.check("touchSession", true);
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
      this.file?.check("touchSession", true);
      return Promise.resolve(Number(result.changes) > 0);
    } catch (error) {
      if (error instanceof StorageError) return Promise.reject(error);
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

/** The steps of the store that write (the rest only read). */
const WRITES = new Set([
  "migrate",
  "createSession",
  "touchSession",
  "rotateSession",
  "updateSessionData",
  "markProofUsed",
  "bindSession",
  "refreshBinding",
  "addDeviceChallenge",
  "takeDeviceChallenge",
  "endSession",
  "endUserSessions",
  "recordEvent",
  "prune",
]);

/** Reads check the file at most this often (ms); writes check it every time. */
const READ_CHECK_INTERVAL = 1000;

type FileProblem = "database_file_missing" | "database_file_replaced";

/**
 * The database file a connection opened, by device and inode, taken when the store is made. If
 * the file at the path is later removed, or is another file (replaced, restored from a backup
 * under the running process), SQLite keeps reading and writing the file it has open, which no one
 * will ever open again: every write would be lost at the next start. Once that is seen (before
 * every write statement, after every session write and write failure, at most once a second on
 * reads, at each health probe) the connection
 * fails closed for good: every read and write throws a `StorageError`, and one line is logged.
 * One per connection, shared by the stores on it.
 */
class DatabaseFile {
  static #byConnection = new WeakMap<object, DatabaseFile | null>();
  #problem: FileProblem | null = null;
  #checkedAt = Number.NEGATIVE_INFINITY;

  private constructor(
    readonly path: string,
    private readonly dev: number,
    private readonly ino: number,
  ) {}

  /** The connection's file, or null when there is none to watch (in memory, temporary, a URI). */
  static of(database: SqliteClient): DatabaseFile | null {
    if (DatabaseFile.#byConnection.has(database))
      return DatabaseFile.#byConnection.get(database) ?? null;
    let file: DatabaseFile | null = null;
    const name = database.name;
    if (
      typeof name === "string" &&
      name !== "" &&
      name !== ":memory:" &&
      !name.startsWith("file:") &&
      database.memory !== true
    ) {
      const path = resolve(name);
      try {
        const stats = statSync(path);
        file = new DatabaseFile(path, stats.dev, stats.ino);
      } catch {
        // Not a file we can see (e.g. opened through a VFS): nothing to compare against.
      }
    }
    DatabaseFile.#byConnection.set(database, file);
    return file;
  }

  /**
   * Throws a `StorageError` if the file is known to be gone or replaced; `force` (writes) looks
   * now, a read at most once a second.
   */
  check(step: string, force: boolean): void {
    if (this.#problem === null && (force || Date.now() - this.#checkedAt >= READ_CHECK_INTERVAL))
      this.#look();
    if (this.#problem !== null) throw this.#error(step);
  }

  /** For a health probe: looks now. The problem, `"database_file_unwritable"`, or null. */
  probe(): string | null {
    if (this.#problem === null) this.#look();
    if (this.#problem !== null) return this.#problem;
    try {
      accessSync(this.path, constants.R_OK | constants.W_OK);
      return null;
    } catch {
      // Not sticky: the open file still works; it is the next start that would fail.
      return "database_file_unwritable";
    }
  }

  #look(): void {
    this.#checkedAt = Date.now();
    let problem: FileProblem | null;
    try {
      const stats = statSync(this.path);
      problem = stats.dev === this.dev && stats.ino === this.ino ? null : "database_file_replaced";
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Another failure (EACCES on the folder, EIO) says nothing of which file is there.
      if (code !== "ENOENT" && code !== "ENOTDIR") return;
      problem = "database_file_missing";
    }
    if (problem === null) return;
    this.#problem = problem;
    console.error(
      `sessionkeeper: the SQLite database file ${this.path} was ${problem === "database_file_missing" ? "removed" : "replaced by another file"} while open; ` +
        "failing closed: every session read and write now fails (503) until the process is restarted with the right file in place",
    );
  }

  #error(step: string): StorageError {
    return new StorageError(
      `session storage failed during ${step}: the SQLite database file was ${this.#problem === "database_file_missing" ? "removed" : "replaced"} (${this.#problem})`,
    );
  }
}

/** The connection as Kysely's driver sees it: every statement checks the file first. */
function checkedDatabase(database: SqliteClient, file: DatabaseFile): SqliteDatabase {
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const statement = database.prepare(sql);
      // A rollback must still run, or the connection would stay inside a transaction.
      if (!/^\s*rollback/i.test(sql))
        file.check("query", (statement as { readonly?: boolean }).readonly !== true);
      return statement;
    },
  };
}

/** The read cache, failing closed with the file (checked at most once a second). */
function checkedCache(cache: SqliteReadCache, file: DatabaseFile): SessionCache {
  return {
    get(id) {
      file.check("findSession", false);
      return cache.get(id);
    },
    set: (record, readStartedAt) => cache.set(record, readStartedAt),
    invalidate: (ids) => cache.invalidate(ids),
    touched: (id, update) => cache.touched(id, update),
    clear: () => cache.clear(),
    close: () => cache.close(),
  };
}
