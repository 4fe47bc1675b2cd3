import { getRequestListener } from "@hono/node-server";
import Database from "better-sqlite3";
import express from "express";
import Fastify, { type FastifyPluginCallback, type FastifyRequest } from "fastify";
import { Hono } from "hono";
import pg from "pg";
import type { RequestSession, SessionKeeper, SessionKeeperOptions } from "sessionkeeper";
import type { BenchApp, CreateApp } from "./app.js";
import { UNAUTHENTICATED } from "./app.js";
import { instrumentPostgres, instrumentSqlite } from "./instrument.js";
import { BENCH_USER, type ServerConfig } from "./protocol.js";
import { seedPostgres, seedSqlite } from "./seed-sessionkeeper.js";
import { loadSessionkeeper, type SessionkeeperModules } from "./sk-modules.js";

type Backend = "sqlite" | "postgres" | "postgres-redis";
type Framework = "express" | "hono" | "fastify";

interface Store {
  options: SessionKeeperOptions;
  seed(first: number, count: number): Promise<void>;
  close(): Promise<void>;
}

async function openSqlite(sk: SessionkeeperModules, config: ServerConfig): Promise<Store> {
  const db = new Database(config.sqlitePath as string);
  instrumentSqlite(db.prepare("SELECT 1"));
  const { cacheTtl, checkInterval } = config.keeperOptions ?? {};
  const cache = {
    ...(cacheTtl ? { ttl: cacheTtl as `${number}s` } : {}),
    ...(checkInterval ? { checkInterval: checkInterval as `${number}ms` } : {}),
  };
  return {
    options: { storage: sk.sqlite.sqliteStorage(db, { cache }) },
    seed: async (first, count) => seedSqlite(db, first, count),
    close: async () => {},
  };
}

/** The PostgreSQL storage and the Redis cache are their own subpath exports. */
async function openPostgres(
  sk: SessionkeeperModules,
  config: ServerConfig,
  withRedis: boolean,
): Promise<Store> {
  instrumentPostgres();
  const { postgresStorage } = (await sk.optional("postgres")) as {
    postgresStorage: (pool: pg.Pool) => SessionKeeperOptions["storage"];
  };
  // postgresStorage ends the pool when the keeper closes.
  const pool = new pg.Pool({ connectionString: config.postgresUrl });
  const options: SessionKeeperOptions = { storage: postgresStorage(pool) };
  let closeRedis = async () => {};
  if (withRedis) {
    const { createClient } = await import("@redis/client");
    const { redisCache } = (await sk.optional("redis")) as {
      redisCache: (options: {
        client: unknown;
        prefix?: string;
      }) => NonNullable<SessionKeeperOptions["cache"]> & { ready(ms?: number): Promise<boolean> };
    };
    const client = createClient({ url: config.redisUrl });
    await client.connect();
    const cache = redisCache({ client, prefix: config.redisPrefix });
    // Serve from the cache from the first request: wait until its subscription is proven.
    if (!(await cache.ready(10_000)))
      throw new Error("the Redis cache did not become ready within 10 s");
    options.cache = cache;
    closeRedis = async () => {
      client.destroy();
    };
  }
  return {
    options,
    seed: (first, count) => seedPostgres(pool, first, count),
    close: () => closeRedis(),
  };
}

function expressApp(sk: SessionkeeperModules, keeper: SessionKeeper) {
  const { sessionContext, sessionMiddleware } = sk.express;
  const app = express();
  app.use(sessionMiddleware(keeper));
  app.post("/login", async (req, res) => {
    await sessionContext(req).signIn(BENCH_USER);
    res.json({ ok: true });
  });
  // Every variant answers the same way: the route checks the session itself (no extra middleware
  // layer), then the framework's JSON helper with the user id from the session.
  app.get("/me", (req, res) => {
    const userId = sessionContext(req).userId;
    if (userId === null) res.status(401).json(UNAUTHENTICATED);
    else res.json({ userId });
  });
  return app;
}

/**
 * The README's Express app, as a user following it writes it (its keeper options are set where
 * the keeper is made): the account routers, `requireSession()`, and the route reading
 * `req.sessionkeeper?.session` (the full public view, not just the user id).
 */
