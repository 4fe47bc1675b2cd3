import type { SessionRecord } from "../types.js";

/** Limits of one instance's in-memory session cache. Times are milliseconds. */
export interface LocalCacheOptions {
  /** How long a record is served before it is read again: a backstop, not the revocation path. */
  ttl: number;
  /** Most records (and most remembered misses and drops) kept. */
  maxEntries: number;
  /**
   * The longest a database read of a session can take. After an id is dropped, or the whole cache
   * cleared, nothing is stored for this long: a read that started before could hold a stale copy.
   */
  maxReadTime: number;
}

interface Entry {
  record: SessionRecord;
  expiresAt: number;
}

/**
 * One instance's copy of validated session records, with the rules that keep an ended session
 * from coming back: a record is stored only after a miss, and never within `maxReadTime` of its id
 * being dropped or the cache cleared, so a database read that raced a revocation cannot store it.
 */
export class LocalSessionCache {
  readonly #entries = new Map<string, Entry>();
  // Ids this cache missed since the last clear: only a read that started after the miss may store.
  readonly #misses = new Set<string>();
  // Ids dropped recently, with the monotonic time until which they may not be stored again.
  readonly #tombstones = new Map<string, number>();
  // After a clear, no id may be stored until then: a read from before the clear cannot be told apart.
  #refuseUntil = 0;

  constructor(private readonly options: LocalCacheOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The cached record, or null (and the miss is remembered so the read that follows may store). */
  get(id: string): SessionRecord | null {
    const now = performance.now();
    const entry = this.#entries.get(id);
    if (entry && entry.expiresAt > now) {
      // Map order doubles as recency order: re-insert so eviction takes the least recently used.
      this.#entries.delete(id);
      this.#entries.set(id, entry);
      return { ...entry.record };
    }
    if (entry) this.#entries.delete(id);
    this.#misses.delete(id);
    this.#misses.add(id);
    if (this.#misses.size > this.options.maxEntries)
      this.#misses.delete(this.#misses.values().next().value as string);
    return null;
  }

  /** Stores a record read after a miss, or refreshes one still cached; anything else is ignored. */
  set(record: SessionRecord): void {
    const id = record.id;
    if (performance.now() < this.#refuseUntil || this.#isTombstoned(id)) return;
    if (!this.#entries.has(id) && !this.#misses.has(id)) return;
    this.#misses.delete(id);
    this.#entries.delete(id);
    this.#entries.set(id, {
      record: { ...record },
      expiresAt: performance.now() + this.options.ttl,
    });
    if (this.#entries.size > this.options.maxEntries)
      this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Forgets these ids and refuses to store them again for a while (reads in flight may be stale). */
  drop(ids: readonly string[]): void {
    const until = performance.now() + this.options.maxReadTime;
    for (const id of ids) {
      this.#entries.delete(id);
      this.#misses.delete(id);
      this.#tombstones.delete(id);
      this.#tombstones.set(id, until);
    }
    if (this.#tombstones.size > this.options.maxEntries) this.#purgeTombstones();
  }

  /** Forgets everything; for `maxReadTime` nothing is stored, so no read that started before can. */
  clear(): void {
    this.#entries.clear();
    this.#misses.clear();
    this.#tombstones.clear();
    this.#refuseUntil = performance.now() + this.options.maxReadTime;
  }

  #isTombstoned(id: string): boolean {
    const until = this.#tombstones.get(id);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.#tombstones.delete(id);
    return false;
  }

  #purgeTombstones(): void {
    const now = performance.now();
    for (const [id, until] of this.#tombstones) if (until <= now) this.#tombstones.delete(id);
    // Too many drops to remember one by one: a clear refuses every id for the same window instead.
    if (this.#tombstones.size > this.options.maxEntries) this.clear();
  }
}
