import { randomBytes } from "node:crypto";
import { type Duration, requireDuration } from "../duration.js";
import type { SessionCache, TouchUpdate } from "../storage/cache-contract.js";
import { LocalSessionCache } from "../storage/local-cache.js";
import type { SessionRecord } from "../types.js";
import { type RedisClientLike, type RedisLink, redisLink, withTimeout } from "./redis-link.js";

export interface RedisCacheOptions {
  /** A node-redis or ioredis client; it publishes. Connected here in the background if it is not open. */
  client: RedisClientLike;
  /** The connection that listens. Default: `client.duplicate()`, opened and closed by the cache. */
  subscriber?: RedisClientLike;
  /** Prefix of the channel (and of counter keys): instances sharing sessions share a prefix. Default "sk:". */
  prefix?: string;
  /** How long a validated record is served from memory: a backstop, not the revocation path. Default "30s". */
  ttl?: Duration;
  /** Most records kept per instance. Default 10000. */
  maxEntries?: number;
  /** The longest a session read from the database can take (see `LocalCacheOptions.maxReadTime`). Default "30s". */
  maxReadTime?: Duration;
  /** Limit for one PUBLISH. Default "2s". */
  commandTimeout?: Duration;
  /** How often a trusted cache proves its subscription still receives. Default "10s". */
  heartbeatInterval?: Duration;
  /** How often an untrusted cache tries to get its subscription back. Default "1s". */
  retryInterval?: Duration;
  /** Told of every drop, this instance's own ("local") and other instances' ("remote"). For metrics and tests. */
  onInvalidated?: (ids: readonly string[], origin: "local" | "remote") => void;
}

/** A message from another instance on the app's channel (see {@link RedisCache.publish}). */
export type CacheMessageListener = (topic: string, data: unknown) => void;

const MAX_MESSAGE = 1024 * 1024;
const MAX_ID = 64;
const IDS_PER_MESSAGE = 1000;
/**
 * How long a drop waits for its own message to come back through Redis and for every other
 * subscriber to say it applied it (see #publishIds).
 */
const ECHO_WAIT_MS = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
const MAX_PENDING = 100_000;

/**
 * A per-instance cache of validated sessions with a revocation broadcast over Redis pub/sub.
 * It serves nothing (every `get` is null, so the caller reads the database) until it has seen its
 * own probe come back through the subscription, and again whenever the subscription or a publish
 * fails; each time trust returns it starts empty, so a session ended meanwhile cannot come back.
 * @example
 * const cache = redisCache({ client: createClient({ url: process.env.REDIS_URL }) });
 * const keeper = createSessionKeeper({ storage, cache });
 */
export function redisCache(options: RedisCacheOptions): RedisCache {
  return new RedisCache(options);
}

