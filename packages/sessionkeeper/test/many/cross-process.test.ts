import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openStorage } from "../../src/storage/open.js";
import { type KeeperServer, startKeeperServer } from "./fixtures/keeper-server.js";
import { eventually } from "./kit.js";
import {
  freshPgSchema,
  type OwnRedis,
  type PgSchema,
  postgresSkip,
  redisServerSkip,
  startOwnRedis,
} from "./services.js";

const skip = (await postgresSkip()) || (await redisServerSkip());
const MAIN = fileURLToPath(new URL("./fixtures/keeper-server-main.ts", import.meta.url));

interface ChildInstance {
  url: string;
  events: Array<{ invalidated?: string[]; origin?: string; at?: number }>;
  stop(): Promise<void>;
}

/** Starts instance B as its own Node process, on the same database and Redis as instance A. */
async function startChild(env: Record<string, string>): Promise<ChildInstance> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=sessionkeeper-source", MAIN],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const events: ChildInstance["events"] = [];
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf("\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
        const parsed = JSON.parse(line) as { ready?: string } & ChildInstance["events"][number];
        if (parsed.ready) resolve(parsed.ready);
        else events.push(parsed);
      }
    });
    child.once("exit", (code) =>
      reject(new Error(`instance B exited with ${code}: ${stderr.slice(-2000)}`)),
    );
  });
  return {
    url,
    events,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function request(url: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? JSON.parse(text) : null,
    setCookie: res.headers.getSetCookie(),
  };
}

describe("two app instances in separate processes, one PostgreSQL and one Redis", { skip }, () => {
  let schema: PgSchema;
  let redis: OwnRedis;
  let a: KeeperServer;
  let b: ChildInstance;
  const sentByA: number[] = [];

  before(async () => {
    schema = await freshPgSchema();
    redis = await startOwnRedis();
    const prefix = `sk-test-${randomBytes(4).toString("hex")}:`;
    const migrator = await openStorage(schema.url);
    await migrator.store.migrate();
    await migrator.close();
    a = await startKeeperServer({
      databaseUrl: schema.url,
      redisUrl: redis.url,
      redisPrefix: prefix,
      onInvalidated: (_ids, origin, at) => origin === "local" && sentByA.push(at),
    });
    b = await startChild({ DATABASE_URL: schema.url, REDIS_URL: redis.url, REDIS_PREFIX: prefix });
    for (const url of [a.url, b.url]) {
      await eventually(
        async () => (await request(`${url}/health`)).body.cacheTrusted === true,
        "the instance trusts its cache",
      );
    }
  });

  after(async () => {
    await b?.stop();
    await a?.close();
    await redis?.stop();
    await schema?.drop();
  });

  it("session data updated through A is read by B on B's next request, B's cache warm beforehand", async () => {
    const login = await request(`${a.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "dana" }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.setCookie.find((c) => c.startsWith("sk_session=")) ?? "").split(
      ";",
    )[0] as string;
    const put = (data: unknown) =>
      request(`${a.url}/data`, {
        method: "PUT",
        cookie,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data }),
      });
    assert.equal((await put({ step: 1 })).status, 200);
    // Warm B: repeat until B answers the data without a database read.
    await eventually(async () => {
      assert.deepEqual((await request(`${b.url}/data`, { cookie })).body, { data: { step: 1 } });
      const before = (await request(`${b.url}/health`)).body.finds;
      assert.deepEqual((await request(`${b.url}/data`, { cookie })).body, { data: { step: 1 } });
      return (await request(`${b.url}/health`)).body.finds === before;
    }, "B serves the session from its cache");
    assert.equal((await put({ step: 2 })).status, 200);
    assert.deepEqual(
      (await request(`${b.url}/data`, { cookie })).body,
      { data: { step: 2 } },
      "B reads the new data on its very next request",
    );
  });

  it("a session revoked through A is refused by B on B's next request, B's cache warm beforehand", async () => {
    const login = await request(`${a.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "erin" }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.setCookie.find((c) => c.startsWith("sk_session=")) ?? "").split(
      ";",
    )[0] as string;
    const id = login.body.id as string;

    // Warm B: repeat until a request on B is answered without a database read.
    await eventually(async () => {
      assert.equal((await request(`${b.url}/me`, { cookie })).status, 200);
      const before = (await request(`${b.url}/health`)).body.finds;
      assert.equal((await request(`${b.url}/me`, { cookie })).status, 200);
      return (await request(`${b.url}/health`)).body.finds === before;
    }, "B serves the session from its cache");

    const revokeStart = performance.timeOrigin + performance.now();
    const revoked = await request(`${a.url}/sessions/${id}`, { method: "DELETE", cookie });
    const revokeDone = performance.timeOrigin + performance.now();
    assert.equal(revoked.status, 204);
    const onB = await request(`${b.url}/me`, { cookie });
    const refusedAt = performance.timeOrigin + performance.now();
    assert.equal(onB.status, 401, "B refuses the revoked session on its very next request");

    const heard = b.events.find((e) => e.origin === "remote" && e.invalidated?.includes(id));
    const published = sentByA.at(-1);
    assert.ok(heard?.at !== undefined && published !== undefined, "B heard A's drop");
    console.log(
      `revocation propagation across processes: A's PUBLISH -> B's drop ${(heard.at - published).toFixed(2)} ms; ` +
        `DELETE sent to A -> B's drop ${(heard.at - revokeStart).toFixed(2)} ms; ` +
        `DELETE answered by A -> B's 401 answered ${(refusedAt - revokeDone).toFixed(2)} ms`,
    );
  });
});
