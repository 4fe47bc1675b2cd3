// Sign-in while the Redis that holds the lockout counters dies: a redis-server of the test's own is
// killed (SIGKILL) and started again. Sign-in must go on, counting failures in the SQL fallback
// (shared by every instance), and come back to Redis by itself.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import { type OpenedRedis, openRedis } from "../../src/cache/open-redis.js";
import {
  requireSession,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "../../src/http/express.js";
import { createGuard, type Guard } from "../../src/protection/guard.js";
import type { Refusal } from "../../src/protection/results.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { sessionToJSON } from "../../src/session-view.js";
import { protectionStore } from "../../src/storage/kysely-protection.js";
import { type OpenedStorage, openStorage } from "../../src/storage/open.js";
import {
  Client,
  type Reply,
  type Smtp,
  startApp,
  startSmtp,
  type TestApp,
} from "../protection/harness.js";
import {
  freshPgSchema,
  type OwnRedis,
  type PgSchema,
  postgresSkip,
  redisServerSkip,
  startOwnRedis,
} from "./services.js";

const PASSWORD = "correct horse battery staple";
/** No sign-in may take longer than this, outage or not (each Redis call is bounded well below it). */
const ANSWER_BOUND_MS = 3000;

function accountKeyInRedis(email: string): string {
  return `sk:counter:signin:a:${createHash("sha256").update(email).digest("hex")}`;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it is true, failing after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A request that must be answered within ANSWER_BOUND_MS. */
async function bounded(request: Promise<Reply>, what: string): Promise<Reply & { ms: number }> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const reply = await Promise.race([
    request,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: no answer within ${ANSWER_BOUND_MS} ms`)),
        ANSWER_BOUND_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  return { ...reply, ms: Date.now() - start };
}

async function redisUsable(redis: OpenedRedis): Promise<boolean> {
  try {
    await redis.client.sendCommand(["PING"]);
    return true;
  } catch {
    return false;
  }
}

describe("lockout counters in Redis: Redis killed under one instance", async () => {
  const skip = await redisServerSkip();
  let own: OwnRedis;
  let redis: OpenedRedis;
  let smtp: Smtp;
  let app: TestApp;

  before(async () => {
    if (skip) return;
    own = await startOwnRedis();
    redis = await openRedis(own.url);
    await until("Redis to answer", () => redisUsable(redis));
    smtp = await startSmtp();
    app = await startApp({
      smtp,
      guard: {
        alerts: "off",
        lockout: { maxFailures: 5, counter: redis.counters, retryCounterAfter: "1s" },
      },
    });
  });
  after(async () => {
    if (skip) return;
    await app?.close();
    await smtp?.close();
    await redis?.close();
    await own?.stop();
  });

  it("goes on signing in through the SQL counters, locks out there, and returns to Redis", {
    skip,
  }, async () => {
    const sqlCounters = () =>
      (app.sqlite.db.prepare("SELECT COUNT(*) AS n FROM sk_counters").get() as { n: number }).n;
    app.addUser("ann@example.test", PASSWORD);
    app.addUser("bob@example.test", PASSWORD);
    app.addUser("cat@example.test", PASSWORD);
    const client = new Client(app.url, { localAddress: "127.0.0.61" });
    const signIn = (email: string, password: string) =>
      bounded(
        new Client(app.url, { localAddress: "127.0.0.61" }).post("/api/signin", {
          email,
          password,
        }),
        email,
      );

    // Healthy: failures are counted in Redis, nothing in SQL.
    assert.equal(
      (await client.post("/api/signin", { email: "ann@example.test", password: "x" })).status,
      401,
    );
    assert.equal(
      await redis.client.sendCommand(["GET", accountKeyInRedis("ann@example.test")]),
      "1",
    );
    assert.equal(sqlCounters(), 0);

    // Redis hung (CLIENT PAUSE holds every command for 3 s): the counter's call times out, and
    // the sign-in is answered through the fallback well within the bound.
    const pauser = await openRedis(own.url);
    await until("the second client", () => redisUsable(pauser));
    await pauser.client.sendCommand(["CLIENT", "PAUSE", "3000", "ALL"]);
    const hung = await signIn("ann@example.test", PASSWORD);
    assert.equal(
      hung.status,
      200,
      `sign-in while Redis hangs answered ${hung.status} ${hung.text}`,
    );
    assert.ok(hung.ms < 1500, `answered in ${hung.ms} ms`);
    const hungFailure = await signIn("dan@example.test", "wrong");
    assert.equal(hungFailure.status, 401);
    assert.ok(sqlCounters() >= 2, "counted in SQL while Redis hung");
    console.log(
      `# Redis hung: sign-in answered in ${hung.ms} ms, the next in ${hungFailure.ms} ms`,
    );
    await pauser.close();

    await own.stop();
    const started = Date.now();
    // The right password still signs in, at once.
    const ok = await signIn("ann@example.test", PASSWORD);
    assert.equal(ok.status, 200, `sign-in during the outage answered ${ok.status} ${ok.text}`);
    // Wrong ones still count (in SQL) and lock the account out after the limit.
    for (let i = 0; i < 5; i++) {
      const reply = await signIn("bob@example.test", `wrong-${i}`);
      assert.equal(reply.status, 401, `failure ${i} answered ${reply.status} ${reply.text}`);
    }
    const locked = await signIn("bob@example.test", PASSWORD);
    assert.equal(
      locked.status,
      429,
      "locked out through the fallback, even with the right password",
    );
    assert.equal(locked.headers["retry-after"], "900");
    assert.ok(sqlCounters() >= 2, "the outage's failures are in the SQL counters");
    console.log(`# outage: 7 sign-ins answered in ${Date.now() - started} ms`);

    // Redis back: after the retry interval the primary is used again.
    await own.start();
    await until("the client to reconnect", () => redisUsable(redis));
    await sleep(1100);
    const counted = sqlCounters();
    // The first call after the interval may still be the probe that finds Redis back; a few tries.
    await until(
      "a failure to be counted in Redis again",
      async () => {
        await signIn("cat@example.test", "wrong");
        return (
          (await redis.client.sendCommand(["GET", accountKeyInRedis("cat@example.test")])) !== null
        );
      },
      5000,
    );
    assert.equal(sqlCounters(), counted, "nothing more was counted in SQL once Redis answered");
    assert.equal((await signIn("cat@example.test", PASSWORD)).status, 200);
  });
});

