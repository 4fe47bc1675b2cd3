import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { getRequestListener } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import type { CreateApp } from "./app.js";
import { UNAUTHENTICATED } from "./app.js";
import { BENCH_USER } from "./protocol.js";

// The floor: the least work any session scheme with hashed tokens must do per request, done
// synchronously from a Map: find the cookie, look the id up, SHA-256 the secret, compare in
// constant time. No expiry, no revocation across processes, no last-seen, no request context.
// It is not a usable session library; it shows how close to its ceiling any library that
// keeps only a hash of the token can get on this machine, so a target above it is out of reach.

const COOKIE = "sk_session=";
const sessions = new Map<string, { userId: string; hash: Buffer }>();

function signIn(): string[] {
  const id = randomBytes(16).toString("base64url");
  const secret = randomBytes(32).toString("base64url");
  sessions.set(id, { userId: BENCH_USER, hash: hash("sha256", secret, "buffer") as Buffer });
  // The same two cookies, of the same sizes, as sessionkeeper sets.
  return [
    `sk_session=${id}.${secret}; Path=/; HttpOnly; SameSite=Lax`,
    `sk_device=${randomBytes(32).toString("base64url")}; Path=/; HttpOnly; SameSite=Lax`,
  ];
}

/** The user id of a valid session cookie, or null. */
function userOf(cookieHeader: string | null | undefined): string | null {
  if (!cookieHeader) return null;
  const at = cookieHeader.indexOf(COOKIE);
  if (at < 0 || (at > 0 && cookieHeader.charCodeAt(at - 1) !== 32)) return null;
  const start = at + COOKIE.length;
  if (cookieHeader.charCodeAt(start + 22) !== 46) return null;
  const session = sessions.get(cookieHeader.slice(start, start + 22));
  if (!session) return null;
  const digest = hash("sha256", cookieHeader.slice(start + 23, start + 66), "buffer") as Buffer;
  return timingSafeEqual(digest, session.hash) ? session.userId : null;
}

const cookieOf = (req: IncomingMessage) => req.headers.cookie;

/** Other users' sessions, so the Map holds as many entries as the other stores hold rows. */
async function seed(first: number, count: number): Promise<void> {
  const hashOfNothing = hash("sha256", "", "buffer") as Buffer;
  for (let n = first; n < first + count; n++)
    sessions.set(`seed${String(n).padStart(18, "0")}`, {
      userId: `seed-${n}`,
      hash: hashOfNothing,
    });
}

/** Express 5 with the floor as a synchronous middleware. */
export const expressFloor: CreateApp = async () => {
  const app = express();
  app.use((req, _res, next) => {
    (req as unknown as { userId: string | null }).userId = userOf(cookieOf(req));
    next();
  });
  app.post("/login", (_req, res) => {
    res.append("set-cookie", signIn()).json({ ok: true });
  });
  app.get("/me", (req, res) => {
    const userId = (req as unknown as { userId: string | null }).userId;
    if (userId === null) res.status(401).json(UNAUTHENTICATED);
    else res.json({ userId });
  });
  return { listener: app, seed, close: async () => {} };
};

/** Hono with the floor as a middleware (Hono's middleware chain is asynchronous whatever it does). */
export const honoFloor: CreateApp = async () => {
  const app = new Hono<{ Variables: { userId: string | null } }>();
  app.use((c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    c.set("userId", userOf(incoming ? cookieOf(incoming) : c.req.header("cookie")));
    return next();
  });
  app.post("/login", (c) => {
    for (const cookie of signIn()) c.header("set-cookie", cookie, { append: true });
    return c.json({ ok: true });
  });
  app.get("/me", (c) => {
    const userId = c.get("userId");
    if (userId === null) return c.json(UNAUTHENTICATED, 401);
    return c.json({ userId });
  });
  return { listener: getRequestListener(app.fetch), seed, close: async () => {} };
};

/** Fastify 5 with the floor as a synchronous `onRequest` hook (where `fastifySessions` validates). */
export const fastifyFloor: CreateApp = async () => {
  const app = Fastify();
  app.decorateRequest("userId", null);
  app.addHook("onRequest", (request, _reply, done) => {
    (request as unknown as { userId: string | null }).userId = userOf(request.headers.cookie);
    done();
  });
  app.post("/login", async (_request, reply) => {
    reply.header("set-cookie", signIn());
    return { ok: true };
  });
  app.get("/me", async (request, reply) => {
    const userId = (request as unknown as { userId: string | null }).userId;
    if (userId === null) return reply.code(401).send(UNAUTHENTICATED);
    return { userId };
  });
  return { fastify: app, seed, close: () => app.close() };
};
