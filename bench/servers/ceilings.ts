import { getRequestListener } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import type { BenchApp, CreateApp } from "./app.js";
import { BENCH_USER } from "./protocol.js";

// The ceilings: each framework with no session at all. `/me` answers 200 for everyone and
// `/login` sets nothing, so the difference to a session variant is the session's whole cost.

/** A fresh body per request, serialised per request, as in the session variants. */
const me = () => ({ userId: BENCH_USER });

/** node:http with a hand-written router. */
export const nodeHttp: CreateApp = async () => {
  return {
    listener(req, res) {
      if (req.url === "/me" && req.method === "GET") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(me()));
      } else if (req.url === "/login" && req.method === "POST") {
        res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      } else res.writeHead(404).end();
    },
    close: async () => {},
  };
};

/** Express 5, no middleware. */
export const expressCeiling: CreateApp = async () => {
  const app = express();
  app.post("/login", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/me", (_req, res) => {
    res.json(me());
  });
  return { listener: app, close: async () => {} };
};

/** Hono on @hono/node-server. */
export const honoCeiling: CreateApp = async () => {
  const app = new Hono();
  app.post("/login", (c) => c.json({ ok: true }));
  app.get("/me", (c) => c.json(me()));
  return { listener: getRequestListener(app.fetch), close: async () => {} };
};

/** Fastify 5, no plugins. */
export const fastifyCeiling: CreateApp = async () => {
  const app = Fastify();
  app.post("/login", async () => ({ ok: true }));
  app.get("/me", async () => me());
  return { fastify: app, close: () => app.close() } satisfies BenchApp;
};

/**
 * The floor for any session middleware on Express: one async no-op middleware that awaits a
 * resolved promise (as a store lookup would), no session.
 */
export const expressAsyncNoop: CreateApp = async () => {
  const app = express();
  app.use(async (_req, _res, next) => {
    await Promise.resolve();
    next();
  });
  app.post("/login", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/me", (_req, res) => {
    res.json(me());
  });
  return { listener: app, close: async () => {} };
};

/** The same floor on Hono: an async middleware makes the response asynchronous. */
export const honoAsyncNoop: CreateApp = async () => {
  const app = new Hono();
  app.use(async (_c, next) => {
    await Promise.resolve();
    await next();
  });
  app.post("/login", (c) => c.json({ ok: true }));
  app.get("/me", (c) => c.json(me()));
  return { listener: getRequestListener(app.fetch), close: async () => {} };
};
