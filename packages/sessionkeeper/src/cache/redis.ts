// sessionkeeper/redis: the cache of validated sessions with its revocation broadcast, shared
// counters, and the client adapters (node-redis natively, ioredis through the same small interface).

export type { OpenedRedis } from "./open-redis.js";
export { openRedis } from "./open-redis.js";
export { RedisCache, redisCache } from "./redis-cache.js";
export { redisCounters } from "./redis-counters.js";
export type { NodeRedisClient } from "./redis-link.js";
