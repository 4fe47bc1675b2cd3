import { cacheClock } from "../clock.js";
import type { SessionRecord } from "../types.js";
import type { TouchUpdate } from "./cache-contract.js";

// Kept here too: the clock lived in this module before the core needed it (see ../clock.ts).
export { cacheClock };

/** Limits of one instance's in-memory session cache. Times are milliseconds. */
export interface LocalCacheOptions {
  /** How long a record is served before it is read again: a backstop, not the revocation path. */
  ttl: number;
  /** Most records (and most remembered drops) kept. */
  maxEntries: number;
  /**
   * The longest a database read of a session can take. A read that started longer ago than this
   * is never stored, so a drop need only be remembered this long.
   */
  maxReadTime: number;
}

interface Entry {
  record: Readonly<SessionRecord>;
  expiresAt: number;
  /** When the entry took its place in recency order, counted in insertions. */
  stamp: number;
}

/**
 * One instance's copy of validated session records, with the rule that keeps an ended session
 * from coming back: `set` is told when the read it stores began, and stores nothing that began
 * before a drop of that id or a clear. A read that raced a revocation is refused however the
 * lookups interleave, and a read that began after the drop is stored at once.
 */
export class LocalSessionCache {
  readonly #entries = new Map<string, Entry>();
  // Ids dropped in the last maxReadTime, with the time of the drop.
  readonly #tombstones = new Map<string, number>();
  #clearedAt = Number.NEGATIVE_INFINITY;
  #stamp = 0;

  constructor(private readonly options: LocalCacheOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached record, frozen (shared by every reader: nobody can corrupt it), or null. `now` lets
   * a caller that has just read {@link cacheClock} pass it on rather than read it again.
   */
  get(id: string, now: number = cacheClock()): SessionRecord | null {
    const entry = this.#entries.get(id);
    if (entry === undefined) return null;
    if (entry.expiresAt <= now) {
      this.#entries.delete(id);
      return null;
    }
    // Map order doubles as recency order, and eviction takes the oldest. Moving an entry costs a
    // delete and an insert, so only one that has drifted into the older half moves: an entry used
    // within the last maxEntries/2 insertions is still never evicted, and hits usually move nothing.
    if (this.#stamp - entry.stamp >= this.options.maxEntries / 2) {
      this.#entries.delete(id);
      entry.stamp = ++this.#stamp;
      this.#entries.set(id, entry);
    }
    return entry.record;
  }

  /**
   * Stores a record whose read began at `readStartedAt` ({@link cacheClock}), unless the cache was
   * cleared or the id dropped since then, or the read is older than `maxReadTime`.
   */
  set(record: SessionRecord, readStartedAt: number): void {
    const id = record.id;
    const now = cacheClock();
    if (!(readStartedAt > this.#clearedAt) || readStartedAt < now - this.options.maxReadTime)
      return;
    const droppedAt = this.#tombstones.get(id);
    if (droppedAt !== undefined) {
      if (readStartedAt <= droppedAt) return;
      if (droppedAt < now - this.options.maxReadTime) this.#tombstones.delete(id);
    }
    this.#entries.delete(id);
    this.#entries.set(id, {
      record: Object.freeze({ ...record }),
      expiresAt: now + this.options.ttl,
      stamp: ++this.#stamp,
    });
    if (this.#entries.size > this.options.maxEntries)
      this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Forgets these ids; reads that began before now will not store them again. */
  drop(ids: readonly string[]): void {
    const now = cacheClock();
    for (const id of ids) {
      this.#entries.delete(id);
      this.#tombstones.delete(id);
      this.#tombstones.set(id, now);
    }
    if (this.#tombstones.size > this.options.maxEntries) this.#purgeTombstones(now);
  }

  /**
   * This instance's last-seen write to `id` is over: `update` when it changed the row, null when it
   * did not (or failed). A cached copy the write was based on takes the new values, keeping its
   * expiry; any other copy is forgotten here, so the next lookup reads the row. Never adds an
   * entry and leaves no tombstone: a touch revokes nothing, so a racing read may still store its copy.
   */
  touch(id: string, update: TouchUpdate | null): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    if (update === null || entry.record.lastSeenAt !== update.previousLastSeenAt) {
      this.#entries.delete(id);
      return;
    }
    const { lastSeenAt, lastIp, location } = update;
    entry.record = Object.freeze({
      ...entry.record,
      lastSeenAt,
      lastIp,
      ...(location && { country: location.country, region: location.region, city: location.city }),
    });
  }

  /** Forgets everything; no read that began before now is stored. */
  clear(): void {
    this.#entries.clear();
    this.#tombstones.clear();
    this.#clearedAt = cacheClock();
  }

  #purgeTombstones(now: number): void {
    // Insertion order is drop order: the oldest come first.
    for (const [id, droppedAt] of this.#tombstones) {
      if (droppedAt >= now - this.options.maxReadTime) break;
      this.#tombstones.delete(id);
    }
    // Too many recent drops to remember one by one: a clear refuses every older read instead.
    if (this.#tombstones.size > this.options.maxEntries) this.clear();
  }
}
