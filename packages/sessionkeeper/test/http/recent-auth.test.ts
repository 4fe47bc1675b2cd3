// requireRecentAuth in all three adapters, over real HTTP on a real SQLite file with a clock the
// test moves: inside the window the action runs; outside it the answer is 401
// reauthentication_required with an RFC 9470 style challenge and the action does not run; a
// re-authentication records the proof (row, history), rotates the cookie and opens the window.
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
import type { RequestSession } from "../../src/request-session.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import type { AuthFactor } from "../../src/types.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = 1_767_225_600_000;

interface Running {
  baseUrl: string;
  close(): Promise<void>;
}

/** What each app counts: how many times each guarded action really ran. */
interface Ran {
  danger: number;
  strict: number;
  /** The `value` field of each form post /form really ran with. */
  form: string[];
}

type Start = (keeper: SessionKeeper, ran: Ran) => Promise<Running>;

// /danger: the keeper's window (sliding); /strict: 10 minutes, passkey only, no sliding;
// /form: an HTML form's action, kept outside the window and completed after the proof.
const STRICT = { maxAge: "10m", factors: ["passkey"], sliding: false } as const;
const KEEP: ex.RecentAuthGuardOptions = { reauthPage: "/confirm" };

function formValue(body: unknown): string {
  const value = (body as Record<string, unknown> | null)?.value;
  return typeof value === "string" ? value : "(none)";
}

const adapters: Array<[string, Start]> = [
  [
    "Express",
    async (keeper, ran) => {
      const app = express();
      app.use(express.json());
      app.use(ex.sessionMiddleware(keeper));
      app.post("/signin", async (req, res) => {
        await ex.sessionContext(req).signIn((req.body as { userId: string }).userId);
        res.status(204).end();
      });
      app.post("/reauth", async (req, res) => {
        const factor = (req.body as { factor: AuthFactor }).factor;
        const session = await ex.sessionContext(req).reauthenticate({ factor });
        res.status(session ? 204 : 401).end();
      });
      app.post("/danger", ex.requireRecentAuth(), (_req, res) => {
        ran.danger++;
        res.status(204).end();
      });
      app.post("/strict", ex.requireRecentAuth(STRICT), (_req, res) => {
        ran.strict++;
        res.status(204).end();
      });
      app.post(
        "/form",
        express.urlencoded({ extended: false }),
        ex.requireRecentAuth(KEEP),
        (req, res) => {
          ran.form.push(formValue(req.body));
          res.redirect(303, "/done");
        },
      );
      app.use(ex.storageErrorHandler());
      return listenNode(app.listen(0, "127.0.0.1"));
    },
  ],
  [
    "Fastify",
    async (keeper, ran) => {
      const app = Fastify({ forceCloseConnections: true });
      await app.register(fa.fastifySessions(keeper));
      app.post("/signin", async (request, reply) => {
        await fa.sessionContext(request).signIn((request.body as { userId: string }).userId);
        return reply.code(204).send();
      });
      app.post("/reauth", async (request, reply) => {
        const factor = (request.body as { factor: AuthFactor }).factor;
        const session = await fa.sessionContext(request).reauthenticate({ factor });
        return reply.code(session ? 204 : 401).send();
      });
      app.post("/danger", { preHandler: fa.requireRecentAuth() }, async (_request, reply) => {
        ran.danger++;
        return reply.code(204).send();
      });
      app.post("/strict", { preHandler: fa.requireRecentAuth(STRICT) }, async (_r, reply) => {
        ran.strict++;
        return reply.code(204).send();
      });
      app.addContentTypeParser(
        "application/x-www-form-urlencoded",
        { parseAs: "string" },
        (_request, body, done) =>
          done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      app.post("/form", { preHandler: fa.requireRecentAuth(KEEP) }, async (request, reply) => {
        ran.form.push(formValue(request.body));
        return reply.redirect("/done", 303);
      });
      await app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = app.server.address() as AddressInfo;
      return { baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    "Hono",
    async (keeper, ran) => {
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
      app.post("/reauth", async (c) => {
        const { factor } = await c.req.json<{ factor: AuthFactor }>();
        const session = await c.get("sessionkeeper").reauthenticate({ factor });
        return c.body(null, session ? 204 : 401);
      });
      app.post("/danger", web.honoRequireRecentAuth(), (c) => {
        ran.danger++;
        return c.body(null, 204);
      });
      app.post("/form", web.honoRequireRecentAuth(KEEP), async (c) => {
        ran.form.push(formValue(await c.req.parseBody()));
        return c.redirect("/done", 303);
      });
      // The plain Web form, as a withSessions handler would use it.
      const strict = web.recentAuthGate(STRICT);
      app.post("/strict", async (c) => {
        const refused = await strict(c.get("sessionkeeper"));
        if (refused) return refused;
        ran.strict++;
        return c.body(null, 204);
      });
      const server = await new Promise<Server>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
          resolve(s as Server),
        );
      });
      return listenNode(server);
    },
  ],
];

