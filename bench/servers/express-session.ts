import connectPgSimple from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import express, { type RequestHandler } from "express";
import session, { MemoryStore, type Store } from "express-session";
import pg from "pg";
import { createClient } from "redis";
import {
  BENCH_SECRET,
  type BenchApp,
  type CreateApp,
  SESSION_MAX_AGE_MS,
  seedUserId,
  UNAUTHENTICATED,
} from "./app.js";
import { instrumentPostgres } from "./instrument.js";
import { BENCH_USER } from "./protocol.js";

declare module "express-session" {
  interface SessionData {
    userId: string;
  }
}

// express-session as its README recommends: resave false, saveUninitialized false, a 14-day
// cookie. An unmodified session is then not saved again, but the store's `touch` runs on every
// request (connect-pg-simple: an UPDATE; connect-redis: an EXPIRE).

function sessionApp(store: Store): express.Express {
  const app = express();
  app.use(
    session({
      store,
      secret: BENCH_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: SESSION_MAX_AGE_MS, httpOnly: true, sameSite: "lax" },
    }) as RequestHandler,
  );
  app.post("/login", (req, res, next) => {
    // A new session id at sign-in (fixation defence), then the user id.
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.userId = BENCH_USER;
      res.json({ ok: true });
    });
  });
  app.get("/me", (req, res) => {
    if (!req.session.userId) {
      res.status(401).json(UNAUTHENTICATED);
      return;
    }
    res.json({ userId: req.session.userId });
  });
  return app;
}

function seedSession(n: number) {
  return {
    cookie: {
      originalMaxAge: SESSION_MAX_AGE_MS,
      expires: new Date(Date.now() + SESSION_MAX_AGE_MS),
      httpOnly: true,
      path: "/",
      sameSite: "lax",
    },
    userId: seedUserId(n),
  };
}

/** express-session with its built-in MemoryStore (one process, lost on restart). */
export const expressSessionMemory: CreateApp = async () => {
  const store = new MemoryStore();
  return {
    listener: sessionApp(store),
    async seed(first, count) {
      for (let n = first; n < first + count; n++) {
        store.set(`seed${n}`, seedSession(n) as unknown as session.SessionData, () => {});
      }
    },
    close: async () => {},
  };
};

/** express-session with connect-pg-simple on PostgreSQL. */
export const expressSessionPostgres: CreateApp = async (config) => {
  instrumentPostgres();
  const pool = new pg.Pool({ connectionString: config.postgresUrl });
  const PgStore = connectPgSimple(session);
  const store = new PgStore({ pool, createTableIfMissing: true });
  // Create the table now rather than on the first request.
  await new Promise<void>((resolve, reject) =>
    store.get("warm-up", (error) => (error ? reject(error) : resolve())),
  );
  return {
    listener: sessionApp(store),
    async seed(first, count) {
      const expires = new Date(Date.now() + SESSION_MAX_AGE_MS).toISOString();
      await pool.query(
        `INSERT INTO session (sid, sess, expire)
         SELECT 'seed' || x, json_build_object('cookie', json_build_object('originalMaxAge', $2::bigint,
           'expires', $3::text, 'httpOnly', true, 'path', '/', 'sameSite', 'lax'), 'userId', 'seed-user-' || (x / 10)),
           $3::timestamptz
         FROM generate_series($4::int, $4::int + $1::int - 1) AS x`,
        [count, SESSION_MAX_AGE_MS, expires, first],
      );
      await pool.query("ANALYZE session");
    },
    async close() {
      store.close();
      await pool.end();
    },
  } satisfies BenchApp;
};

/** express-session with connect-redis 9 on node-redis. */
export const expressSessionRedis: CreateApp = async (config) => {
  const client = createClient({ url: config.redisUrl });
  await client.connect();
  const prefix = `${config.redisPrefix}sess:`;
  const store = new RedisStore({ client, prefix });
  return {
    listener: sessionApp(store),
    seed: (first, count) => seedRedis(client, prefix, first, count),
    async close() {
      client.destroy();
    },
  };
};

/** The part of a node-redis client the seeding uses. */
interface SeedClient {
  multi(): {
    set(
      key: string,
      value: string,
      options: { expiration: { type: "EX"; value: number } },
    ): unknown;
    execAsPipeline(): Promise<unknown>;
  };
}

/** Writes `count` sessions in pipelined batches, the way connect-redis stores them (JSON, EX ttl). */
export async function seedRedis(
  client: SeedClient,
  prefix: string,
  first: number,
  count: number,
): Promise<void> {
  const ttl = Math.floor(SESSION_MAX_AGE_MS / 1000);
  const end = first + count;
  for (let start = first; start < end; start += 5000) {
    const batch = client.multi();
    for (let n = start; n < Math.min(end, start + 5000); n++) {
      batch.set(`${prefix}seed${n}`, JSON.stringify(seedSession(n)), {
        expiration: { type: "EX", value: ttl },
      });
    }
    await batch.execAsPipeline();
  }
}