interface Instance {
  storage: OpenedStorage;
  redis: OpenedRedis;
  keeper: SessionKeeper;
  guard: Guard;
  server: Server;
  url: string;
}

const users = new Map<string, { id: string; password: string }>();

function refuse(res: express.Response, refusal: Refusal): void {
  if (refusal.retryAfter !== undefined) res.set("Retry-After", String(refusal.retryAfter));
  res.status(refusal.httpStatus).json({ error: refusal.error });
}

async function startInstance(databaseUrl: string, redisUrl: string): Promise<Instance> {
  const storage = await openStorage(databaseUrl);
  const redis = await openRedis(redisUrl, { heartbeatInterval: "1s" });
  const keeper = createSessionKeeper({ storage: storage.store, cache: redis.cache });
  await keeper.migrate();
  const guard = createGuard({
    keeper,
    store: protectionStore(storage.store.db),
    alerts: "off",
    lockout: {
      maxFailures: 5,
      maxFailuresPerIp: 100_000,
      counter: redis.counters,
      retryCounterAfter: "1s",
    },
  });
  keeper.addSessionGate(guard.sessionGate);
  const app = express();
  app.use(express.json());
  app.use(sessionMiddleware(keeper));
  app.post("/api/signin", async (req, res) => {
    const rs = sessionContext(req);
    const email = String(req.body?.email ?? "");
    const user = users.get(email) ?? null;
    const verdict = await guard.checkBeforeCredentials({
      accountKey: email,
      userId: user?.id ?? null,
      info: rs.info,
    });
    if (!verdict.ok) return refuse(res, verdict);
    if (!user || user.password !== req.body?.password) {
      return refuse(
        res,
        await guard.recordFailure({ accountKey: email, userId: user?.id ?? null, info: rs.info }),
      );
    }
    const result = await guard.completeSignIn(rs, user.id, { email });
    if (!result.ok) return refuse(res, result);
    res.json({ session: sessionToJSON(result.session) });
  });
  app.get("/api/me", requireSession(), (_req, res) => void res.json({ ok: true }));
  app.use(storageErrorHandler());
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { storage, redis, keeper, guard, server, url };
}

