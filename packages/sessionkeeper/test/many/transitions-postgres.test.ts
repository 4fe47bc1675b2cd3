import { describe, it } from "node:test";
import { createSessionKeeper } from "../../src/session-keeper.js";
import { postgresStorage } from "../../src/storage/postgres.js";
import { runTransitionTable } from "../lifecycle/transition-table.js";
import { redisSkip, sharedRedisCache } from "./redis-kit.js";
import { freshPgSchema, postgresSkip } from "./services.js";

const skip = (await postgresSkip()) || (await redisSkip());

if (skip) {
  describe("life cycle transition table: PostgreSQL + Redis", { skip }, () => {
    it("needs PostgreSQL and Redis", () => {});
  });
} else {
  // Two instances on one PostgreSQL schema, each with its own Redis cache under one prefix: a
  // change on one reaches the other's cache only through the broadcast.
  runTransitionTable("PostgreSQL, two instances with the Redis cache", async () => {
    const schema = await freshPgSchema();
    const clock = { now: Date.UTC(2026, 0, 5, 9) };
    const timeouts = { idleTimeout: "10m", absoluteTimeout: "1h", now: () => clock.now } as const;
    const redisA = await sharedRedisCache();
    const redisB = await sharedRedisCache(redisA.prefix);
    const a = createSessionKeeper({
      storage: postgresStorage(schema.pool()),
      cache: redisA.cache,
      ...timeouts,
    });
    const b = createSessionKeeper({
      storage: postgresStorage(schema.pool()),
      cache: redisB.cache,
      ...timeouts,
    });
    await a.migrate();
    return {
      a,
      b,
      clock,
      async close() {
        await a.close();
        await b.close();
        await redisA.close();
        await redisB.close();
        await schema.drop();
      },
    };
  });
}