/** Koa 3, no body parser: JSON read by hand; the guard keeps and hands back the raw form. */
adapters.push([
  "Koa",
  async (keeper, ran) => {
    const app = new Koa();
    app.use(ko.koaSessions(keeper));
    const json = async (ctx: Koa.Context) => {
      let text = "";
      for await (const chunk of ctx.req) text += String(chunk);
      return JSON.parse(text || "{}") as Record<string, unknown>;
    };
    const guarded = {
      "/danger": ko.koaRequireRecentAuth(),
      "/strict": ko.koaRequireRecentAuth(STRICT),
      "/form": ko.koaRequireRecentAuth(KEEP),
    } as const;
    app.use(async (ctx) => {
      if (ctx.method !== "POST") return;
      if (ctx.path === "/signin") {
        await ko.koaSessionContext(ctx).signIn((await json(ctx)).userId as string);
        ctx.status = 204;
      } else if (ctx.path === "/reauth") {
        const factor = (await json(ctx)).factor as AuthFactor;
        const session = await ko.koaSessionContext(ctx).reauthenticate({ factor });
        ctx.status = session ? 204 : 401;
      } else if (ctx.path in guarded) {
        const path = ctx.path as keyof typeof guarded;
        await guarded[path](ctx, async () => {
          if (path === "/form") {
            // The kept form on a resume; else the posted one, read here (no body parser).
            let body = (ctx.request as { body?: unknown }).body;
            if (body === undefined) {
              let text = "";
              for await (const chunk of ctx.req) text += String(chunk);
              body = Object.fromEntries(new URLSearchParams(text));
            }
            ran.form.push(formValue(body));
            ctx.status = 303;
            ctx.set("Location", "/done");
            return;
          }
          ran[path === "/danger" ? "danger" : "strict"]++;
          ctx.status = 204;
        });
      }
    });
    return listenNode(app.listen(0, "127.0.0.1"));
  },
]);

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

function sessionCookie(res: Response): string | null {
  const line = res.headers.getSetCookie().find((c) => c.startsWith("sk_session="));
  return line ? (line.split(";")[0] as string) : null;
}

async function post(baseUrl: string, path: string, cookie: string | null, body?: unknown) {
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "test-client",
      ...(cookie ? { cookie } : {}),
    },
    body: JSON.stringify(body ?? {}),
  });
}

