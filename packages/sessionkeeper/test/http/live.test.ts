// The live stream in all three adapters, over real HTTP on a real SQLite file: a page's stream says
// `ended` (with the reason and the device that did it) when its session ends, and closes; a second
// keeper on the same file (as the CLI is) ending the session is noticed by the channel's re-read.
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type HttpBindings, serve } from "@hono/node-server";
import Database from "better-sqlite3";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import Koa from "koa";
import * as ex from "../../src/http/express.js";
import * as fa from "../../src/http/fastify.js";
import * as ko from "../../src/http/koa.js";
import * as web from "../../src/http/web.js";
import type { LiveBroadcast, LiveChannelOptions } from "../../src/index.js";
import { LiveChannel } from "../../src/live/live-channel.js";
import type { RequestSession } from "../../src/request-session.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { sqliteStorage } from "../../src/storage/sqlite.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

const CHROME_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

interface Running {
  baseUrl: string;
  close(): Promise<void>;
}

type Start = (keeper: SessionKeeper, live: LiveChannel) => Promise<Running>;

/** Each app: POST /signin {userId} and GET /events; nothing else is needed here. */
const adapters: Array<[string, Start]> = [
  [
    "Express",
    async (keeper, live) => {
      const app = express();
      app.use(express.json());
      app.use(ex.sessionMiddleware(keeper));
      app.post("/signin", async (req, res) => {
        await ex.sessionContext(req).signIn((req.body as { userId: string }).userId);
        res.status(204).end();
      });
      app.get("/events", ex.liveEvents(live));
      return listenNode(app.listen(0, "127.0.0.1"));
    },
  ],
  [
    "Fastify",
    async (keeper, live) => {
      const app = Fastify({ forceCloseConnections: true });
      await app.register(fa.fastifySessions(keeper));
      app.post("/signin", async (request, reply) => {
        await fa.sessionContext(request).signIn((request.body as { userId: string }).userId);
        return reply.code(204).send();
      });
      app.get("/events", fa.liveEvents(live));
      await app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = app.server.address() as AddressInfo;
      return { baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    "Koa",
    async (keeper, live) => {
      const app = new Koa();
      app.use(ko.koaSessions(keeper));
      const events = ko.koaLiveEvents(live);
      app.use(async (ctx, next) => {
        if (ctx.method === "GET" && ctx.path === "/events") return events(ctx);
        if (ctx.method !== "POST" || ctx.path !== "/signin") return next();
        let text = "";
        for await (const chunk of ctx.req) text += String(chunk);
        await ko.koaSessionContext(ctx).signIn((JSON.parse(text) as { userId: string }).userId);
        ctx.status = 204;
      });
      return listenNode(app.listen(0, "127.0.0.1"));
    },
  ],
  [
    "Hono",
    async (keeper, live) => {
      const app = new Hono<{
        Bindings: HttpBindings;
        Variables: { sessionkeeper: RequestSession };
      }>();
      app.use(web.honoSessions(keeper));
      app.post("/signin", async (c) => {
        const { userId } = await c.req.json<{ userId: string }>();
        await c.get("sessionkeeper").signIn(userId);
        return c.body(null, 204);
      });
      app.get("/events", (c) =>
        web.liveEventsResponse(live, c.get("sessionkeeper"), c.req.raw.signal),
      );
      const server = await new Promise<Server>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
          resolve(s as Server),
        );
      });
      return listenNode(server);
    },
  ],
];

async function listenNode(server: Server): Promise<Running> {
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function signIn(baseUrl: string, userId: string, ua = "test-client"): Promise<string> {
  const res = await fetch(`${baseUrl}/signin`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": ua },
    body: JSON.stringify({ userId }),
  });
  assert.equal(res.status, 204);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("sk_session="));
  assert.ok(cookie);
  return cookie.split(";")[0] as string;
}

/** Opens a stream and collects its text until it closes. */
function openStream(baseUrl: string, cookie: string) {
  const controller = new AbortController();
  let text = "";
  const ready = fetch(`${baseUrl}/events`, { headers: { cookie }, signal: controller.signal });
  const done = ready.then(async (res) => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return text;
      text += decoder.decode(value, { stream: true });
    }
  });
  done.catch(() => {});
  return { ready, done, text: () => text, abort: () => controller.abort() };
}

function endedData(text: string): { reason: string; message: string } {
  const match = /event: ended\ndata: (.*)\n\n/.exec(text);
  assert.ok(match, `an ended event in ${JSON.stringify(text)}`);
  return JSON.parse(match[1] as string);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}

describe("live channel options", () => {
  it("refuses a bad option or broadcast at start-up, naming it", async () => {
    const sqlite = await tempSqlite("sk-live-opt-");
    try {
      const keeper = createSessionKeeper({ storage: sqlite.store });
      assert.throws(() => new LiveChannel(keeper, { checkInterval: "soon" }), /checkInterval/);
      assert.throws(
        () => new LiveChannel(keeper, { maxStreamsPerSession: 0 }),
        /maxStreamsPerSession/,
      );
      const broken = { publish: "no" } as unknown as LiveBroadcast;
      assert.throws(() => new LiveChannel(keeper, { broadcast: broken }), /broadcast/);
    } finally {
      await sqlite.cleanup();
    }
  });
});

