import { cacheClock } from "../clock.js";
import { type Duration, describe, requireDuration } from "../duration.js";
import type { SessionRecord } from "../types.js";
import type { SessionCache, TouchUpdate } from "./cache-contract.js";
import { LocalSessionCache } from "./local-cache.js";

/** How the SQLite store keeps sessions it has read in memory. */
export interface SqliteCacheOptions {
  /** Most sessions kept; 0 turns the cache off (every lookup reads the file). Default 10000. */
  maxEntries?: number;
  /**
   * How often a lookup asks SQLite whether another connection (the CLI, another process on the
   * same file) has committed since; if so everything cached is forgotten. Writes through the
   * store drop what they change at once. Default "1ms"; 0 asks on every lookup.
   */
  checkInterval?: Duration | 0;
  /** Longest a session is served from memory before it is read again. Default "60s". */
  ttl?: Duration;
}

/** The parts of a better-sqlite3 connection the cache uses. */
export interface CacheConnection {
  prepare(sql: string): unknown;
  readonly open?: boolean;
  readonly inTransaction?: boolean;
}

interface PluckedStatement {
  get(): unknown;
}

/**
 * Sessions read from one SQLite connection, kept while the database is provably unchanged:
 * `PRAGMA data_version` moves when any other connection commits; this connection's own writes do
 * not move it, so they must go through `cachedStore()` over this cache, which drops what they
 * change. One cache per connection, so every cached store on that connection sees the same
 * drops. The records themselves live in a {@link LocalSessionCache}, as the Redis cache's do.
 */
export class SqliteReadCache implements SessionCache {
  readonly #local: LocalSessionCache;
  readonly #dataVersion: PluckedStatement;
  #version: unknown;
  #checkedAt = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly connection: CacheConnection,
    private readonly checkInterval: number,
    limits: { maxEntries: number; ttl: number },
  ) {
    // Reads here are synchronous: one that began before a drop has already finished by then.
    this.#local = new LocalSessionCache({ ...limits, maxReadTime: 1000 });
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
    const { checkInterval, ...limits } = resolveCacheOptions(options);
    if (limits.maxEntries === 0) return null;
    let cache = SqliteReadCache.#byConnection.get(connection);
    if (!cache) {
      cache = new SqliteReadCache(connection, checkInterval, limits);
      SqliteReadCache.#byConnection.set(connection, cache);
    }
    return cache;
  }

  get size(): number {
    return this.#local.size;
  }

  /**
   * The cached record (frozen), or null. Throws when the connection is closed or SQLite fails:
   * the caller turns that into a StorageError, so a broken database fails closed.
   */
  get(id: string): SessionRecord | null {
    return this.#local.get(id, this.#checkForeignCommits());
  }

  /**
   * Keeps a record just read on this connection, given the time the read began. Not while a
   * transaction is open on the connection: a read may have seen its uncommitted rows.
   */
  set(record: SessionRecord, readStartedAt: number): void {
    if (this.connection.inTransaction !== false) return;
    this.#local.set(record, readStartedAt);
  }

  /** Synchronous: the one connection is the only writer this cache need hear of. */
  invalidate(ids: readonly string[]): void {
    this.#local.drop(ids);
  }

  touched(id: string, update: TouchUpdate | null): void {
    this.#local.touch(id, update);
  }

  clear(): void {
    this.#local.clear();
  }

  /** Nothing to release: the cache lives as long as its connection. Forgets what it holds. */
  async close(): Promise<void> {
    this.#local.clear();
  }

  /** Clears the cache if another connection committed since the last check; returns the time. */
  #checkForeignCommits(): number {
    if (this.connection.open === false) {
      this.#local.clear();
      throw new Error("The database connection is not open");
    }
    const now = cacheClock();
    if (now - this.#checkedAt < this.checkInterval) return now;
    const version = this.#dataVersion.get();
    this.#checkedAt = now;
    if (version !== this.#version) {
      this.#version = version;
      this.#local.clear();
    }
    return now;
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
