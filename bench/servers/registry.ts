import type { CreateApp } from "./app.js";

/** Each variant's factory, loaded lazily so a child imports only its own frameworks. */
export const factories: Record<string, () => Promise<CreateApp>> = {
  "node-http": async () => (await import("./ceilings.js")).nodeHttp,
  express: async () => (await import("./ceilings.js")).expressCeiling,
  hono: async () => (await import("./ceilings.js")).honoCeiling,
  fastify: async () => (await import("./ceilings.js")).fastifyCeiling,
  "express-async-noop": async () => (await import("./ceilings.js")).expressAsyncNoop,
  "hono-async-noop": async () => (await import("./ceilings.js")).honoAsyncNoop,
  "express-floor": async () => (await import("./floor.js")).expressFloor,
  "hono-floor": async () => (await import("./floor.js")).honoFloor,
  "fastify-floor": async () => (await import("./floor.js")).fastifyFloor,
  "express-session-memory": async () => (await import("./express-session.js")).expressSessionMemory,
  "express-session-pg": async () => (await import("./express-session.js")).expressSessionPostgres,
  "express-session-redis": async () => (await import("./express-session.js")).expressSessionRedis,
  "fastify-session-redis": async () => (await import("./fastify-session.js")).fastifySessionRedis,
  "better-auth-pg": async () => (await import("./better-auth.js")).betterAuthPostgres,
  "better-auth-pg-cookie-cache": async () =>
    (await import("./better-auth.js")).betterAuthCookieCache,
  "sk-express-sqlite": async () => (await import("./sessionkeeper.js")).skExpressSqlite,
  "sk-hono-sqlite": async () => (await import("./sessionkeeper.js")).skHonoSqlite,
  "sk-fastify-sqlite": async () => (await import("./sessionkeeper.js")).skFastifySqlite,
  "sk-express-pg": async () => (await import("./sessionkeeper.js")).skExpressPostgres,
  "sk-hono-pg": async () => (await import("./sessionkeeper.js")).skHonoPostgres,
  "sk-express-pg-redis": async () => (await import("./sessionkeeper.js")).skExpressPostgresRedis,
  "sk-hono-pg-redis": async () => (await import("./sessionkeeper.js")).skHonoPostgresRedis,
};
