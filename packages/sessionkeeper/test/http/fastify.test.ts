import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { StorageError } from "../../src/errors.js";
import {
  fastifySessions,
  getSession,
  requireDeviceBinding,
  requireSession,
  sessionContext,
  storageErrorHandler,
} from "../../src/http/fastify.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { sessionToJSON } from "../../src/session-view.js";
import { countingStore, type StoreCalls } from "../helpers/counting-store.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";
import {
  dataRefusal,
  type RunningApp,
  runHttpBehaviour,
  suiteSignInOptions,
} from "./behaviour-suite.js";
import { runDbscBehaviour } from "./dbsc-suite.js";

/** The suite's tiny app on Fastify 5 with the fastifySessions plugin. */
function buildFastify(keeper: SessionKeeper, options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({ bodyLimit: 4096, forceCloseConnections: true, ...options });
  // Fastify answers 400 to an empty JSON body; treat it as no body, as express.json() does.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") done(null, undefined);
    else parseJson(request, body as string, done);
  });
  app.setErrorHandler(storageErrorHandler());
  // Registered on the root, so it also covers routes declared outside the plugin.
  void app.register(fastifySessions(keeper));

  app.post("/signin", async (request, reply) => {
    const userId = (request.body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId !== "string") return reply.code(400).send({ error: "invalid_user" });
    try {
      const session = await sessionContext(request).signIn(
        userId,
        suiteSignInOptions(request.body),
      );
      return { session: sessionToJSON(session) };
    } catch (error) {
      const refusal = dataRefusal(error);
      if (!refusal) throw error;
      return reply.code(400).send(refusal);
    }
  });
  app.get("/data", { preHandler: requireSession() }, async (request) => ({
    data: sessionContext(request).data,
  }));
  app.put("/data", { preHandler: requireSession() }, async (request, reply) => {
    const data =
      (request.body as { data?: Record<string, unknown> | null } | undefined)?.data ?? null;
    try {
      return { stored: await sessionContext(request).updateData(data) };
    } catch (error) {
      const refusal = dataRefusal(error);
      if (!refusal) throw error;
      return reply.code(400).send(refusal);
    }
  });
  app.post("/rotate", async (request, reply) => {
    const session = await sessionContext(request).rotate();
    if (session) return { session: sessionToJSON(session) };
    return reply.code(401).send({ error: "unauthenticated" });
  });
  app.post("/activate", async (request, reply) => {
    const session = await sessionContext(request).activate({ method: "code" });
    if (session) return { session: sessionToJSON(session) };
    return reply.code(401).send({ error: "unauthenticated" });
  });
  app.get("/bound", { preHandler: requireDeviceBinding() }, async () => ({ bound: true }));
  app.get("/me", { preHandler: requireSession() }, async (request) => ({
    session: sessionToJSON(getSession(request) as NonNullable<ReturnType<typeof getSession>>),
  }));
  app.post("/signout", async (request, reply) => {
    await sessionContext(request).signOut();
    return reply.code(204).send();
  });
  app.post("/revoke", { preHandler: requireSession() }, async (request, reply) => {
    const ctx = sessionContext(request);
    const id = (request.body as { id?: unknown } | undefined)?.id;
    const userId = ctx.session?.userId as string;
    const ended =
      typeof id === "string" && (await keeper.revokeSession(id, { userId, info: ctx.info }));
    if (ended) return reply.code(204).send();
    return reply.code(404).send({ error: "not_found" });
  });
  app.get("/whoami", async (request) => ({ userId: sessionContext(request).userId }));
  app.get("/healthz", async (_request, reply) => reply.type("text/plain").send("ok"));
  app.get("/static/app.js", async (_request, reply) =>
    reply.type("text/javascript").send("console.log('static');"),
  );
  return app;
}

async function listen(app: FastifyInstance): Promise<RunningApp> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
}

runHttpBehaviour("fastify", (keeper) => listen(buildFastify(keeper)));
runDbscBehaviour("fastify", (keeper) => listen(buildFastify(keeper)));

