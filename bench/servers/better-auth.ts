import { betterAuth } from "better-auth";
import { makeSignature } from "better-auth/crypto";
import { getMigrations } from "better-auth/db/migration";
import { fromNodeHeaders } from "better-auth/node";
import express from "express";
import pg from "pg";
import {
  BENCH_SECRET,
  type BenchApp,
  type CreateApp,
  SEED_USER_AGENT,
  SESSION_MAX_AGE_MS,
  UNAUTHENTICATED,
} from "./app.js";
import { instrumentPostgres } from "./instrument.js";
import { BENCH_USER } from "./protocol.js";

/**
 * Better Auth 1.7 on PostgreSQL through its built-in Kysely adapter (a `pg.Pool`), in Express 5,
 * with `auth.api.getSession` on `/me` as its Express guide shows. Sign-in creates the session
 * through Better Auth's internal adapter and signs the cookie the way Better Auth does, so no
 * password hashing is measured. With `cookieCache`, getSession trusts a signed `session_data`
 * cookie (set by the first getSession) for its max age instead of reading the database.
 */
function betterAuthVariant(cookieCache: boolean): CreateApp {
  return async (config) => {
    instrumentPostgres();
    const pool = new pg.Pool({ connectionString: config.postgresUrl });
    const auth = betterAuth({
      database: pool,
      secret: BENCH_SECRET,
      baseURL: "http://127.0.0.1",
      telemetry: { enabled: false },
      logger: { level: "error" },
      session: {
        expiresIn: SESSION_MAX_AGE_MS / 1000,
        // An hour, so the cache does not lapse during a run (the default is five minutes).
        cookieCache: { enabled: cookieCache, maxAge: 3600 },
      },
    });
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();
    const now = new Date();
    await pool.query(
      `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ($1, $1, $2, true, $3, $3)`,
      [BENCH_USER, "bench@example.test", now],
    );
    const ctx = await auth.$context;
    const cookieName = ctx.authCookies.sessionToken.name;

    const app = express();
    app.post("/login", async (_req, res, next) => {
      try {
        const session = await ctx.internalAdapter.createSession(BENCH_USER);
        const signed = encodeURIComponent(
          `${session.token}.${await makeSignature(session.token, ctx.secret)}`,
        );
        res.append(
          "Set-Cookie",
          `${cookieName}=${signed}; Max-Age=${SESSION_MAX_AGE_MS / 1000}; Path=/; HttpOnly; SameSite=Lax`,
        );
        res.json({ ok: true });
      } catch (error) {
        next(error);
      }
    });
    app.get("/me", async (req, res, next) => {
      try {
        const result = await auth.api.getSession({
          headers: fromNodeHeaders(req.headers),
          returnHeaders: true,
        });
        for (const cookie of result.headers.getSetCookie()) res.append("Set-Cookie", cookie);
        if (!result.response) {
          res.status(401).json(UNAUTHENTICATED);
          return;
        }
        res.json({ userId: result.response.user.id });
      } catch (error) {
        next(error);
      }
    });
    return {
      listener: app,
      async seed(first, count) {
        await pool.query(
          `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
           SELECT 'seed-user-' || u, 'Seed ' || u, 'seed' || u || '@example.test', true, $3, $3
           FROM generate_series($1::int / 10, ($1::int + $2::int - 1) / 10) AS u ON CONFLICT DO NOTHING`,
          [first, count, now],
        );
        await pool.query(
          `INSERT INTO "session" (id, "expiresAt", token, "createdAt", "updatedAt", "ipAddress", "userAgent", "userId")
           SELECT 'seed' || x, $2, md5(x::text) || md5('t' || x), $3, $3, '192.0.2.1', $4, 'seed-user-' || (x / 10)
           FROM generate_series($5::int, $5::int + $1::int - 1) AS x`,
          [count, new Date(now.getTime() + SESSION_MAX_AGE_MS), now, SEED_USER_AGENT, first],
        );
        await pool.query(`ANALYZE "session"; ANALYZE "user"`);
      },
      async close() {
        await pool.end();
      },
    } satisfies BenchApp;
  };
}

export const betterAuthPostgres = betterAuthVariant(false);
export const betterAuthCookieCache = betterAuthVariant(true);
