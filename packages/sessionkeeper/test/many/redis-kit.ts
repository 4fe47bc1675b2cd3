import { randomBytes } from "node:crypto";
import { createClient } from "@redis/client";
import { type RedisCache, redisCache } from "../../src/cache/redis.js";
import type { NodeRedisClient } from "../../src/cache/redis-link.js";
import { cachedStore } from "../../src/storage/cached-store.js";
import type { SessionStore } from "../../src/storage/contract.js";
import { serviceSkip } from "./services.js";

// The machine's shared Redis (CI starts one on 6379). Each cache uses a prefix of its own.
export const REDIS_URL = process.env.SK_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export const redisSkip = () =>
  serviceSkip("Redis", async () => {
    const client = createClient({
      url: REDIS_URL,
      socket: { connectTimeout: 3000, reconnectStrategy: false },
    });
    await client.connect();
    await client.ping();
    client.destroy();
  });

/** A Redis cache on the shared server under a fresh prefix, trusted (probe echoed) before it returns. */
export async function sharedRedisCache(
  prefix = `sk-test-${randomBytes(4).toString("hex")}:`,
  options: { onInvalidated?: (ids: readonly string[], origin: "local" | "remote") => void } = {},
): Promise<{ cache: RedisCache; prefix: string; close(): Promise<void> }> {
  const client = createClient({
    url: REDIS_URL,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1000, reconnectStrategy: () => 100 },
  }) as unknown as NodeRedisClient;
  const cache = redisCache({ client, prefix, heartbeatInterval: "1s", ...options });
  if (!(await cache.ready(5000))) throw new Error("the Redis cache never became trusted");
  return {
    cache,
    prefix,
    async close() {
      await cache.close();
      client.destroy();
    },
  };
}

/** `store` behind the cache layer with a Redis cache of its own; `close` closes both and the client. */
export async function redisCachedStore(
  store: SessionStore,
): Promise<{ store: SessionStore; cache: RedisCache; close(): Promise<void> }> {
  const redis = await sharedRedisCache();
  const cached = cachedStore(store, redis.cache);
  return {
    store: cached,
    cache: redis.cache,
    async close() {
      await cached.close().catch(() => {}); // the suite may have closed it already
      await redis.close();
    },
  };
}
