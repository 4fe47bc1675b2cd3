// Approving or refusing a pending sign-in from a signed-in device, in all three adapters, over real
// HTTP on a real SQLite file with a clock the test moves. Express and Hono through the mounted
// account API (`guard` option); Fastify through the guard's methods behind its requireRecentAuth.
// Proves: the pending sign-in is listed (status "pending"); 404 for another user's, an unknown or
// an active id; outside the window 401 reauthentication_required with the challenge and nothing
// changed; approve → 204, the waiting client's next request activates it with a new token;
// deny → 204, the session ends locked_out/not_me; both recorded with the approving session as the
// actor and its device in the history; a second answer is 404.
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type HttpBindings, serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import type { SessionEvent } from "../../src/events.js";
import * as ex from "../../src/http/express.js";
import * as fa from "../../src/http/fastify.js";
import * as web from "../../src/http/web.js";
import type { SignInApprovals } from "../../src/index.js";
import { LiveChannel } from "../../src/live/live-channel.js";
import { devMailbox } from "../../src/mail/index.js";
import { createGuard, type Guard } from "../../src/protection/guard.js";
import type { SignInResult, Verdict } from "../../src/protection/results.js";
import type { RequestSession } from "../../src/request-session.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { sessionToJSON } from "../../src/session-view.js";
import { protectionStore } from "../../src/storage/kysely-protection.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

const HOUR = 3_600_000;
const T0 = 1_767_225_600_000;
const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

interface Running {
  baseUrl: string;
  close(): Promise<void>;
}

type Start = (keeper: SessionKeeper, guard: Guard, live: LiveChannel) => Promise<Running>;

/** The app's own sign-up, sign-in, re-authentication and "continue" steps, shared by the adapters. */
const steps = (guard: Guard) => ({
  signUp: (rs: RequestSession<object>, userId: string) => guard.completeSignUp(rs, userId),
  signIn: (rs: RequestSession<object>, userId: string) =>
    guard.completeSignIn(rs, userId, { email: `${userId}@example.test` }),
  reauth: async (rs: RequestSession<object>) =>
    (await rs.reauthenticate({ factor: "password" })) !== null,
  finish: (rs: RequestSession<object>) => guard.finishApprovedSignIn(rs),
});

function statusOf(result: SignInResult): { status: number; body: unknown } {
  if (!result.ok) return { status: result.httpStatus, body: { error: result.error } };
  return { status: result.status === "active" ? 200 : 202, body: { status: result.status } };
}

function answerOf(verdict: Verdict): { status: number; body: unknown } {
  return verdict.ok
    ? { status: 204, body: null }
    : { status: verdict.httpStatus, body: { error: verdict.error } };
}

