import { cacheClock } from "../clock.js";
import { isStorageError, StorageError } from "../errors.js";
import { isPromise, type MaybePromise } from "../maybe-promise.js";
import type { SessionRecord } from "../types.js";
import type { SessionCache } from "./cache-contract.js";
import {
  type SessionStore,
  type StoreHealth,
  type StoreHealthCheck,
  storeHealth,
} from "./contract.js";

export interface CachedStoreOptions {
  /**
   * Whether a cached copy may be answered; when false the store is read (and the cache refreshed).
   * The keeper refuses a copy it would end as idle: a copy can lag another instance's touch.
   * Default: every copy the cache returns.
   */
  isFresh?: (record: SessionRecord) => boolean;
}

/**
 * The one cache layer over a {@link SessionStore}: every read and write of sessions goes through
 * it, so the cache stays coherent with every write by construction, whatever the backend. Lookups
 * are answered from `cache` when it has a fresh copy; each write drops what it changed once it is
 * over, committed or failed. `close()` closes the store, not the cache: a cache may be shared
 * (one Redis cache per app, one read cache per SQLite connection) and its maker closes it.
 * @example
 * const storage = cachedStore(postgresStorage(pool), redisCache({ client }));
 */
export function cachedStore(
  store: SessionStore,
  cache: SessionCache,
  options: CachedStoreOptions = {},
): SessionStore & StoreHealthCheck {
  return new CachedStore(store, cache, options.isFresh);
}

type Args<M extends keyof SessionStore> = Parameters<SessionStore[M]>;

// Implementing the whole contract makes TypeScript name any method added to it later: each must
// decide here whether it changes a session row. Arguments are forwarded as they came (rest
// parameters), so optional ones added to the contract reach the store untouched.
class CachedStore implements SessionStore, StoreHealthCheck {
  readonly #store: SessionStore;
  readonly #cache: SessionCache;
  readonly #isFresh: ((record: SessionRecord) => boolean) | undefined;
  #closed = false;

  constructor(store: SessionStore, cache: SessionCache, isFresh?: (r: SessionRecord) => boolean) {
    this.#store = store;
    this.#cache = cache;
    this.#isFresh = isFresh;
  }

