import { type Duration, requireDuration } from "../duration.js";
import { type RedisCache, type RedisCacheOptions, redisCache } from "./redis-cache.js";
import { type RedisCounters, redisCounters } from "./redis-counters.js";
import type { NodeRedisClient } from "./redis-link.js";

export interface OpenRedisOptions extends Omit<RedisCacheOptions, "client" | "subscriber"> {
  /** Limit for opening a connection. Default "5s". */
  connectTimeout?: Duration;
}

/** What {@link openRedis} opened: the cache, shared counters, the client, and one close for all. */
export interface OpenedRedis {
  cache: RedisCache;
  counters: RedisCounters;
  client: NodeRedisClient;
  close(): Promise<void>;
}

/**
 * Opens node-redis on `REDIS_URL` with bounded timeouts and a capped reconnect backoff, and builds
 * the session cache and counters over it. Returns at once: if Redis is down, the app still starts
 * and serves from the database until it is back. `@redis/client` is an optional peer dependency.
 * @example
 * const redis = process.env.REDIS_URL ? await openRedis(process.env.REDIS_URL) : null;
 * const keeper = createSessionKeeper({ storage, cache: redis?.cache });
 */
export async function openRedis(
  redisUrl: string,
  options: OpenRedisOptions = {},
): Promise<OpenedRedis> {
  if (typeof redisUrl !== "string" || !/^rediss?:\/\/./i.test(redisUrl)) {
    // Never echo the URL: it may hold a password.
    throw new TypeError("REDIS_URL must be a redis:// or rediss:// URL");
  }
  const { connectTimeout, ...cacheOptions } = options;
  const { createClient } = await importRedis();
  const client = createClient({
    url: redisUrl,
    // Commands fail at once while disconnected instead of queueing: the database is the truth.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: requireDuration("connectTimeout", connectTimeout ?? "5s"),
      // Retry forever (Redis coming back must be noticed) but never wait more than 2 s between tries.
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** Math.min(retries, 6), 2000) + Math.floor(Math.random() * 100),
    },
  }) as unknown as NodeRedisClient;
  const cache = redisCache({ ...cacheOptions, client });
  const counters = redisCounters(client, cacheOptions.prefix ?? "sk:");
  return {
    cache,
    counters,
    client,
    async close() {
      await cache.close();
      client.destroy();
    },
  };
}

async function importRedis(): Promise<typeof import("@redis/client")> {
  try {
    return await import("@redis/client");
  } catch (error) {
    throw new Error(
      "REDIS_URL is set but the optional dependency @redis/client is not installed (npm install @redis/client)",
      { cause: error },
    );
  }
}