export class RedisCache implements SessionCache {
  readonly channel: string;
  readonly #client: RedisLink;
  readonly #subscriber: RedisLink;
  readonly #ownsSubscriber: boolean;
  readonly #local: LocalSessionCache;
  readonly #commandTimeout: number;
  readonly #heartbeat: number;
  readonly #retry: number;
  readonly #onInvalidated: RedisCacheOptions["onInvalidated"];
  readonly #listeners = new Set<CacheMessageListener>();
  readonly #pending = new Set<string>();
  readonly #waiters = new Set<() => void>();
  // A clear that could not be broadcast yet: sent before any pending drop once Redis is back.
  #pendingClear = false;
  #trusted = false;
  #subscribed = false;
  // Bumped by every disruption: a probe that saw one while in flight proves nothing.
  #epoch = 0;
  #probing = false;
  #probe: { nonce: string; received: () => void } | null = null;
  /**
   * Drops this instance published, by nonce: waiting to come back through its own subscription
   * and for `acks` from the other subscribers that received them.
   */
  readonly #echoes = new Map<string, { echoed: boolean; acks: number; check(): void }>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisCacheOptions) {
    if (typeof options !== "object" || options === null)
      throw new TypeError("redisCache(options) needs { client }");
    const prefix = options.prefix ?? "sk:";
    if (typeof prefix !== "string" || prefix.length > 100)
      throw new TypeError("options.prefix must be a string of at most 100 characters");
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new TypeError("options.maxEntries must be a positive integer");
    this.channel = `${prefix}sessions`;
    this.#client = redisLink(options.client, "client");
    this.#ownsSubscriber = options.subscriber === undefined;
    this.#subscriber = options.subscriber
      ? redisLink(options.subscriber, "subscriber")
      : this.#client.duplicate();
    this.#local = new LocalSessionCache({
      ttl: requireDuration("ttl", options.ttl ?? "30s"),
      maxEntries,
      maxReadTime: requireDuration("maxReadTime", options.maxReadTime ?? "30s"),
    });
    this.#commandTimeout = requireDuration("commandTimeout", options.commandTimeout ?? "2s");
    this.#heartbeat = requireDuration("heartbeatInterval", options.heartbeatInterval ?? "10s");
    this.#retry = requireDuration("retryInterval", options.retryInterval ?? "1s");
    this.#onInvalidated = options.onInvalidated;
    this.#start();
  }

  /** True while cached records are served: the subscription is proven live since the last disruption. */
  get trusted(): boolean {
    return this.#trusted;
  }

  /** Drops (one per session id, one for a clear) not broadcast yet; they are sent when Redis is back. */
  get pendingBroadcasts(): number {
    return this.#pending.size + (this.#pendingClear ? 1 : 0);
  }

  get(id: string): SessionRecord | null {
    return this.#trusted ? this.#local.get(id) : null;
  }

  set(record: SessionRecord, readStartedAt: number): void {
    if (this.#trusted) this.#local.set(record, readStartedAt);
  }

  /**
   * Drops the sessions here and publishes the drop. Never throws: if Redis cannot take it, the ids
   * are kept to send later and this instance stops trusting its cache until the subscription is back.
   */
  async invalidate(ids: readonly string[]): Promise<void> {
    const list = ids.filter(isSessionId);
    if (list.length === 0) return;
    this.#local.drop(list);
    this.#notify(list, "local");
    try {
      await this.#publishIds(list);
    } catch {
      for (const id of list) this.#queue(id);
      this.#distrust();
    }
  }

  /** This instance's own touch: patched or forgotten here only (see `SessionCache.touched`). */
  touched(id: string, update: TouchUpdate | null): void {
    this.#local.touch(id, update);
  }

  /**
   * Forgets every session here and tells every instance to do the same. Never throws: if Redis
   * cannot take it, the clear is sent later and this instance stops trusting its cache meanwhile.
   */
  async clear(): Promise<void> {
    this.#local.clear();
    try {
      await this.#send(JSON.stringify({ k: "clr" }));
    } catch {
      this.#pendingClear = true;
      this.#distrust();
    }
  }

  /** Resolves true once the cache is trusted, or false after `timeoutMs`. */
  ready(timeoutMs = 5000): Promise<boolean> {
    if (this.#trusted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(onTrusted);
        resolve(ok);
      };
      const onTrusted = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(onTrusted);
    });
  }

  /** Tries to send every pending drop now; true when none is left (e.g. before a CLI exits). */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.pendingBroadcasts > 0 && !this.#closed) {
      try {
        await this.#flushPending();
      } catch {
        if (performance.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, Math.min(200, timeoutMs)));
      }
    }
    return this.pendingBroadcasts === 0;
  }

  /** Sends an app-defined message to every instance (e.g. "a deny rule changed"). False if Redis is unreachable. */
  async publish(topic: string, data: unknown): Promise<boolean> {
    if (typeof topic !== "string" || topic.length === 0 || topic.length > 100)
      throw new TypeError("topic must be a string of 1 to 100 characters");
    try {
      await this.#send(JSON.stringify({ k: "msg", topic, data }));
      return true;
    } catch {
      return false;
    }
  }

  /** Listens for {@link publish}ed messages from every instance (this one included). Returns an unsubscribe. */
  onMessage(listener: CacheMessageListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops probing and closes the subscriber it opened; the publishing client stays the caller's. */
  async close(): Promise<void> {
    // Idempotent: the keeper and openRedis() may both close the cache.
    if (this.#closed) return;
    this.#closed = true;
    this.#trusted = false;
    clearTimeout(this.#timer);
    this.#local.clear();
    if (this.#ownsSubscriber) this.#subscriber.destroy();
  }

  #start(): void {
    this.#client.onState((state) => (state === "down" ? this.#distrust() : this.#schedule(0)));
    this.#subscriber.onState((state) => {
      if (state === "down") return this.#distrust();
      if (!this.#subscribed) void this.#subscribe();
      this.#schedule(0);
    });
    this.#client.start();
    this.#subscriber.start();
    if (this.#subscriber.ready) void this.#subscribe();
    this.#schedule(0);
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.channel, (message) => this.#receive(message));
      this.#subscribed = true;
      this.#schedule(0);
    } catch {
      // Retried on the subscriber's next "ready".
    }
  }

  #receive(message: string): void {
    if (message.length > MAX_MESSAGE) return;
    let parsed: { k?: unknown; ids?: unknown; n?: unknown; topic?: unknown; data?: unknown };
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (parsed?.k === "inv" && Array.isArray(parsed.ids)) {
      const ids = parsed.ids.filter(isSessionId);
      // Applied trusted or not: a drop must never be lost, and tombstones guard reads in flight.
      this.#local.drop(ids);
      this.#notify(ids, "remote");
      if (typeof parsed.n === "string" && parsed.n.length <= 32) {
        const mine = this.#echoes.get(parsed.n);
        if (mine) {
          mine.echoed = true;
          mine.check();
        } else {
          // Another instance's drop, applied above: say so, so that its revocation answers only
          // once every instance refuses the session.
          this.#send(JSON.stringify({ k: "ack", n: parsed.n })).catch(() => {});
        }
      }
    } else if (parsed?.k === "ack" && typeof parsed.n === "string") {
      const mine = this.#echoes.get(parsed.n);
      if (mine) {
        mine.acks++;
        mine.check();
      }
    } else if (parsed?.k === "clr") {
      this.#local.clear();
    } else if (parsed?.k === "probe" && this.#probe !== null && parsed.n === this.#probe.nonce) {
      this.#probe.received();
    } else if (parsed?.k === "msg" && typeof parsed.topic === "string") {
      for (const listener of this.#listeners) {
        try {
          listener(parsed.topic, parsed.data);
        } catch {
          /* a listener's failure must not stop the others */
        }
      }
    }
  }

  /** Stops serving from memory until a probe comes back; called on any sign of trouble. */
  #distrust(): void {
    this.#epoch++;
    this.#trusted = false;
    this.#local.clear();
    if (!this.#closed) this.#schedule(this.#retry);
  }

  #schedule(delay: number): void {
    if (this.#closed || this.#probing) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#runProbe(), delay);
    this.#timer.unref();
  }

  /**
   * Publishes a nonce on the channel and waits to receive it: proof that this instance both reaches
   * Redis and hears the channel, so no drop from another instance can be missed from now on.
   */
  async #runProbe(): Promise<void> {
    if (this.#closed || this.#probing) return;
    this.#probing = true;
    const epoch = this.#epoch;
    let ok = false;
    try {
      if (!this.#client.ready || !this.#subscriber.ready || !this.#subscribed)
        throw new Error("not connected");
      await this.#flushPending();
      const nonce = randomBytes(12).toString("base64url");
      const echoed = new Promise<void>((resolve) => {
        this.#probe = { nonce, received: resolve };
      });
      await this.#send(JSON.stringify({ k: "probe", n: nonce }));
      await withTimeout(echoed, this.#commandTimeout, "probe");
      ok = this.#epoch === epoch && this.#client.ready && this.#subscriber.ready;
    } catch {
      ok = false;
    } finally {
      this.#probe = null;
      this.#probing = false;
    }
    if (this.#closed) return;
    if (ok) {
      if (!this.#trusted) {
        // Whatever was cached before may have been ended while drops could not reach us: start empty.
        this.#local.clear();
        this.#trusted = true;
        for (const waiter of [...this.#waiters]) waiter();
      }
      this.#schedule(this.#heartbeat);
    } else if (this.#trusted) {
      this.#distrust();
    } else {
      this.#schedule(this.#retry);
    }
  }

  async #flushPending(): Promise<void> {
    if (this.#pendingClear) {
      await this.#send(JSON.stringify({ k: "clr" }));
      this.#pendingClear = false;
    }
    if (this.#pending.size === 0) return;
    const ids = [...this.#pending];
    await this.#publishIds(ids);
    for (const id of ids) this.#pending.delete(id);
  }

  /**
   * Publishes the drops, then waits (at most ECHO_WAIT_MS, never failing) until the last one has
   * come back through this instance's own subscription and every other subscriber that received
   * it (PUBLISH answers how many did) has published its acknowledgement, sent only after it
   * dropped the sessions. Having a message in hand is not enough: an instance may serve a request
   * it read in the same turn before it reads the drop. So a revocation that returned is refused
   * by every instance's very next request, and a slow or foreign subscriber costs at most the wait.
   */
  async #publishIds(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE) {
      const last = i + IDS_PER_MESSAGE >= ids.length;
      const n = last && this.#subscribed ? randomBytes(9).toString("base64url") : undefined;
      let done: Promise<void> | null = null;
      let expected = Number.POSITIVE_INFINITY; // acks, known once PUBLISH answers
      if (n) {
        done = new Promise<void>((resolve) => {
          const state = {
            echoed: false,
            acks: 0,
            check: () => {
              if (state.echoed && state.acks >= expected) resolve();
            },
          };
          this.#echoes.set(n, state);
        });
      }
      try {
        const receivers = await this.#send(
          JSON.stringify({ k: "inv", ids: ids.slice(i, i + IDS_PER_MESSAGE), n }),
        );
        if (n && done) {
          // This instance's own subscription is one of the receivers.
          expected = typeof receivers === "number" ? Math.max(0, receivers - 1) : 0;
          this.#echoes.get(n)?.check();
          await Promise.race([done, sleep(ECHO_WAIT_MS)]);
          // Other subscriptions in this process read the same message in the same turn of the
          // event loop: let that turn finish before the caller goes on.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        if (n) this.#echoes.delete(n);
      }
    }
  }

  /** PUBLISHes on the channel; resolves with the number of subscribers that received it. */
  async #send(message: string): Promise<unknown> {
    // Fail fast when disconnected rather than wait in the client's offline queue.
    if (!this.#client.ready) throw new Error("Redis is not connected");
    return withTimeout(
      this.#client.command(["PUBLISH", this.channel, message]),
      this.#commandTimeout,
      "PUBLISH",
    );
  }

  #notify(ids: readonly string[], origin: "local" | "remote"): void {
    try {
      this.#onInvalidated?.(ids, origin);
    } catch {
      /* an observer's failure must not stop a drop */
    }
  }

  #queue(id: string): void {
    this.#pending.delete(id);
    this.#pending.add(id);
    // Bounded: past this many, the oldest drops rely on the other instances' ttl.
    if (this.#pending.size > MAX_PENDING)
      this.#pending.delete(this.#pending.values().next().value as string);
  }
}

function isSessionId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID;
}