for (const [name, start] of adapters) {
  describe(`live stream (${name})`, () => {
    let sqlite: TempSqlite;
    let keeper: SessionKeeper;
    let live: LiveChannel;
    let app: Running;
    before(async () => {
      sqlite = await tempSqlite("sk-live-");
      keeper = createSessionKeeper({ storage: sqlite.store });
      await keeper.migrate();
      const options: LiveChannelOptions = { checkInterval: "100ms", maxStreamsPerSession: 2 };
      live = new LiveChannel(keeper, options);
      app = await start(keeper, live);
    });
    after(async () => {
      live.close();
      await app.close();
      await sqlite.cleanup();
    });

    it("answers 401 without a session, and streams text/event-stream with no-store otherwise", async () => {
      const anonymous = await fetch(`${app.baseUrl}/events`);
      assert.equal(anonymous.status, 401);
      assert.deepEqual(await anonymous.json(), { error: "unauthenticated" });
      const stream = openStream(app.baseUrl, await signIn(app.baseUrl, "u-headers"));
      const res = await stream.ready;
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("access-control-allow-origin"), null);
      stream.abort();
      await until(() => live.size === 0);
    });

    it("says ended with the device that signed it out, then closes", async () => {
      const cookie = await signIn(app.baseUrl, "u-revoke");
      const stream = openStream(app.baseUrl, cookie);
      await stream.ready;
      await until(() => live.size === 1);
      const [victim, other] = await keeper.listSessions("u-revoke");
      assert.ok(victim && !other);
      // Another device of the user ends it, as the devices page does.
      const phone = await keeper.signIn("u-revoke", {
        cookieHeader: null,
        ip: "127.0.0.1",
        userAgent: CHROME_WINDOWS,
        secure: false,
      });
      await keeper.revokeSession(victim.id, {
        userId: "u-revoke",
        info: { cookieHeader: null, ip: "127.0.0.1", userAgent: CHROME_WINDOWS, secure: false },
        by: { kind: "session", sessionId: phone.session.id },
      });
      const text = await stream.done;
      assert.deepEqual(endedData(text), {
        reason: "revoked_by_user",
        message: "You were signed out from Chrome on Windows.",
      });
      assert.equal(live.size, 0);
    });

    it("notices an ending written by another process (a second keeper on the file) by its re-read", async () => {
      const cookie = await signIn(app.baseUrl, "u-cli");
      const stream = openStream(app.baseUrl, cookie);
      await stream.ready;
      const cli = createSessionKeeper({ storage: sqliteStorage(new Database(sqlite.file)) });
      try {
        const [session] = await cli.listSessions("u-cli");
        assert.ok(session);
        const t0 = Date.now();
        assert.equal(
          await cli.revokeSession(session.id, {
            userId: "u-cli",
            reason: "revoked_by_admin",
            by: { kind: "admin", name: null },
          }),
          true,
        );
        const text = await stream.done;
        assert.equal(endedData(text).reason, "revoked_by_admin");
        assert.ok(Date.now() - t0 < 2000, "within a few re-reads");
      } finally {
        await cli.close();
      }
    });

    it("keeps at most maxStreamsPerSession streams: a newer tab closes the oldest", async () => {
      const cookie = await signIn(app.baseUrl, "u-tabs");
      const first = openStream(app.baseUrl, cookie);
      await first.ready;
      const second = openStream(app.baseUrl, cookie);
      await second.ready;
      const third = openStream(app.baseUrl, cookie);
      await third.ready;
      await first.done; // closed by the server, without an ended event
      assert.doesNotMatch(first.text(), /event: ended/);
      await until(() => live.size === 2);
      second.abort();
      third.abort();
      await until(() => live.size === 0);
    });

    it("keeps at most maxStreamsPerUser streams over a user's sessions, so one account cannot fill the instance", async () => {
      const bounded = new LiveChannel(keeper, { maxStreamsPerUser: 3, maxStreams: 4 });
      const server = await start(keeper, bounded);
      try {
        const hog: ReturnType<typeof openStream>[] = [];
        for (let i = 0; i < 6; i++) {
          const stream = openStream(server.baseUrl, await signIn(server.baseUrl, "u-hog"));
          assert.equal((await stream.ready).status, 200, "the hog's newest stream is taken");
          hog.push(stream);
        }
        await until(() => bounded.size === 3);
        for (const stream of hog.slice(0, 3)) await stream.done; // the oldest three, closed
        const victim = openStream(server.baseUrl, await signIn(server.baseUrl, "u-victim"));
        assert.equal((await victim.ready).status, 200, "another user still gets a stream");
        const more = openStream(server.baseUrl, await signIn(server.baseUrl, "u-hog"));
        assert.equal((await more.ready).status, 200);
        await until(() => bounded.size === 4);
        assert.equal(
          await Promise.race([victim.done.then(() => "closed"), sleep(200).then(() => "open")]),
          "open",
          "the hog's new stream closed one of its own, not the victim's",
        );
        for (const stream of [...hog, victim, more]) stream.abort();
      } finally {
        bounded.close();
        await server.close();
      }
    });
  });
}