  /**
   * The per-request lookup. Answers without a promise (and without allocating) when the cache and
   * the store both answer at once; a synchronous failure of either throws a `StorageError` at once.
   */
  findSession(id: string): MaybePromise<SessionRecord | null> {
    // A closed store must fail closed, not keep answering from memory: let it say how.
    if (this.#closed) return this.#store.findSession(id);
    let cached: MaybePromise<SessionRecord | null>;
    try {
      cached = this.#cache.get(id);
    } catch (error) {
      throw failed("findSession", error);
    }
    return isPromise(cached)
      ? cached.then(
          (hit) => this.#fromCache(id, hit),
          (error) => Promise.reject(failed("findSession", error)),
        )
      : this.#fromCache(id, cached);
  }

  #fromCache(id: string, hit: SessionRecord | null): MaybePromise<SessionRecord | null> {
    if (hit !== null && (this.#isFresh === undefined || this.#isFresh(hit))) return hit;
    let readStartedAt: number;
    let found: MaybePromise<SessionRecord | null>;
    try {
      // Taken before the store is read: the cache refuses what was read before a drop reached it.
      // After the cache's own `get`, not before: a get may clear the cache (SQLite's read cache on
      // another connection's commit), and this read, which starts later, must still be kept. It
      // also spares a hit the clock read.
      readStartedAt = cacheClock();
      found = this.#store.findSession(id);
    } catch (error) {
      throw failed("findSession", error);
    }
    return isPromise(found)
      ? found.then((record) => this.#keep(record, readStartedAt))
      : this.#keep(found, readStartedAt);
  }

  /** Offers a live record just read to the cache (ended ones are never served, so never kept). */
  #keep(record: SessionRecord | null, readStartedAt: number): MaybePromise<SessionRecord | null> {
    if (record === null || (record.status !== "active" && record.status !== "pending"))
      return record;
    let stored: MaybePromise<void>;
    try {
      stored = this.#cache.set(record, readStartedAt);
    } catch (error) {
      throw failed("findSession", error);
    }
    return isPromise(stored)
      ? stored.then(
          () => record,
          (error) => Promise.reject(failed("findSession", error)),
        )
      : record;
  }

  // A new session has a fresh random id: no copy of it can be cached (a lookup that found nothing
  // stores nothing), so creating one drops nothing.
  createSession(...args: Args<"createSession">): Promise<void> {
    return this.#store.createSession(...args);
  }

  /**
   * The last-seen write, once per session per touch interval. It is not a revocation, so it is not
   * broadcast: the local copy takes the new values if the write changed the row (else it is
   * forgotten here, and the next lookup reads the row). Copies on other instances keep the older
   * last-seen time until their ttl or a drop; `isFresh` keeps the keeper from ending a session as
   * idle on such a copy's word, and a touch they then attempt finds the row moved and writes nothing.
   */
  async touchSession(...args: Args<"touchSession">): Promise<boolean> {
    let changed = false;
    try {
      changed = await this.#store.touchSession(...args);
      return changed;
    } finally {
      this.#call("touchSession", () => this.#cache.touched(args[0], changed ? args[1] : null));
    }
  }

  async rotateSession(...args: Args<"rotateSession">): Promise<boolean> {
    // Unknown until the write answers: a failed write may still have committed, so it drops.
    let changed = true;
    try {
      changed = await this.#store.rotateSession(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("rotateSession", [args[0]]);
    }
  }

  // Broadcast like a revocation: a copy elsewhere would keep serving the old data until its ttl.
  async updateSessionData(...args: Args<"updateSessionData">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.updateSessionData(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("updateSessionData", [args[0]]);
    }
  }

  // A new name is shown by every instance at once: the copies go, as after a data change.
  async renameSession(...args: Args<"renameSession">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.renameSession(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("renameSession", [args[0]]);
    }
  }

  /** A count over ended sessions too: the database's, never a cached copy. */
  deviceSignIns(
    ...args: Args<"deviceSignIns">
  ): Promise<{ count: number; firstAt: number | null }> {
    return this.#store.deviceSignIns(...args);
  }

  async markProofUsed(...args: Args<"markProofUsed">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.markProofUsed(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("markProofUsed", [args[0]]);
    }
  }

  // A new key or bound cookie must reach every instance at once: a copy elsewhere would refuse the
  // browser's fresh bound cookie (or accept one it replaced) until its ttl.
  async bindSession(...args: Args<"bindSession">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.bindSession(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("bindSession", [args[0]]);
    }
  }

  async refreshBinding(...args: Args<"refreshBinding">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.refreshBinding(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("refreshBinding", [args[0]]);
    }
  }

  async endBinding(...args: Args<"endBinding">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.endBinding(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("endBinding", [args[0]]);
    }
  }

  async endSession(...args: Args<"endSession">): Promise<boolean> {
    let changed = true;
    try {
      changed = await this.#store.endSession(...args);
      return changed;
    } finally {
      if (changed) await this.#drop("endSession", [args[0]]);
    }
  }

  async endUserSessions(...args: Args<"endUserSessions">): Promise<string[]> {
    let ended: string[] | null = null;
    try {
      ended = await this.#store.endUserSessions(...args);
      return ended;
    } finally {
      // Failed: which sessions ended is unknown, so every copy goes.
      if (ended === null) await this.#clear("endUserSessions");
      else if (ended.length > 0) await this.#drop("endUserSessions", ended);
    }
  }

  async prune(...args: Args<"prune">): Promise<{ sessions: number; events: number }> {
    try {
      return await this.#store.prune(...args);
    } finally {
      await this.#clear("prune");
    }
  }

  async migrate(...args: Args<"migrate">): Promise<void> {
    try {
      return await this.#store.migrate(...args);
    } finally {
      await this.#clear("migrate");
    }
  }

  // The rest change no session row.
  listUserSessions(...args: Args<"listUserSessions">): Promise<SessionRecord[]> {
    return this.#store.listUserSessions(...args);
  }

  // Challenges live in their own table, never in a session row or a cache.
  addDeviceChallenge(...args: Args<"addDeviceChallenge">) {
    return this.#store.addDeviceChallenge(...args);
  }

  takeDeviceChallenge(...args: Args<"takeDeviceChallenge">) {
    return this.#store.takeDeviceChallenge(...args);
  }

  recordEvent(...args: Args<"recordEvent">) {
    return this.#store.recordEvent(...args);
  }

  listEvents(...args: Args<"listEvents">) {
    return this.#store.listEvents(...args);
  }

  listEventsPage(...args: Args<"listEventsPage">) {
    return this.#store.listEventsPage(...args);
  }

  listSessionEvents(...args: Args<"listSessionEvents">) {
    return this.#store.listSessionEvents(...args);
  }

  // Passkeys and re-authentication states are never cached: they change no session row, and each
  // is read only on the rare request that uses it, straight from the store every instance shares.
  addPasskey(...args: Args<"addPasskey">) {
    return this.#store.addPasskey(...args);
  }

  listPasskeys(...args: Args<"listPasskeys">) {
    return this.#store.listPasskeys(...args);
  }

  findPasskey(...args: Args<"findPasskey">) {
    return this.#store.findPasskey(...args);
  }

  renamePasskey(...args: Args<"renamePasskey">) {
    return this.#store.renamePasskey(...args);
  }

  removePasskey(...args: Args<"removePasskey">) {
    return this.#store.removePasskey(...args);
  }

  recordPasskeyUse(...args: Args<"recordPasskeyUse">) {
    return this.#store.recordPasskeyUse(...args);
  }

  saveReauthState(...args: Args<"saveReauthState">) {
    return this.#store.saveReauthState(...args);
  }

  findReauthStates(...args: Args<"findReauthStates">) {
    return this.#store.findReauthStates(...args);
  }

  spendReauthState(...args: Args<"spendReauthState">) {
    return this.#store.spendReauthState(...args);
  }

  /** Asks the store (its own check, or a lookup), never the cache: a probe must reach the database. */
  checkHealth(): Promise<StoreHealth> {
    return storeHealth(this.#store);
  }

  close(...args: Args<"close">): Promise<void> {
    this.#closed = true;
    return this.#store.close(...args);
  }

  #drop(step: string, ids: readonly string[]): MaybePromise<void> {
    return this.#call(step, () => this.#cache.invalidate(ids));
  }

  #clear(step: string): MaybePromise<void> {
    return this.#call(step, () => this.#cache.clear());
  }

  /** Runs a cache call after a write; its failure, thrown or rejected, becomes a StorageError. */
  #call(step: string, fn: () => MaybePromise<void>): MaybePromise<void> {
    let result: MaybePromise<void>;
    try {
      result = fn();
    } catch (error) {
      throw failed(step, error);
    }
    return isPromise(result)
      ? result.then(undefined, (error) => Promise.reject(failed(step, error)))
      : result;
  }
}

function failed(step: string, error: unknown): StorageError {
  if (isStorageError(error)) return error as StorageError;
  return new StorageError(`session storage failed during ${step}`, { cause: error });
}
