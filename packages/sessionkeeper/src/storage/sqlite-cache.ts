import { type Duration, describe, requireDuration } from "../duration.js";
import type { SessionRecord } from "../types.js";

/** How the SQLite store keeps sessions it has read in memory. */
export interface SqliteCacheOptions {
  /** Most sessions kept; 0 turns the cache off (every lookup reads the file). Default 10000. */
  maxEntries?: number;
  /**
   * How often a lookup asks SQLite whether another connection (the CLI, another process on the
   * same file) has committed since; if so everything cached is forgotten. Writes through this
   * connection drop what they change at once. Default "1ms"; 0 asks on every lookup.
   */
  checkInterval?: Duration | 0;
  /** Longest a session is served from memory before it is read again. Default "60s". */
  ttl?: Duration;
}

/** The parts of a better-sqlite3 connection the cache uses. */
export interface CacheConnection {
  prepare(sql: string): unknown;
  readonly open?: boolean;
}

interface Entry {
  record: SessionRecord;
  expiresAt: number;
}

interface PluckedStatement {
  get(): unknown;
}

/**
 * Sessions read from one SQLite connection, kept while the database is provably unchanged:
 * `PRAGMA data_version` moves when any other connection commits, and every write through this
 * connection goes through the store, which drops the ids it touched. One cache per connection,
 * so every store (and keeper) on that connection sees the same drops.
 */
export class SqliteReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #dataVersion: PluckedStatement;
  #version: unknown;
  #checkedAt = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly connection: CacheConnection,
    private readonly limits: { maxEntries: number; checkInterval: number; ttl: number },
  ) {
    const statement = connection.prepare("PRAGMA data_version") as {
      pluck(toggle: boolean): PluckedStatement;
    };
    this.#dataVersion = statement.pluck(true);
  }

  static #byConnection = new WeakMap<object, SqliteReadCache>();

  /**
   * The connection's cache (created on first use; the first caller's limits hold), or null when
   * `maxEntries` is 0. Options are checked either way, so a bad one fails at start-up.
   */
  static for(
    connection: CacheConnection,
    options: SqliteCacheOptions = {},
  ): SqliteReadCache | null {
    const limits = resolveCacheOptions(options);
    if (limits.maxEntries === 0) return null;
    let cache = SqliteReadCache.#byConnection.get(connection);
    if (!cache) {
      cache = new SqliteReadCache(connection, limits);
      SqliteReadCache.#byConnection.set(connection, cache);
    }
    return cache;
  }

  /** The connection's cache if any store made one: writes drop from it even when they read uncached. */
  static existing(connection: CacheConnection): SqliteReadCache | undefined {
    return SqliteReadCache.#byConnection.get(connection);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached record (a copy), or undefined. Throws when the connection is closed or SQLite
   * fails: the caller turns that into a StorageError, so a broken database fails closed.
   */
  get(id: string): SessionRecord | undefined {
    this.#checkForeignCommits();
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= performance.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return { ...entry.record };
  }

  /** Keeps a record just read on this connection (in the same synchronous step as the read). */
  set(record: SessionRecord): void {
    this.#entries.delete(record.id);
    this.#entries.set(record.id, {
      record: { ...record },
      expiresAt: performance.now() + this.limits.ttl,
    });
    // Oldest inserted goes first: a plain bound, enough for a backstop that is re-read anyway.
    if (this.#entries.size > this.limits.maxEntries)
      this.#entries.delete(this.#entries.keys().next().value as string);
  }

  drop(ids: readonly string[]): void {
    for (const id of ids) this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }

  #checkForeignCommits(): void {
    if (this.connection.open === false) {
      this.#entries.clear();
      throw new Error("The database connection is not open");
    }
    const now = performance.now();
    if (now - this.#checkedAt < this.limits.checkInterval) return;
    const version = this.#dataVersion.get();
    this.#checkedAt = now;
    if (version !== this.#version) {
      this.#version = version;
      this.#entries.clear();
    }
  }
}

function resolveCacheOptions(options: SqliteCacheOptions) {
  if (typeof options !== "object" || options === null)
    throw new TypeError("options.cache must be an object or false");
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 0)
    throw new TypeError(
      `options.cache.maxEntries must be a whole number, 0 to turn the cache off (got ${describe(maxEntries)})`,
    );
  const checkInterval =
    options.checkInterval === 0
      ? 0
      : requireDuration("cache.checkInterval", options.checkInterval ?? "1ms");
  return { maxEntries, checkInterval, ttl: requireDuration("cache.ttl", options.ttl ?? "60s") };
}
