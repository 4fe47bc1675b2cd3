import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createClient } from "@redis/client";
import { Redis as IORedis } from "ioredis";
import { type RedisCache, redisCache, redisCounters } from "../../src/cache/redis.js";
import type { NodeRedisClient } from "../../src/cache/redis-link.js";
import { isStorageError } from "../../src/errors.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { postgresStorage } from "../../src/storage/postgres.js";
import { browser, countFinds, eventually, sessionCookie } from "./kit.js";
import {
  freshPgSchema,
  type OwnRedis,
  type PgSchema,
  postgresSkip,
  redisServerSkip,
  startOwnRedis,
  unreachablePort,
} from "./services.js";

const skip = (await postgresSkip()) || (await redisServerSkip());

// Short windows so a test sees trust come back within a second; production defaults are longer.
const FAST = {
  maxReadTime: "300ms",
  retryInterval: "100ms",
  heartbeatInterval: "1s",
  commandTimeout: "1s",
} as const;

interface Instance {
  keeper: SessionKeeper;
  cache: RedisCache;
  finds: () => number;
  received: number[]; // when this instance heard another's drop (performance.timeOrigin + now)
  sent: number[]; // when this instance published its own drop
  close(): Promise<void>;
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

describe("Redis session cache across instances (one PostgreSQL, one Redis)", { skip }, () => {
  let schema: PgSchema;
  let redis: OwnRedis;
  let prefix: string;
  const instances: Instance[] = [];

  async function instance(kind: "node-redis" | "ioredis", redisUrl = redis.url): Promise<Instance> {
    const counted = countFinds(postgresStorage(schema.pool()));
    const received: number[] = [];
    const sent: number[] = [];
    const client =
      kind === "node-redis"
        ? (createClient({
            url: redisUrl,
            disableOfflineQueue: true,
            socket: { connectTimeout: 1000, reconnectStrategy: () => 100 },
          }) as unknown as NodeRedisClient)
        : new IORedis(redisUrl, {
            lazyConnect: true,
            connectTimeout: 1000,
            maxRetriesPerRequest: 1,
            retryStrategy: () => 100,
          });
    const cache = redisCache({
      client,
      prefix,
      ...FAST,
      onInvalidated: (_ids, origin) => (origin === "remote" ? received : sent).push(nowMs()),
    });
    const keeper = createSessionKeeper({ storage: counted.store, cache });
    const made: Instance = {
      keeper,
      cache,
      finds: counted.finds,
      received,
      sent,
      async close() {
        await keeper.close();
        if ("destroy" in client) client.destroy();
        else client.disconnect();
      },
    };
    instances.push(made);
    return made;
  }

  /** Signs a user in through `via` and returns the request info carrying the new cookie. */
  async function signIn(via: Instance, userId: string) {
    const signed = await via.keeper.signIn(userId, browser());
    return { info: browser(sessionCookie(signed.setCookies)), id: signed.record.id, userId };
  }

  /** Repeats requests on `on` until one is served from memory: no database read. */
  async function warm(on: Instance, info: ReturnType<typeof browser>) {
    await eventually(async () => {
      assert.ok(await on.keeper.authenticate(info), "the session is valid");
      const before = on.finds();
      assert.ok(await on.keeper.authenticate(info));
      return on.finds() === before;
    }, "the session is served from the cache");
  }

  before(async () => {
    schema = await freshPgSchema();
    redis = await startOwnRedis();
    prefix = `sk-test-${randomBytes(4).toString("hex")}:`;
    const first = postgresStorage(schema.pool());
    await first.migrate();
    await first.close();
  });

  after(async () => {
    for (const i of instances) await i.close().catch(() => {});
    await redis?.stop();
    await schema?.drop();
  });

  it("a session revoked through A is refused by B on B's next request, B's cache warm beforehand", async () => {
    const a = await instance("node-redis");
    const b = await instance("node-redis");
    assert.ok(await a.cache.ready());
    assert.ok(await b.cache.ready());
    const s = await signIn(a, "alice");
    await warm(b, s.info);

    const revokedAt = nowMs();
    assert.equal(await a.keeper.revokeSession(s.id, { userId: s.userId }), true);
    const before = b.finds();
    assert.equal(await b.keeper.authenticate(s.info), null, "B refuses the revoked session");
    assert.equal(b.finds(), before + 1, "B had to read the database: its cached copy was dropped");
    const heard = b.received.at(-1);
    const published = a.sent.at(-1);
    assert.ok(heard !== undefined && published !== undefined);
    console.log(
      `revocation propagation (in-process, node-redis): A's publish -> B's drop ${(heard - published).toFixed(2)} ms; ` +
        `revoke call start -> B's drop ${(heard - revokedAt).toFixed(2)} ms`,
    );
  });

  it("an ioredis client works the same, both ways", async () => {
    const a = instances[0] as Instance;
    const c = await instance("ioredis");
    assert.ok(await c.cache.ready());
    const s1 = await signIn(a, "bob");
    const s2 = await signIn(c, "bob");
    await warm(c, s1.info);
    await warm(a, s2.info);
    await a.keeper.revokeSession(s1.id, { userId: "bob" });
    await c.keeper.revokeSession(s2.id, { userId: "bob" });
    assert.equal(await c.keeper.authenticate(s1.info), null);
    assert.equal(await a.keeper.authenticate(s2.info), null);
  });

  it("with Redis killed, both keep serving valid sessions from the database and still refuse revoked ones; caching resumes when it is back", async () => {
    const [a, b] = instances as [Instance, Instance];
    const noCache = createSessionKeeper({ storage: postgresStorage(schema.pool()) });
    const valid = await signIn(a, "carol");
    const revokedByA = await signIn(a, "carol");
    const revokedElsewhere = await signIn(a, "carol");
    for (const s of [valid, revokedByA, revokedElsewhere]) {
      await warm(a, s.info);
      await warm(b, s.info);
    }

    await redis.stop();
    await eventually(
      () => !a.cache.trusted && !b.cache.trusted,
      "both instances stop trusting their caches",
    );

    // Valid sessions are still served, each request reading the database.
    for (const on of [a, b]) {
      const before = on.finds();
      assert.ok(await on.keeper.authenticate(valid.info));
      assert.ok(await on.keeper.authenticate(valid.info));
      assert.equal(on.finds(), before + 2, "no request is served from memory while Redis is down");
    }
    // A revocation through A cannot be broadcast: it is refused everywhere anyway, and queued.
    assert.equal(await a.keeper.revokeSession(revokedByA.id, { userId: "carol" }), true);
    assert.ok(a.cache.pendingBroadcasts >= 1);
    // And one made by a process without Redis (say, a script on the database) is never broadcast at all.
    assert.equal(await noCache.revokeSession(revokedElsewhere.id, { userId: "carol" }), true);
    for (const on of [a, b]) {
      assert.equal(await on.keeper.authenticate(revokedByA.info), null);
      assert.equal(await on.keeper.authenticate(revokedElsewhere.info), null);
    }

    await redis.start();
    assert.ok(await a.cache.ready(10_000), "A trusts its cache again");
    assert.ok(await b.cache.ready(10_000), "B trusts its cache again");
    assert.equal(a.cache.pendingBroadcasts, 0, "A sent the drop it had to keep");
    // Nothing ended during the outage comes back, and caching resumes for the valid one.
    for (const on of [a, b]) {
      assert.equal(await on.keeper.authenticate(revokedByA.info), null);
      assert.equal(await on.keeper.authenticate(revokedElsewhere.info), null);
      await warm(on, valid.info);
    }
    await noCache.close();
  });

  it("starts and serves from the database when Redis is down at start-up", async (t) => {
    const port = await unreachablePort();
    t.after(() => port.close());
    const d = await instance("node-redis", `redis://127.0.0.1:${port.port}`);
    const s = await signIn(d, "dave");
    assert.ok(await d.keeper.authenticate(s.info));
    assert.equal(d.cache.trusted, false);
    assert.equal(d.cache.get(s.id), null);
    // A revocation still works (the database is the truth) and does not throw.
    assert.equal(await d.keeper.revokeSession(s.id, { userId: "dave" }), true);
    assert.equal(await d.keeper.authenticate(s.info), null);
    assert.equal(await d.cache.ready(300), false);
  });

  it("without Redis an instance keeps no cache: every request with a session is one database read", async () => {
    const counted = countFinds(postgresStorage(schema.pool()));
    const plain = createSessionKeeper({ storage: counted.store });
    try {
      const signed = await plain.signIn("gina", browser());
      const info = browser(sessionCookie(signed.setCookies));
      for (let i = 1; i <= 3; i++) {
        assert.ok(await plain.authenticate(info));
        assert.equal(counted.finds(), i);
      }
      await plain.revokeSession(signed.record.id, { userId: "gina" });
      assert.equal(await plain.authenticate(info), null);
    } finally {
      await plain.close();
    }
  });

  it("carries app messages (e.g. a deny-rule change) to every instance", async () => {
    const [a, b] = instances as [Instance, Instance];
    const seen: unknown[] = [];
    const stop = b.cache.onMessage((topic, data) => seen.push({ topic, data }));
    assert.equal(await a.cache.publish("ip-rules", { changed: true }), true);
    await eventually(() => seen.length === 1, "B receives the message");
    assert.deepEqual(seen[0], { topic: "ip-rules", data: { changed: true } });
    stop();
  });
});

describe("shared counters on Redis", { skip }, () => {
  let redis: OwnRedis;
  const clients: Array<{ close(): Promise<void> }> = [];
  before(async () => {
    redis = await startOwnRedis();
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await redis?.stop();
  });

  for (const kind of ["node-redis", "ioredis"] as const) {
    it(`counts hits in a window shared by every instance, and resets (${kind})`, async () => {
      const make = () => {
        if (kind === "node-redis") {
          const c = createClient({ url: redis.url }) as unknown as NodeRedisClient;
          clients.push({ close: async () => c.destroy() });
          return c;
        }
        const c = new IORedis(redis.url);
        clients.push({ close: async () => c.disconnect() });
        return c;
      };
      const prefix = `sk-test-${randomBytes(4).toString("hex")}:`;
      const one = redisCounters(make(), prefix);
      const two = redisCounters(make(), prefix);
      const key = "signin:someone@example.com";
      await eventually(
        async () =>
          one.hit("probe", 1000).then(
            () => true,
            () => false,
          ),
        "the client connects",
      );
      const first = await one.hit(key, 60_000);
      const second = await two.hit(key, 60_000);
      const third = await one.hit(key, 60_000);
      assert.deepEqual([first.count, second.count, third.count], [1, 2, 3]);
      assert.ok(third.resetAt > Date.now() && third.resetAt <= first.resetAt + 5);
      // Another prefix is another app: its counters are separate.
      const other = redisCounters(make(), `${prefix}other:`);
      await eventually(
        async () =>
          other.hit("probe", 1000).then(
            () => true,
            () => false,
          ),
        "the client connects",
      );
      assert.equal((await other.hit(key, 60_000)).count, 1);
      await two.reset(key);
      assert.equal((await one.hit(key, 60_000)).count, 1);
      // The same counters through the guard's FailureCounter interface.
      const now = Date.now();
      assert.equal(await two.read("never-hit", now), null);
      const inc = await two.increment("failures:ivy", { now, windowMs: 60_000 });
      assert.equal(inc.count, 1);
      assert.equal((await one.increment("failures:ivy", { now, windowMs: 60_000 })).count, 2);
      const state = await one.read("failures:ivy", now);
      assert.equal(state?.count, 2);
      assert.ok(state && state.resetAt > now && state.resetAt <= now + 60_000);
      await one.reset("failures:ivy");
      assert.equal(await two.read("failures:ivy", now), null);
      // A hostile, huge key costs no more than a short one.
      assert.equal((await one.hit("x".repeat(100_000), 60_000)).count, 1);
      // The window ends.
      assert.equal((await one.hit("short", 50)).count, 1);
      await new Promise((r) => setTimeout(r, 120));
      assert.equal((await one.hit("short", 50)).count, 1);
    });
  }

  it("fails with a StorageError, not a hang, while Redis is down, and works again when it is back", async () => {
    const c = createClient({
      url: redis.url,
      socket: { reconnectStrategy: () => 100 },
    }) as unknown as NodeRedisClient;
    clients.push({ close: async () => c.destroy() });
    const counters = redisCounters(c, "sk-test-down:");
    await eventually(
      async () =>
        counters.hit("k", 60_000).then(
          () => true,
          () => false,
        ),
      "the client connects",
    );
    await redis.stop();
    await assert.rejects(counters.hit("k", 60_000), (error: unknown) => isStorageError(error));
    await redis.start();
    await eventually(
      async () =>
        counters.hit("k", 60_000).then(
          () => true,
          () => false,
        ),
      "the client reconnects",
    );
  });
});
