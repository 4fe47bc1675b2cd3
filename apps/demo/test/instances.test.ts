import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  freshPgSchema,
  type OwnRedis,
  type PgSchema,
  postgresSkip,
  redisServerSkip,
  startOwnRedis,
  startTcpRelay,
  type TcpRelay,
  withSearchPath,
} from "../../../packages/sessionkeeper/test/many/services.js";
import { Client, UA } from "./harness.js";
import { type Instance, startInstance } from "./instances-kit.js";

// Two instances of the reference app, as separate processes, on one PostgreSQL (through a relay
// this test can cut) and one Redis this test owns (so it can kill it). Never the shared servers.
const PASSWORD = "correct horse battery";
const skip = (await postgresSkip()) || (await redisServerSkip());

function idOf(client: Client): string {
  return (client.cookies.get("sk_session") as string).split(".")[0] as string;
}

async function signInAt(url: string, email: string, ua: string): Promise<Client> {
  const client = new Client(url, { "user-agent": ua });
  const res = await client.post("/api/signin", { email, password: PASSWORD });
  assert.equal(res.status, 200);
  return client;
}

/** The same browser (cookie jar) talking to another instance. */
function at(client: Client, url: string): Client {
  const other = new Client(url, client.headers);
  for (const [k, v] of client.cookies) other.cookies.set(k, v);
  return other;
}

describe("two reference-app instances on PostgreSQL and Redis", { skip }, () => {
  let schema: PgSchema;
  let relay: TcpRelay;
  let redis: OwnRedis;
  let a: Instance;
  let b: Instance;
  const email = "multi@example.com";

  before(async () => {
    schema = await freshPgSchema();
    relay = await startTcpRelay(5432);
    redis = await startOwnRedis();
    const env = {
      DATABASE_URL: withSearchPath(schema.url, schema.name, { port: relay.port }),
      REDIS_URL: redis.url,
    };
    // Started one after the other, then together would also work: migrations take a lock.
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    const signup = await new Client(a.url).post("/api/signup", { email, password: PASSWORD });
    assert.equal(signup.status, 201);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await relay?.close();
    await schema?.drop();
  });

  it("a session revoked through A is refused by B on B's next request, with B's cache warm", async () => {
    const laptop = await signInAt(a.url, email, UA.chromeMac);
    const phone = await signInAt(a.url, email, UA.safariIphone);
    const phoneAtB = at(phone, b.url);
    // Warm B: the first request reads the database, the next ones are served from B's cache.
    for (let i = 0; i < 3; i++) assert.equal((await phoneAtB.get("/api/me")).status, 200);
    const started = performance.now();
    assert.equal((await laptop.delete(`/api/sessions/${idOf(phone)}`)).status, 204);
    const revokedAt = performance.now();
    const next = await phoneAtB.get("/api/me");
    const refusedAt = performance.now();
    assert.equal(next.status, 401, "B refuses the revoked session on its very next request");
    console.log(
      `cross-instance revocation: A answered the revoke in ${(revokedAt - started).toFixed(1)} ms; ` +
        `B's next request (refused) completed ${(refusedAt - revokedAt).toFixed(1)} ms after that`,
    );
    assert.equal(
      (await at(laptop, b.url).get("/api/me")).status,
      200,
      "the revoking session is untouched",
    );
  });

  it("an IP rule added through A is enforced by B at once (broadcast, not after a cache TTL)", async () => {
    const owner = await signInAt(a.url, email, UA.chromeMac);
    // B has loaded its rule cache already: warm it with a sign-in there.
    await signInAt(b.url, email, UA.firefoxWindows);
    const added = await owner.post("/api/ip-rules", { cidr: "203.0.113.0/24" });
    assert.equal(added.status, 201);
    const { rule } = (await added.json()) as { rule: { id: string } };
    let refused: Response | null = null;
    // The publish has left A when its answer did; allow B a moment to process it, far below the 30 s TTL.
    for (let i = 0; i < 20; i++) {
      refused = await new Client(b.url).post("/api/signin", { email, password: PASSWORD });
      if (refused.status === 403) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(refused?.status, 403);
    assert.deepEqual(await refused?.json(), { error: "ip_not_allowed" });
    assert.equal((await owner.delete(`/api/ip-rules/${rule.id}`)).status, 204);
    let allowed = 0;
    for (let i = 0; i < 20 && allowed !== 200; i++) {
      allowed = (await new Client(b.url).post("/api/signin", { email, password: PASSWORD })).status;
      if (allowed !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(allowed, 200);
  });

  it("with Redis killed, both keep serving valid sessions and refuse revoked ones, also after it returns", async () => {
    const laptop = await signInAt(a.url, email, UA.chromeMac);
    const tablet = await signInAt(b.url, email, UA.firefoxWindows);
    for (const client of [laptop, at(laptop, b.url), tablet, at(tablet, a.url)]) {
      assert.equal((await client.get("/api/me")).status, 200);
    }
    await redis.stop();
    for (const client of [laptop, at(laptop, b.url)])
      assert.equal((await client.get("/api/me")).status, 200, "valid sessions still served");
    // Revoked while Redis is down: the broadcast cannot happen, yet B must not serve its cached copy.
    assert.equal((await laptop.delete(`/api/sessions/${idOf(tablet)}`)).status, 204);
    assert.equal((await tablet.get("/api/me")).status, 401);
    assert.equal((await at(tablet, a.url).get("/api/me")).status, 401);
    await redis.start();
    // Let both instances resubscribe, then check nothing revoked came back and valid ones still work.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (let i = 0; i < 3; i++) {
      assert.equal((await tablet.get("/api/me")).status, 401);
      assert.equal((await at(tablet, a.url).get("/api/me")).status, 401);
      assert.equal((await at(laptop, b.url).get("/api/me")).status, 200);
    }
  });

  it("with the database unreachable, requests with a session answer 503 (never 200), then recover without a restart", async () => {
    const laptop = await signInAt(a.url, email, UA.chromeMac);
    const laptopAtB = at(laptop, b.url);
    await relay.cut();
    for (const client of [laptop, laptopAtB]) {
      const res = await client.get("/api/me");
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { error: "storage_unavailable" });
    }
    await relay.restore();
    let recovered = 0;
    for (let i = 0; i < 40 && recovered < 2; i++) {
      recovered = 0;
      for (const client of [laptop, laptopAtB])
        if ((await client.get("/api/me")).status === 200) recovered++;
      if (recovered < 2) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(recovered, 2, "both instances serve the session again");
  });
});