function readmeApp(sk: SessionkeeperModules, keeper: SessionKeeper) {
  const { accountApi, accountPages, requireSession, sessionMiddleware, storageErrorHandler } =
    sk.express;
  const app = express();
  app.use(sessionMiddleware(keeper));
  app.use("/account", accountPages(keeper));
  app.use("/api", accountApi(keeper));
  app.use(express.json());
  app.post("/login", async (req, res) => {
    await sk.express.sessionContext(req).signIn(BENCH_USER);
    res.json({ ok: true });
  });
  app.get("/me", requireSession(), (req, res) => {
    res.json({ userId: req.sessionkeeper?.session?.userId });
  });
  app.use(storageErrorHandler());
  return app;
}

function honoApp(sk: SessionkeeperModules, keeper: SessionKeeper) {
  const app = new Hono<{ Variables: { sessionkeeper: RequestSession } }>();
  app.use(sk.web.honoSessions(keeper));
  app.post("/login", async (c) => {
    await c.get("sessionkeeper").signIn(BENCH_USER);
    return c.json({ ok: true });
  });
  app.get("/me", (c) => {
    const userId = c.get("sessionkeeper").userId;
    if (userId === null) return c.json(UNAUTHENTICATED, 401);
    return c.json({ userId });
  });
  return getRequestListener(app.fetch);
}

/** Fastify 5 with `fastifySessions` from `sessionkeeper/fastify`. */
async function fastifyApp(sk: SessionkeeperModules, keeper: SessionKeeper) {
  const { fastifySessions } = (await sk.optional("fastify")) as {
    fastifySessions: (keeper: SessionKeeper) => FastifyPluginCallback;
  };
  const session = (request: FastifyRequest) =>
    (request as unknown as { sessionkeeper: RequestSession | null }).sessionkeeper;
  const app = Fastify();
  await app.register(fastifySessions(keeper));
  app.post("/login", async (request) => {
    await session(request)?.signIn(BENCH_USER);
    return { ok: true };
  });
  app.get("/me", async (request, reply) => {
    const userId = session(request)?.userId ?? null;
    if (userId === null) return reply.code(401).send(UNAUTHENTICATED);
    return { userId };
  });
  return app;
}

function sessionkeeperVariant(framework: Framework, backend: Backend): CreateApp {
  return async (config) => {
    const sk = await loadSessionkeeper(config.sessionkeeperDir);
    const store =
      backend === "sqlite"
        ? await openSqlite(sk, config)
        : await openPostgres(sk, config, backend === "postgres-redis");
    // Library defaults throughout: 14-day idle timeout, 90-day lifetime, 60 s touch interval.
    const readme = config.route === "readme";
    const touchInterval = config.keeperOptions?.touchInterval as `${number}s` | undefined;
    const keeper = sk.core.createSessionKeeper({
      ...store.options,
      ...(touchInterval ? { touchInterval } : {}),
      // The README's options (its timeouts are the defaults; excludePaths adds two prefix checks).
      ...(readme
        ? { idleTimeout: "14d", absoluteTimeout: "90d", excludePaths: ["/healthz", "/static"] }
        : {}),
    });
    await keeper.migrate();
    const served =
      framework === "fastify"
        ? { fastify: await fastifyApp(sk, keeper) }
        : {
            listener:
              framework === "hono"
                ? honoApp(sk, keeper)
                : readme
                  ? readmeApp(sk, keeper)
                  : expressApp(sk, keeper),
          };
    return {
      ...served,
      seed: (first, count) => store.seed(first, count),
      async listTiming(userId, iterations) {
        const times: number[] = [];
        for (let i = 0; i < iterations; i++) {
          const start = process.hrtime.bigint();
          await keeper.listSessions(userId);
          times.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        return times;
      },
      async close() {
        await served.fastify?.close();
        await keeper.close();
        await store.close();
      },
    } satisfies BenchApp;
  };
}

export const skExpressSqlite = sessionkeeperVariant("express", "sqlite");
export const skHonoSqlite = sessionkeeperVariant("hono", "sqlite");
export const skExpressPostgres = sessionkeeperVariant("express", "postgres");
export const skHonoPostgres = sessionkeeperVariant("hono", "postgres");
export const skExpressPostgresRedis = sessionkeeperVariant("express", "postgres-redis");
export const skHonoPostgresRedis = sessionkeeperVariant("hono", "postgres-redis");
export const skFastifySqlite = sessionkeeperVariant("fastify", "sqlite");
