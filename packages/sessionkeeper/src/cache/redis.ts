// sessionkeeper/redis: the cache of validated sessions with its revocation broadcast, shared
// counters, and the client adapters (node-redis natively, ioredis through the same small interface).

export type { OpenedRedis, OpenRedisOptions } from "./open-redis.js";
export { openRedis } from "./open-redis.js";
export type { CacheMessageListener, RedisCacheOptions } from "./redis-cache.js";
export { RedisCache, redisCache } from "./redis-cache.js";
export type { CounterHit, RedisCounters } from "./redis-counters.js";
export { redisCounters } from "./redis-counters.js";
export type { IoredisClient, NodeRedisClient, RedisClientLike } from "./redis-link.js";
