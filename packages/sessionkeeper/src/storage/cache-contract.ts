import type { MaybePromise } from "../maybe-promise.js";
import type { SessionRecord } from "../types.js";
import type { SessionStore } from "./contract.js";

/** A last-seen write, as `SessionStore.touchSession` takes it. */
export type TouchUpdate = Parameters<SessionStore["touchSession"]>[1];

/**
 * A cache of validated sessions, used through `cachedStore()`, which calls it around every read and
 * write of the store. Each cache has its own source of coherence with writers it does not see: the
 * Redis cache a revocation broadcast between instances, the SQLite read cache `PRAGMA data_version`.
 * `get` returns null whenever the cache cannot be trusted (e.g. its subscription is down), so the
 * caller reads the database. A method may throw (or reject) when the cache is broken: the caller
 * turns that into a `StorageError`, so a broken cache fails closed.
 */
export interface SessionCache {
  get(id: string): MaybePromise<SessionRecord | null>;
  /**
   * Offers a record read from the database. `readStartedAt` (`cacheClock()` taken before the read)
   * lets the cache refuse a read that raced a drop of the same id.
   */
  set(record: SessionRecord, readStartedAt: number): MaybePromise<void>;
  /**
   * Drops the sessions here and everywhere else the cache reaches (Redis: a broadcast to every
   * instance). When it cannot reach everyone it does not throw (the database already refuses the
   * session) but the cache stops trusting itself.
   */
  invalidate(ids: readonly string[]): MaybePromise<void>;
  /**
   * This instance's own last-seen write to `id` is over: `update` if it changed the row, null if not.
   * Local only, never broadcast: a touch revokes nothing, and it runs once per session per touch
   * interval. Copies elsewhere lag it, which callers tolerate (`cachedStore`'s `isFresh`).
   */
  touched(id: string, update: TouchUpdate | null): void;
  /** Forgets every session here and everywhere else, as {@link invalidate} does for some. */
  clear(): MaybePromise<void>;
  close(): Promise<void>;
}
