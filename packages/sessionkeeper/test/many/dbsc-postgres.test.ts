import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import {
  requireSession,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "../../src/http/express.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { postgresStorage } from "../../src/storage/postgres.js";
import { DbscClient, signProof } from "../helpers/dbsc-client.js";
import { redisSkip, sharedRedisCache } from "./redis-kit.js";
import { freshPgSchema, type PgSchema, postgresSkip } from "./services.js";

const skip = (await postgresSkip()) || (await redisSkip());
const MINUTE = 60_000;

/** The value, asserted present (a test step that needs it fails clearly otherwise). */
function must<T>(value: T | null | undefined): T {
  assert.ok(value !== null && value !== undefined, "expected a value");
  return value;
}

/** A small Express app on one instance: sign-in, the current session, revoke. */
async function startApp(keeper: SessionKeeper) {
  const app = express();
  app.use(express.json({ limit: "4kb" }));
  app.use(sessionMiddleware(keeper));
  app.post("/signin", async (req, res) => {
    await sessionContext(req).signIn((req.body as { userId: string }).userId);
    res.json({ ok: true });
  });
  app.get("/me", requireSession(), (req, res) => {
    const session = sessionContext(req).session;
    res.json({ id: session?.id, bound: session?.bound });
  });
  app.post("/revoke", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const id = (req.body as { id: string }).id;
    const ok = await keeper.revokeSession(id, { userId: ctx.userId as string, info: ctx.info });
    res.status(ok ? 204 : 404).end();
  });
  app.use(storageErrorHandler());
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
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

/** The same browser (one cookie jar and key) now talking to another instance. */
function via(client: DbscClient, baseUrl: string): DbscClient {
  client.baseUrl = baseUrl;
  return client;
}

describe("device-bound sessions: PostgreSQL, two instances with Redis caches", { skip }, () => {
  let schema: PgSchema;
  const clock = { now: Date.UTC(2026, 11, 2, 12) };
  const closers: Array<() => Promise<void>> = [];
  let a: { baseUrl: string };
  let b: { baseUrl: string };

  before(async () => {
    schema = await freshPgSchema();
    const redisA = await sharedRedisCache();
    const redisB = await sharedRedisCache(redisA.prefix);
    const make = (cache: typeof redisA.cache) =>
      createSessionKeeper({
        storage: postgresStorage(schema.pool()),
        cache,
        now: () => clock.now,
        deviceBinding: { mode: "opportunistic" },
      });
    const ka = make(redisA.cache);
    const kb = make(redisB.cache);
    await ka.migrate();
    const appA = await startApp(ka);
    const appB = await startApp(kb);
    a = appA;
    b = appB;
    closers.push(
      appA.close,
      appB.close,
      () => ka.close(),
      () => kb.close(),
    );
    closers.push(redisA.close, redisB.close, () => schema.drop());
  });
  after(async () => {
    for (const close of closers) await close();
  });

  it("a key registered on one instance is enforced, refreshed and ended on the other", async () => {
    const onA = new DbscClient(a.baseUrl);
    assert.equal((await onA.send("POST", "/signin", { body: { userId: "u-1" } })).status, 200);
    const me = async (c: DbscClient) => {
      const res = await c.send("GET", "/me");
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    // A caches the unbound session; B checks A's challenge and binds it.
    assert.deepEqual((await me(onA)).body.bound, false);
    const onB = via(onA, b.baseUrl);
    assert.equal((await onB.register("ES256")).status, 200);
    const sessionId = onB.config?.session_identifier as string;
    // A's cached copy was dropped by the broadcast: the long-lived cookie alone no longer does.
    const longOnly = new DbscClient(a.baseUrl);
    longOnly.cookies.set("sk_session", onB.cookies.get("sk_session") as string);
    assert.deepEqual(await me(longOnly), {
      status: 401,
      body: { error: "device_binding_required" },
    });
    const onA2 = via(onB, a.baseUrl);
    assert.deepEqual((await me(onA2)).body, { id: sessionId, bound: true });

    // Expiry; a challenge from A answered to B; the new cookie works on A at once.
    clock.now += 10 * MINUTE + 1;
    assert.equal((await me(onA2)).status, 401);
    assert.equal((await onA2.refreshOnce()).status, 403);
    const onB2 = via(onA2, b.baseUrl);
    const proof = await signProof(must(onB2.key), onB2.cachedChallenge as string);
    assert.equal((await onB2.refreshOnce(proof)).status, 200);
    const onA3 = via(onB2, a.baseUrl);
    assert.equal((await me(onA3)).status, 200);
    // The same proof replayed on A: the challenge was used up on B.
    const replay = await onA3.refreshOnce(proof);
    assert.equal(replay.status, 403);
    assert.ok(!replay.headers.getSetCookie().some((c) => c.startsWith("sk_bound=")));

    // Revoked on A from another device; B tells the browser to stop.
    const other = new DbscClient(a.baseUrl);
    await other.send("POST", "/signin", { body: { userId: "u-1" } });
    assert.equal((await other.send("POST", "/revoke", { body: { id: sessionId } })).status, 204);
    const onB3 = via(onA3, b.baseUrl);
    const ended = await onB3.refresh();
    assert.deepEqual(await ended.json(), { continue: false });
    assert.equal((await me(onB3)).status, 401);
  });
});