const adapters: Array<[string, Start]> = [
  [
    "Express",
    async (keeper, guard, live) => {
      const s = steps(guard);
      const app = express();
      app.use(ex.sessionMiddleware(keeper));
      app.get("/events", ex.liveEvents(live));
      app.use("/api", ex.accountApi(keeper, { guard }));
      app.use(express.json());
      app.post("/signup", async (req, res) => {
        await s.signUp(ex.sessionContext(req), (req.body as { userId: string }).userId);
        res.status(204).end();
      });
      app.post("/signin", async (req, res) => {
        const r = statusOf(await s.signIn(ex.sessionContext(req), req.body.userId));
        res.status(r.status).json(r.body);
      });
      app.post("/reauth", async (req, res) => {
        res.status((await s.reauth(ex.sessionContext(req))) ? 204 : 401).end();
      });
      app.post("/continue", async (req, res) => {
        const r = statusOf(await s.finish(ex.sessionContext(req)));
        res.status(r.status).json(r.body);
      });
      return listenNode(app.listen(0, "127.0.0.1"));
    },
  ],
  [
    "Fastify",
    async (keeper, guard, live) => {
      const s = steps(guard);
      const app = Fastify({ forceCloseConnections: true });
      await app.register(fa.fastifySessions(keeper));
      app.get("/events", fa.liveEvents(live));
      const body = (request: { body: unknown }) => request.body as { userId: string };
      app.post("/signup", async (request, reply) => {
        await s.signUp(fa.sessionContext(request), body(request).userId);
        return reply.code(204).send();
      });
      app.post("/signin", async (request, reply) => {
        const r = statusOf(await s.signIn(fa.sessionContext(request), body(request).userId));
        return reply.code(r.status).send(r.body);
      });
      app.post("/reauth", async (request, reply) =>
        reply.code((await s.reauth(fa.sessionContext(request))) ? 204 : 401).send(),
      );
      app.post("/continue", async (request, reply) => {
        const r = statusOf(await s.finish(fa.sessionContext(request)));
        return reply.code(r.status).send(r.body);
      });
      // Fastify has no mounted account API: the app routes to the guard behind the same gate.
      app.get("/api/sessions", { preHandler: fa.requireSession() }, async (request) => {
        const rs = fa.sessionContext(request);
        const userId = rs.userId as string;
        const active = await keeper.listSessions(userId, {
          currentId: rs.session?.id ?? null,
          status: "active",
        });
        const pending = await guard.pendingSignIns(userId);
        return { sessions: [...active, ...pending].map(sessionToJSON) };
      });
      for (const action of ["approve", "deny"] as const) {
        app.post(
          `/api/sessions/:id/${action}`,
          { preHandler: fa.requireRecentAuth() },
          async (request, reply) => {
            const rs = fa.sessionContext(request);
            const id = (request.params as { id: string }).id;
            const approvals: SignInApprovals = guard;
            const verdict =
              action === "approve"
                ? await approvals.approveSignIn(rs, id)
                : await approvals.denySignIn(rs, id);
            const r = answerOf(verdict);
            return r.body === null ? reply.code(204).send() : reply.code(r.status).send(r.body);
          },
        );
      }
      await app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = app.server.address() as AddressInfo;
      return { baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    "Hono",
    async (keeper, guard, live) => {
      const s = steps(guard);
      const api = web.accountApiFetch(keeper, { basePath: "/api", guard });
      const app = new Hono<{
        Bindings: HttpBindings;
        Variables: { sessionkeeper: RequestSession };
      }>();
      app.use(web.honoSessions(keeper));
      app.get("/events", (c) =>
        web.liveEventsResponse(live, c.get("sessionkeeper"), c.req.raw.signal),
      );
      app.all(
        "/api/*",
        async (c) => (await api(c.req.raw, c.get("sessionkeeper"))) ?? c.notFound(),
      );
      app.post("/signup", async (c) => {
        await s.signUp(c.get("sessionkeeper"), (await c.req.json<{ userId: string }>()).userId);
        return c.body(null, 204);
      });
      app.post("/signin", async (c) => {
        const { userId } = await c.req.json<{ userId: string }>();
        const r = statusOf(await s.signIn(c.get("sessionkeeper"), userId));
        return c.json(r.body, r.status as 200);
      });
      app.post("/reauth", async (c) =>
        c.body(null, (await s.reauth(c.get("sessionkeeper"))) ? 204 : 401),
      );
      app.post("/continue", async (c) => {
        const r = statusOf(await s.finish(c.get("sessionkeeper")));
        return c.json(r.body, r.status as 200);
      });
      const server = await new Promise<Server>((resolve) => {
        const s2 = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
          resolve(s2 as Server),
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

/** One browser: a cookie jar (session and device cookies) and a User-Agent. */
class Device {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly baseUrl: string,
    readonly userAgent: string,
  ) {}

  get session(): string | undefined {
    return this.cookies.get("sk_session");
  }

  async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { "user-agent": this.userAgent };
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const value = pair.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    return res;
  }
}

/** Opens the device's live stream; `done` is all its text once the server closes it. */
async function openStream(device: Device) {
  const controller = new AbortController();
  const res = await fetch(`${device.baseUrl}/events`, {
    headers: {
      "user-agent": device.userAgent,
      cookie: [...device.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
    },
    signal: controller.signal,
  });
  let text = "";
  const done = (async () => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return text;
      text += decoder.decode(value, { stream: true });
    }
  })();
  done.catch(() => {});
  return { status: res.status, done, text: () => text, abort: () => controller.abort() };
}

for (const [name, start] of adapters) {
  describe(`approving a sign-in from a signed-in device (${name})`, () => {
    let sqlite: TempSqlite;
    let keeper: SessionKeeper;
    let guard: Guard;
    let app: Running;
    let live: LiveChannel;
    const events: SessionEvent[] = [];
    const clock = { now: T0 };

    before(async () => {
      sqlite = await tempSqlite("sk-approve-");
      keeper = createSessionKeeper({
        storage: sqlite.store,
        now: () => clock.now,
        idleTimeout: "7d",
        absoluteTimeout: "30d",
      });
      await keeper.migrate();
      guard = createGuard({
        keeper,
        store: protectionStore(sqlite.store.db),
        mailer: devMailbox(),
        verification: "new-device",
        appName: "Test",
        baseUrl: "http://127.0.0.1",
      });
      keeper.subscribe((e) => {
        events.push(e);
      });
      // No broadcast and a long re-read: an approval reaches the stream by this instance's event,
      // or (given before the stream opened) by asking the guard when it opens.
      live = new LiveChannel(keeper, { approvals: guard, checkInterval: "1h" });
      app = await start(keeper, guard, live);
    });
    after(async () => {
      live.close();
      await app.close();
      await sqlite.cleanup();
    });

    const sessionRow = (id: string) =>
      sqlite.db.prepare("SELECT status, end_reason FROM sk_sessions WHERE id = ?").get(id) as {
        status: string;
        end_reason: string | null;
      };
    const idOf = (device: Device) => (device.session as string).split(".")[0] as string;

    async function pendingSignIn(userId: string, ua: string): Promise<Device> {
      const device = new Device(app.baseUrl, ua);
      const res = await device.send("POST", "/signin", { userId });
      assert.equal(res.status, 202, "a new device is held for verification");
      return device;
    }

    async function signedUp(userId: string): Promise<Device> {
      const device = new Device(app.baseUrl, FIREFOX);
      assert.equal((await device.send("POST", "/signup", { userId })).status, 204);
      return device;
    }

    it("lists, refuses outside the window, approves once, and the waiting device goes on", async () => {
      clock.now = T0;
      const owner = await signedUp("ann");
      const stranger = await signedUp("bob");
      // Three hours on: the owner's proof is older than the default two-hour window.
      clock.now = T0 + 3 * HOUR;
      const waiting = await pendingSignIn("ann", SAFARI);
      const pendingId = idOf(waiting);

      const list = await owner.send("GET", "/api/sessions");
      assert.equal(list.status, 200);
      const { sessions } = (await list.json()) as {
        sessions: Array<{ id: string; status: string; ip: string; browser: { name: string } }>;
      };
      const listed = sessions.find((s) => s.id === pendingId);
      assert.ok(listed, "the pending sign-in is listed");
      assert.equal(listed.status, "pending");
      assert.equal(listed.browser.name, "Safari");
      assert.equal(sessions.filter((s) => s.status === "active").length, 1);
      // Another user's list does not show it.
      const theirs = (await (await stranger.send("GET", "/api/sessions")).json()) as {
        sessions: Array<{ id: string }>;
      };
      assert.ok(!theirs.sessions.some((s) => s.id === pendingId));

      // Outside the window: 401 with the challenge, nothing changed.
      const late = await owner.send("POST", `/api/sessions/${pendingId}/approve`);
      assert.equal(late.status, 401);
      assert.equal(((await late.json()) as { error: string }).error, "reauthentication_required");
      assert.match(
        late.headers.get("www-authenticate") ?? "",
        /insufficient_user_authentication.*max_age=7200/,
      );
      const lateDeny = await owner.send("POST", `/api/sessions/${pendingId}/deny`);
      assert.equal(lateDeny.status, 401);
      assert.equal(sessionRow(pendingId).status, "pending");
      assert.equal(await guard.isSignInApproved(pendingId), false);

      // Fresh proofs from here on.
      assert.equal((await owner.send("POST", "/reauth")).status, 204);
      assert.equal((await stranger.send("POST", "/reauth")).status, 204);
      // Another user's pending sign-in, an unknown id, an active session: 404, nothing changed.
      assert.equal((await stranger.send("POST", `/api/sessions/${pendingId}/approve`)).status, 404);
      assert.equal((await stranger.send("POST", `/api/sessions/${pendingId}/deny`)).status, 404);
      assert.equal((await owner.send("POST", "/api/sessions/nosuchsession/approve")).status, 404);
      assert.equal((await owner.send("POST", `/api/sessions/${"x".repeat(80)}/deny`)).status, 404);
      assert.equal((await owner.send("POST", `/api/sessions/${idOf(owner)}/approve`)).status, 404);
      assert.equal(sessionRow(pendingId).status, "pending");

      // Before the approval the waiting device is still waiting.
      assert.equal((await waiting.send("POST", "/continue")).status, 202);
      const before = events.length;
      const approved = await owner.send("POST", `/api/sessions/${pendingId}/approve`);
      assert.equal(approved.status, 204);
      assert.equal(sessionRow(pendingId).status, "pending", "the waiting device activates it");
      // Answered once: a second approval or a refusal after it is 404.
      assert.equal((await owner.send("POST", `/api/sessions/${pendingId}/approve`)).status, 404);
      const record = events
        .slice(before)
        .find((e) => e.type === "verification_approved" && e.sessionId === pendingId);
      assert.ok(record, "the approval is an event");
      assert.deepEqual(record.actor, { kind: "session", sessionId: idOf(owner) });
      assert.equal(record.reason, "device");
      assert.equal(record.request?.browserName, "Firefox", "the approving device");
      const stored = sqlite.db
        .prepare(
          "SELECT reason, browser_name FROM sk_login_events WHERE type = 'verification_approved' AND session_id = ?",
        )
        .get(pendingId) as { reason: string; browser_name: string };
      assert.deepEqual({ ...stored }, { reason: "device", browser_name: "Firefox" });
      // No longer listed as waiting.
      const after = (await (await owner.send("GET", "/api/sessions")).json()) as {
        sessions: Array<{ id: string }>;
      };
      assert.ok(!after.sessions.some((s) => s.id === pendingId));

      // The waiting device goes on: active, with a new token; the pending one is dead.
      const oldCookie = waiting.session as string;
      const went = await waiting.send("POST", "/continue");
      assert.equal(went.status, 200);
      assert.notEqual(waiting.session, oldCookie, "the token was rotated");
      assert.equal(sessionRow(pendingId).status, "active");
      const replay = new Device(app.baseUrl, SAFARI);
      replay.cookies.set("sk_session", oldCookie);
      assert.equal((await replay.send("GET", "/api/sessions")).status, 401);
      assert.equal((await waiting.send("GET", "/api/sessions")).status, 200);
    });

    it("'this wasn't me' ends the pending sign-in as locked_out / not_me, by the approving device", async () => {
      const owner = new Device(app.baseUrl, FIREFOX);
      assert.equal((await owner.send("POST", "/signup", { userId: "cat" })).status, 204);
      const waiting = await pendingSignIn("cat", SAFARI);
      const pendingId = idOf(waiting);
      const before = events.length;
      const denied = await owner.send("POST", `/api/sessions/${pendingId}/deny`);
      assert.equal(denied.status, 204);
      assert.deepEqual(
        { ...sessionRow(pendingId) },
        { status: "locked_out", end_reason: "not_me" },
      );
      const ended = events.slice(before).find((e) => e.type === "session_locked");
      assert.ok(ended);
      assert.equal(ended.reason, "not_me");
      assert.deepEqual(ended.actor, { kind: "session", sessionId: idOf(owner) });
      assert.equal(ended.request?.browserName, "Firefox", "the refusing device");
      // Answered: a second refusal or an approval is 404, and the waiting device is out.
      assert.equal((await owner.send("POST", `/api/sessions/${pendingId}/deny`)).status, 404);
      assert.equal((await owner.send("POST", `/api/sessions/${pendingId}/approve`)).status, 404);
      assert.equal((await waiting.send("POST", "/continue")).status, 401);
    });

    it("the waiting device's stream: approved (even if given before it opened), or ended not_me", async () => {
      const owner = await signedUp("dan");
      const first = await pendingSignIn("dan", SAFARI);
      const stream = await openStream(first);
      assert.equal(stream.status, 200, "a pending cookie may stream");
      assert.equal((await owner.send("POST", `/api/sessions/${idOf(first)}/approve`)).status, 204);
      assert.match(await stream.done, /event: approved\ndata: \{\}\n\n$/);

      const second = await pendingSignIn("dan", SAFARI);
      assert.equal((await owner.send("POST", `/api/sessions/${idOf(second)}/approve`)).status, 204);
      const late = await openStream(second);
      assert.match(await late.done, /event: approved/, "told at once when it opens");

      const third = await pendingSignIn("dan", SAFARI);
      const refused = await openStream(third);
      assert.equal((await owner.send("POST", `/api/sessions/${idOf(third)}/deny`)).status, 204);
      const text = await refused.done;
      assert.match(text, /event: ended\ndata: \{"reason":"not_me"/);
      assert.doesNotMatch(text, /event: approved/);
    });

    it("without a session: 401 unauthenticated", async () => {
      const nobody = new Device(app.baseUrl, FIREFOX);
      const res = await nobody.send("POST", "/api/sessions/abc/approve");
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, "unauthenticated");
    });
  });
}