describe("Fastify specifics", () => {
  let sqlite: TempSqlite;
  let calls: StoreCalls;
  let app: FastifyInstance;
  let running: RunningApp;

  before(async () => {
    sqlite = await tempSqlite("sk-fastify-");
    const counted = countingStore(sqlite.store);
    calls = counted.calls;
    const keeper = createSessionKeeper({ storage: counted.store, excludePaths: ["/healthz"] });
    await keeper.migrate();
    app = buildFastify(keeper);
    // An encapsulated child plugin, as apps split their routes: the session plugin still covers it.
    void app.register(
      async (child) => {
        child.get("/me", { preHandler: requireSession() }, async (request) => ({
          userId: getSession(request)?.userId,
        }));
      },
      { prefix: "/child" },
    );
    // Signs in, then storage fails: the half-done sign-in's cookie must not be sent.
    app.post("/signin-then-fail", async (request) => {
      await sessionContext(request).signIn("alice");
      throw new StorageError("lost the database after sign-in");
    });
    app.get("/boom", async () => {
      throw new Error("not a storage problem");
    });
    running = await listen(app);
  });
  after(async () => {
    await running.close();
    await sqlite.cleanup();
  });

  async function signIn(): Promise<string> {
    const res = await fetch(`${running.baseUrl}/signin`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "alice" }),
    });
    assert.equal(res.status, 200);
    const [line] = res.headers.getSetCookie();
    assert.ok(line);
    return line.split(";")[0] as string;
  }

  it("covers routes in encapsulated child plugins", async () => {
    const cookie = await signIn();
    const res = await fetch(`${running.baseUrl}/child/me`, { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { userId: "alice" });
    const anonymous = await fetch(`${running.baseUrl}/child/me`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { error: "unauthenticated" });
  });

  it("matches excluded paths without their query string", async () => {
    const cookie = await signIn();
    const lookups = calls.findSession;
    const res = await fetch(`${running.baseUrl}/healthz?probe=1`, { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
    assert.equal(calls.findSession, lookups, "no session lookup");
  });

  it("an empty JSON body is no body: 400 from the route, not a parser error", async () => {
    const res = await fetch(`${running.baseUrl}/signin`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: "invalid_user" });
  });

  it("storageErrorHandler answers 503 without the cookies queued before the failure", async () => {
    const res = await fetch(`${running.baseUrl}/signin-then-fail`, { method: "POST" });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: "storage_unavailable" });
    assert.deepEqual(res.headers.getSetCookie(), []);
  });

  it("storageErrorHandler leaves other errors to Fastify's default handler", async () => {
    const res = await fetch(`${running.baseUrl}/boom`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { statusCode: number; error: string };
    assert.equal(body.statusCode, 500);
    assert.notEqual(body.error, "storage_unavailable");
  });
});

describe("Fastify over HTTP/2 (h2c)", () => {
  let sqlite: TempSqlite;
  let app: FastifyInstance;
  let origin: string;

  before(async () => {
    sqlite = await tempSqlite("sk-fastify-h2-");
    const keeper = createSessionKeeper({ storage: sqlite.store });
    await keeper.migrate();
    app = buildFastify(keeper, { http2: true } as FastifyServerOptions);
    await app.listen({ port: 0, host: "127.0.0.1" });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await sqlite.cleanup();
  });

  /** POSTs /signin over HTTP/2, which sends `:authority` and no `Host` header. */
  function signInOverH2(
    headers: Record<string, string>,
  ): Promise<{ status: number; cookies: string[] }> {
    return new Promise((resolve, reject) => {
      const client = http2.connect(origin);
      client.on("error", reject);
      const req = client.request({
        ":method": "POST",
        ":path": "/signin",
        "content-type": "application/json",
        ...headers,
      });
      req.on("response", (head) => {
        const setCookie = head["set-cookie"];
        req.resume();
        req.on("end", () => {
          client.close();
          resolve({ status: Number(head[":status"]), cookies: setCookie ?? [] });
        });
      });
      req.on("error", reject);
      req.end(JSON.stringify({ userId: "alice" }));
    });
  }

  it("checks Origin against :authority: same origin signs in, another origin is refused", async () => {
    const same = await signInOverH2({ origin });
    assert.equal(same.status, 200);
    assert.ok(
      same.cookies.some((c) => c.startsWith("sk_session=")),
      "session cookie set",
    );
    const cross = await signInOverH2({ origin: "http://evil.example" });
    assert.equal(cross.status, 403);
    assert.deepEqual(cross.cookies, []);
  });
});
