import type { SessionRecord } from "../types.js";

/**
 * A cache of validated sessions with a revocation broadcast, shared by app instances (Redis).
 * `get` returns null whenever the cache cannot be trusted (e.g. its subscription is down), so the
 * caller reads the database. `invalidate` resolves once the drop is broadcast; when it cannot be,
 * it does not throw (the database already refuses the session) but the cache stops trusting itself.
 */
export interface SessionCache {
  get(id: string): Promise<SessionRecord | null> | SessionRecord | null;
  /**
   * Offers a record read from the database. `readStartedAt` (`performance.now()` taken before the
   * read) lets the cache refuse a read that raced a drop of the same id.
   */
  set(record: SessionRecord, readStartedAt: number): Promise<void> | void;
  /** Drops the sessions on this instance and broadcasts the drop to every other instance. */
  invalidate(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