describe("two instances, lockout counters in one Redis that is killed under sign-in traffic", async () => {
  const skip = (await redisServerSkip()) || (await postgresSkip());
  let own: OwnRedis;
  let schema: PgSchema;
  const instances: Instance[] = [];

  before(async () => {
    if (skip) return;
    own = await startOwnRedis();
    schema = await freshPgSchema();
    instances.push(await startInstance(schema.url, own.url));
    instances.push(await startInstance(schema.url, own.url));
    for (const i of instances) assert.ok(await i.redis.cache.ready(5000), "cache trusted");
    users.set("held@example.test", { id: "user-held", password: PASSWORD });
    for (let n = 0; n < 8; n++)
      users.set(`u${n}@example.test`, { id: `user-${n}`, password: PASSWORD });
  });
  after(async () => {
    if (skip) return;
    for (const i of instances) {
      i.server.closeAllConnections();
      await new Promise<void>((resolve) => i.server.close(() => resolve()));
      await i.keeper.close();
      await i.redis.close();
      await i.storage.close();
    }
    await own?.stop();
    await schema?.drop();
  });

  it("answers all 200 sign-ins (no 503, no 500, none past the bound) and accepts no revoked session", {
    skip,
  }, async () => {
    const statuses = new Map<number, number>();
    let slowest = 0;
    let n = 0;
    /** `count` sign-ins, 4 at a time, alternating instances; 1 in 5 with a wrong password. */
    const traffic = async (count: number, phase: string) => {
      const start = Date.now();
      const one = async () => {
        const k = n++;
        const target = instances[k % 2] as Instance;
        const email = `u${k % 8}@example.test`;
        const password = k % 5 === 4 ? "wrong" : PASSWORD;
        const reply = await bounded(
          new Client(target.url).post("/api/signin", { email, password }),
          `sign-in ${k} (${phase})`,
        );
        slowest = Math.max(slowest, reply.ms);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        assert.ok(
          [200, 401, 429].includes(reply.status),
          `sign-in ${k} (${phase}) on instance ${k % 2} answered ${reply.status} ${reply.text}`,
        );
      };
      for (let done = 0; done < count; done += 4)
        await Promise.all(Array.from({ length: Math.min(4, count - done) }, one));
      console.log(`# ${phase}: ${count} sign-ins in ${Date.now() - start} ms`);
    };
    /** A signed-in client on instance A, its session cached on both instances. */
    const signedIn = async (on: Instance) => {
      const client = new Client(on.url);
      const reply = await client.post("/api/signin", {
        email: "held@example.test",
        password: PASSWORD,
      });
      assert.equal(reply.status, 200, reply.text);
      for (const i of instances)
        assert.equal(
          (
            await new Client(i.url).get("/api/me", {
              cookie: `sk_session=${client.cookie("sk_session")}`,
            })
          ).status,
          200,
        );
      return { cookie: client.cookie("sk_session") as string, id: reply.json.session.id as string };
    };
    const me = (on: Instance, cookie: string) =>
      bounded(new Client(on.url).get("/api/me", { cookie: `sk_session=${cookie}` }), "GET /api/me");

    await traffic(60, "Redis up");
    const [a, b] = instances as [Instance, Instance];
    const s0 = await signedIn(a);
    const s1 = await signedIn(b);
    const s2 = await signedIn(a);

    // Kill Redis while sign-ins are in flight.
    await Promise.all([
      traffic(40, "Redis killed mid-way"),
      (async () => {
        await until("a few sign-ins", () => n >= 68);
        await own.stop();
      })(),
    ]);
    // Revoke during the outage, on either instance: both refuse at once.
    assert.equal(await a.keeper.revokeSession(s0.id), true);
    assert.equal(await b.keeper.revokeSession(s1.id), true);
    const during = await signedIn(b);
    assert.equal(await a.keeper.revokeSession(during.id), true);
    for (const s of [s0, s1, during]) {
      for (const i of instances)
        assert.equal((await me(i, s.cookie)).status, 401, "a revoked session is refused");
    }
    assert.equal((await me(a, s2.cookie)).status, 200, "a live one still works");
    // The fallback counts are shared: 5 failures spread over both instances lock the account on both.
    users.set("shared@example.test", { id: "user-shared", password: PASSWORD });
    for (let k = 0; k < 5; k++) {
      const reply = await bounded(
        new Client((k % 2 === 0 ? a : b).url).post("/api/signin", {
          email: "shared@example.test",
          password: "nope",
        }),
        "failure",
      );
      assert.equal(reply.status, 401);
    }
    for (const i of instances) {
      const reply = await bounded(
        new Client(i.url).post("/api/signin", { email: "shared@example.test", password: PASSWORD }),
        "locked",
      );
      assert.equal(
        reply.status,
        429,
        "locked out on both instances through the shared SQL counters",
      );
    }
    await traffic(50, "Redis still down");

    await own.start();
    for (const i of instances) await until("the client to reconnect", () => redisUsable(i.redis));
    await sleep(1100); // retryCounterAfter
    await traffic(50, "Redis restarted");
    const keys = (await a.redis.client.sendCommand(["KEYS", "sk:counter:signin:*"])) as string[];
    assert.ok(keys.length > 0, "failures are counted in the restarted (empty) Redis again");
    for (const s of [s0, s1, during]) {
      for (const i of instances)
        assert.equal((await me(i, s.cookie)).status, 401, "still refused after Redis returned");
    }
    console.log(
      `# answers: ${JSON.stringify(Object.fromEntries(statuses))}, slowest ${slowest} ms`,
    );
    assert.equal(n, 200);
  });
});
