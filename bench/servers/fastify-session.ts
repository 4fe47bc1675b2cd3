import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import { RedisStore } from "connect-redis";
import Fastify from "fastify";
import { createClient } from "redis";
import { BENCH_SECRET, type CreateApp, SESSION_MAX_AGE_MS, UNAUTHENTICATED } from "./app.js";
import { seedRedis } from "./express-session.js";
import { BENCH_USER } from "./protocol.js";

declare module "fastify" {
  interface Session {
    userId?: string;
  }
}

/**
 * Fastify 5 with @fastify/cookie + @fastify/session on a Redis store (connect-redis, which
 * @fastify/session accepts). Its defaults are kept: `rolling: true` saves the session on every response.
 */
export const fastifySessionRedis: CreateApp = async (config) => {
  const client = createClient({ url: config.redisUrl });
  await client.connect();
  const prefix = `${config.redisPrefix}fsess:`;
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: BENCH_SECRET,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: "lax", maxAge: SESSION_MAX_AGE_MS },
    store: new RedisStore({ client, prefix }) as never,
  });
  app.post("/login", async (request) => {
    await request.session.regenerate();
    request.session.userId = BENCH_USER;
    return { ok: true };
  });
  app.get("/me", async (request, reply) => {
    if (!request.session.userId) return reply.code(401).send(UNAUTHENTICATED);
    return { userId: request.session.userId };
  });
  return {
    fastify: app,
    seed: (first, count) => seedRedis(client, prefix, first, count),
    async close() {
      await app.close();
      client.destroy();
    },
  };
};
