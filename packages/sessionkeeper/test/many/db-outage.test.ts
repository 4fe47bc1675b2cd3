import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type KeeperServer, startKeeperServer } from "./fixtures/keeper-server.js";
import { eventually } from "./kit.js";
import {
  freshMysqlDatabase,
  freshPgSchema,
  MYSQL_URL,
  mysqlSkip,
  POSTGRES_URL,
  postgresSkip,
  startTcpRelay,
  type TcpRelay,
  withSearchPath,
} from "./services.js";

/** A fresh database reachable through a relay: the URL for a given relay port, and a drop. */
interface Target {
  serverUrl: string;
  urlThrough(port: number): string;
  drop(): Promise<void>;
}

async function postgresTarget(): Promise<Target> {
  const schema = await freshPgSchema();
  return {
    serverUrl: POSTGRES_URL,
    urlThrough: (port) => withSearchPath(POSTGRES_URL, schema.name, { port }),
    drop: () => schema.drop(),
  };
}

async function mysqlTarget(): Promise<Target> {
  const database = await freshMysqlDatabase();
  const urlThrough = (port: number) => {
    const u = new URL(database.url);
    u.port = String(port);
    return u.toString();
  };
  return { serverUrl: MYSQL_URL, urlThrough, drop: () => database.drop() };
}

async function request(url: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, text: await res.text(), setCookie: res.headers.getSetCookie() };
}

// The app reaches its database only through a relay the test owns: cutting it is the outage.
outageSuite("PostgreSQL", await postgresSkip(), postgresTarget);
outageSuite("MariaDB", await mysqlSkip(), mysqlTarget);

function outageSuite(name: string, skip: string | false, open: () => Promise<Target>): void {
  describe(`database unreachable under requests (Express adapter, ${name}, no Redis)`, {
    skip,
  }, () => {
    let target: Target;
    let relay: TcpRelay;
    let app: KeeperServer;
    let cookie: string;

    before(async () => {
      target = await open();
      const server = new URL(target.serverUrl);
      relay = await startTcpRelay(Number(server.port), server.hostname);
      app = await startKeeperServer({ databaseUrl: target.urlThrough(relay.port) });
      await app.keeper.migrate();
      const login = await request(`${app.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId: "frank" }),
      });
      assert.equal(login.status, 200);
      cookie = (login.setCookie.find((c) => c.startsWith("sk_session=")) ?? "").split(
        ";",
      )[0] as string;
      assert.equal((await request(`${app.url}/me`, { cookie })).status, 200);
    });

    after(async () => {
      await relay?.restore();
      await app?.close();
      await relay?.close();
      await target?.drop();
    });

    it("answers 503 (never 200, never a stack trace) while the database is unreachable, then recovers without a restart", async () => {
      await relay.cut();

      // Several requests at once, as under load: every one fails closed.
      const during = await Promise.all(
        Array.from({ length: 5 }, () => request(`${app.url}/me`, { cookie })),
      );
      for (const res of during) {
        assert.equal(res.status, 503);
        assert.deepEqual(JSON.parse(res.text), { error: "storage_unavailable" });
      }
      // A sign-in cannot be recorded either: 503, and no cookie for a session that does not exist.
      const login = await request(`${app.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId: "grace" }),
      });
      assert.equal(login.status, 503);
      assert.deepEqual(JSON.parse(login.text), { error: "storage_unavailable" });
      assert.equal(
        login.setCookie.some((c) => c.startsWith("sk_session=") && !c.startsWith("sk_session=;")),
        false,
      );
      // Requests that need no session lookup are unaffected.
      assert.equal((await request(`${app.url}/public`)).status, 200);
      assert.equal((await request(`${app.url}/me`)).status, 401);

      await relay.restore();
      await eventually(
        async () => (await request(`${app.url}/me`, { cookie })).status === 200,
        "the same process serves the session again",
      );
      const me = await request(`${app.url}/me`, { cookie });
      assert.equal(JSON.parse(me.text).userId, "frank");
    });
  });
}