for (const [name, start] of adapters) {
  describe(`requireRecentAuth (${name})`, () => {
    let sqlite: TempSqlite;
    let keeper: SessionKeeper;
    let app: Running;
    let reader: Database.Database;
    const clock = { now: T0 };
    const ran: Ran = { danger: 0, strict: 0, form: [] };

    before(async () => {
      sqlite = await tempSqlite("sk-recent-auth-");
      keeper = createSessionKeeper({
        storage: sqlite.store,
        now: () => clock.now,
        idleTimeout: "7d",
        absoluteTimeout: "30d",
      });
      await keeper.migrate();
      reader = new Database(sqlite.file, { readonly: true });
      app = await start(keeper, ran);
    });
    after(async () => {
      await app.close();
      reader.close();
      await sqlite.cleanup();
    });

    async function signIn(userId: string): Promise<string> {
      const res = await post(app.baseUrl, "/signin", null, { userId });
      assert.equal(res.status, 204);
      const cookie = sessionCookie(res);
      assert.ok(cookie);
      return cookie;
    }

    it("answers 401 unauthenticated without a session, and runs nothing", async () => {
      const before = ran.danger;
      const res = await post(app.baseUrl, "/danger", null);
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: "unauthenticated" });
      assert.equal(ran.danger, before);
    });

    it("lets a fresh sign-in through, and refuses with the challenge once the window has passed", async () => {
      clock.now = T0;
      const cookie = await signIn("ada");
      const before = ran.danger;
      assert.equal((await post(app.baseUrl, "/danger", cookie)).status, 204);
      assert.equal(ran.danger, before + 1);

      // Two hours and a second after that action (the window slides from it): refused.
      clock.now = T0 + 2 * HOUR + 1000;
      const res = await post(app.baseUrl, "/danger", cookie);
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), {
        error: "reauthentication_required",
        maxAge: 7200,
        // No passkey registered: not offered.
        factors: ["password", "email_code"],
      });
      const challenge = res.headers.get("www-authenticate") ?? "";
      assert.match(challenge, /^Bearer error="insufficient_user_authentication"/);
      assert.match(challenge, /max_age=7200(,|$)/);
      assert.equal(ran.danger, before + 1, "the refused action did not run");
    });

    it("slides the window on each sensitive action", async () => {
      clock.now = T0;
      const cookie = await signIn("grace");
      clock.now = T0 + 110 * MINUTE;
      assert.equal((await post(app.baseUrl, "/danger", cookie)).status, 204);
      // 3 h after the sign-in, 70 min after the last action: still inside.
      clock.now = T0 + 3 * HOUR;
      assert.equal((await post(app.baseUrl, "/danger", cookie)).status, 204);
      clock.now = T0 + 5 * HOUR + 1000;
      assert.equal((await post(app.baseUrl, "/danger", cookie)).status, 401);
    });

    it("re-authentication records the proof, rotates the cookie and opens the window again", async () => {
      clock.now = T0;
      const old = await signIn("linus");
      clock.now = T0 + 3 * HOUR;
      assert.equal((await post(app.baseUrl, "/danger", old)).status, 401);

      const res = await post(app.baseUrl, "/reauth", old, { factor: "email_code" });
      assert.equal(res.status, 204);
      const fresh = sessionCookie(res);
      assert.ok(fresh);
      assert.notEqual(fresh, old);
      // The old cookie stopped working at once (a privilege change).
      assert.deepEqual(await (await post(app.baseUrl, "/danger", old)).json(), {
        error: "unauthenticated",
      });
      assert.equal((await post(app.baseUrl, "/danger", fresh)).status, 204);

      const row = reader
        .prepare(
          "select id, authenticated_at, auth_factor from sk_sessions where user_id = 'linus'",
        )
        .get() as { id: string; authenticated_at: number; auth_factor: string };
      assert.equal(row.authenticated_at, T0 + 3 * HOUR);
      assert.equal(row.auth_factor, "email_code");
      const events = reader
        .prepare(
          "select type, reason from sk_login_events where session_id = ? order by created_at",
        )
        .all(row.id);
      assert.deepEqual(events, [
        { type: "sign_in", reason: null },
        { type: "reauthenticated", reason: "email_code" },
      ]);
    });

    it("keeps a form post outside the window, completes it once after the proof, and never replays it", async () => {
      clock.now = T0;
      let cookie = await signIn("hedy");
      clock.now = T0 + 3 * HOUR;
      const form = (path: string, body: string, cookies: string) =>
        fetch(`${app.baseUrl}${path}`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "user-agent": "test-client",
            cookie: cookies,
          },
          body,
          redirect: "manual",
        });
      const kept = await form("/form", "value=first+draft&other=1", cookie);
      assert.equal(kept.status, 303);
      assert.equal(kept.headers.get("location"), "/confirm?next=%2Fform");
      assert.match(kept.headers.get("www-authenticate") ?? "", /insufficient_user_authentication/);
      const resumeLine = kept.headers
        .getSetCookie()
        .find((c) => c.startsWith("sk_session_resume="));
      assert.ok(resumeLine);
      assert.match(resumeLine, /HttpOnly/);
      assert.match(resumeLine, /SameSite=Strict/);
      const resume = resumeLine.split(";")[0] as string;
      assert.deepEqual(ran.form, [], "nothing ran");
      // Stored encrypted: the typed value is nowhere in the row.
      const row = reader
        .prepare(
          "select path, data from sk_reauth_state where kind = 'kept_post' and used_at is null",
        )
        .get() as { path: string; data: string };
      assert.equal(row.path, "/form");
      assert.doesNotMatch(Buffer.from(row.data, "base64url").toString("latin1"), /first/);

      // A JSON request outside the window still gets the challenge, and keeps nothing.
      const json = await post(app.baseUrl, "/form", cookie);
      assert.equal(json.status, 401);
      assert.equal((await json.json()).error, "reauthentication_required");

      // Resuming before the proof: back to confirm, nothing runs, the kept post stays.
      const early = await form("/form?sk_resume=1", "", `${cookie}; ${resume}`);
      assert.equal(early.status, 303);
      assert.equal(early.headers.get("location"), "/confirm?next=%2Fform");
      assert.deepEqual(ran.form, []);

      cookie = sessionCookie(
        await post(app.baseUrl, "/reauth", cookie, { factor: "password" }),
      ) as string;
      const done = await form("/form?sk_resume=1", "", `${cookie}; ${resume}`);
      assert.equal(done.status, 303);
      assert.equal(done.headers.get("location"), "/done");
      assert.deepEqual(ran.form, ["first draft"], "the kept action ran once, with the kept body");
      assert.ok(done.headers.getSetCookie().some((c) => /^sk_session_resume=;.*Max-Age=0/.test(c)));

      const replay = await form("/form?sk_resume=1", "", `${cookie}; ${resume}`);
      assert.equal(replay.status, 409);
      assert.deepEqual(await replay.json(), { error: "nothing_to_resume" });
      assert.deepEqual(ran.form, ["first draft"], "a replay does nothing");

      // Inside the window a form acts at once, with its own body.
      assert.equal((await form("/form", "value=direct", cookie)).status, 303);
      assert.deepEqual(ran.form, ["first draft", "direct"]);
      ran.form.length = 0;
    });

    it("a kept post is bound to its session, its path and five minutes", async () => {
      clock.now = T0;
      let cookie = await signIn("alan");
      let other = await signIn("alan");
      clock.now = T0 + 3 * HOUR;
      const form = (path: string, body: string, cookies: string) =>
        fetch(`${app.baseUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookies },
          body,
          redirect: "manual",
        });
      const kept = await form("/form", "value=secret", cookie);
      const resume = (
        kept.headers.getSetCookie().find((c) => c.startsWith("sk_session_resume=")) as string
      ).split(";")[0];
      cookie = sessionCookie(
        await post(app.baseUrl, "/reauth", cookie, { factor: "password" }),
      ) as string;
      other = sessionCookie(
        await post(app.baseUrl, "/reauth", other, { factor: "password" }),
      ) as string;
      // Another session of the same user, with this browser's key: nothing.
      assert.equal((await form("/form?sk_resume=1", "", `${other}; ${resume}`)).status, 409);
      // Five minutes later: expired.
      clock.now += 5 * MINUTE + 1000;
      assert.equal((await form("/form?sk_resume=1", "", `${cookie}; ${resume}`)).status, 409);
      assert.deepEqual(ran.form, []);
    });

    it("a per-route rule asks for its own factors and window, without sliding", async () => {
      clock.now = T0;
      let cookie = await signIn("barbara");
      const before = ran.strict;
      // A password sign-in one second ago does not satisfy a passkey-only route.
      clock.now = T0 + 1000;
      const refused = await post(app.baseUrl, "/strict", cookie);
      assert.equal(refused.status, 401);
      assert.deepEqual(await refused.json(), {
        error: "reauthentication_required",
        maxAge: 600,
        factors: ["passkey"],
      });
      assert.match(refused.headers.get("www-authenticate") ?? "", /max_age=600(,|$)/);

      const res = await post(app.baseUrl, "/reauth", cookie, { factor: "passkey" });
      cookie = sessionCookie(res) as string;
      clock.now = T0 + 9 * MINUTE;
      assert.equal((await post(app.baseUrl, "/strict", cookie)).status, 204);
      // Not sliding: 10 minutes after the proof it is asked again, despite the action at 9.
      clock.now = T0 + 11 * MINUTE;
      assert.equal((await post(app.baseUrl, "/strict", cookie)).status, 401);
      assert.equal(ran.strict, before + 1);
    });
  });
}

describe("recentAuthRule options", () => {
  it("throws a TypeError naming the option at start-up", () => {
    assert.throws(() => ex.requireRecentAuth({ maxAge: "soon" }), /options\.maxAge/);
    assert.throws(() => fa.requireRecentAuth({ factors: [] }), /options\.factors/);
    assert.throws(() => web.recentAuthGate({ factors: ["sms" as AuthFactor] }), /options\.factors/);
    assert.throws(
      () => web.honoRequireRecentAuth({ sliding: "yes" as unknown as boolean }),
      /options\.sliding/,
    );
  });
});

describe("accountApi and accountPages: recentAuth option", () => {
  let sqlite: TempSqlite;
  let keeper: SessionKeeper;
  let app: Running;
  const clock = { now: T0 };

  before(async () => {
    sqlite = await tempSqlite("sk-recent-auth-api-");
    keeper = createSessionKeeper({
      storage: sqlite.store,
      now: () => clock.now,
      idleTimeout: "7d",
      reauthWindow: "1h",
    });
    await keeper.migrate();
    const server = express();
    server.use(express.json());
    server.use(ex.sessionMiddleware(keeper));
    server.post("/signin", async (req, res) => {
      await ex.sessionContext(req).signIn((req.body as { userId: string }).userId);
      res.status(204).end();
    });
    server.use("/strict", ex.accountApi(keeper));
    server.use("/lax", ex.accountApi(keeper, { recentAuth: false }));
    server.use("/pages", ex.accountPages(keeper, { reauthPath: "/confirm" }));
    app = await listenNode(server.listen(0, "127.0.0.1"));
  });
  after(async () => {
    await app.close();
    await sqlite.cleanup();
  });

  async function twoDevices(userId: string): Promise<[string, string]> {
    const one = sessionCookie(await post(app.baseUrl, "/signin", null, { userId })) as string;
    const two = sessionCookie(await post(app.baseUrl, "/signin", null, { userId })) as string;
    return [one, two];
  }

  it("by default asks for a recent proof before ending other sessions; false turns it off", async () => {
    clock.now = T0;
    const [one, two] = await twoDevices("api-user");
    clock.now = T0 + 2 * HOUR;
    const refused = await post(app.baseUrl, "/strict/sessions/revoke-others", one);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, "reauthentication_required");
    assert.match(refused.headers.get("www-authenticate") ?? "", /max_age=3600/);
    const me = await fetch(`${app.baseUrl}/strict/sessions`, { headers: { cookie: two } });
    assert.equal(me.status, 200, "the other session is still there");

    const page = await fetch(`${app.baseUrl}/pages/sessions/revoke-others`, {
      method: "POST",
      headers: { cookie: one, "content-type": "application/x-www-form-urlencoded" },
      body: "",
      redirect: "manual",
    });
    // The page's action is kept and the browser sent to confirm it's you; nothing changed yet.
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/confirm?next=%2Fpages%2Fsessions%2Frevoke-others");
    assert.match(page.headers.get("www-authenticate") ?? "", /insufficient_user_authentication/);
    const still = await fetch(`${app.baseUrl}/strict/sessions`, { headers: { cookie: two } });
    assert.equal(still.status, 200, "the other session is still there");

    const lax = await post(app.baseUrl, "/lax/sessions/revoke-others", one);
    assert.equal(lax.status, 200);
    assert.deepEqual(await lax.json(), { revoked: 1 });
  });

  it("a bad recentAuth option is a TypeError at start-up", () => {
    assert.throws(() => ex.accountApi(keeper, { recentAuth: { maxAge: "later" } }), /maxAge/);
    assert.throws(
      () => ex.accountPages(keeper, { reauthPath: "https://evil.example/" }),
      /reauthPath/,
    );
  });
});
