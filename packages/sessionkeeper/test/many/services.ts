import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import mysql from "mysql2/promise";
import pg from "pg";

// The machine's shared servers (STACK.md). Tests only ever create and drop their own schema or database.
export const POSTGRES_URL =
  process.env.SK_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.SK_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/**
 * False when the service answers; otherwise the reason to skip, printed so nobody mistakes a skip
 * for a pass. Under CI=true a missing service throws: CI must never pass by skipping.
 */
export async function serviceSkip(
  name: string,
  probe: () => Promise<void>,
): Promise<string | false> {
  try {
    await probe();
    return false;
  } catch (error) {
    const missing = `${name} is not reachable (${(error as Error).message})`;
    if (process.env.CI === "true") throw new Error(`CI=true: ${missing}`, { cause: error });
    const reason = `${missing}: skipped. Start it (see STACK.md); under CI=true this fails instead.`;
    console.log(`SKIP ${reason}`);
    return reason;
  }
}

export const postgresSkip = () =>
  serviceSkip("PostgreSQL", async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
  });

export const mysqlSkip = () =>
  serviceSkip("MariaDB/MySQL", async () => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
    await connection.end();
  });

export const redisServerSkip = () =>
  serviceSkip("redis-server (binary)", async () => {
    const result = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`redis-server --version exited ${result.status}`);
  });

function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString("hex")}`;
}

/** A fresh PostgreSQL schema: a URL whose connections use it (search_path), and a drop. */
export interface PgSchema {
  name: string;
  url: string;
  pool(config?: pg.PoolConfig): pg.Pool;
  drop(): Promise<void>;
}

export async function freshPgSchema(): Promise<PgSchema> {
  const name = uniqueName("sk_t_");
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.end();
  const url = withSearchPath(POSTGRES_URL, name);
  return {
    name,
    url,
    pool: (config = {}) => new pg.Pool({ connectionString: url, max: 4, ...config }),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      // A connection some test left inside a transaction would make the drop wait for ever.
      await client.query("SET lock_timeout = '30s'");
      await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await client.end();
    },
  };
}

/** The URL with `options=-c search_path=<schema>`: every connection opened from it uses the schema. */
export function withSearchPath(url: string, schema: string, host?: { port: number }): string {
  const u = new URL(url);
  // A client that stops mid-transaction (a frozen relay, a killed test) would otherwise hold its
  // locks, among them the migrator's one advisory lock for the whole database, until TCP gives up.
  u.searchParams.set(
    "options",
    `-c search_path=${schema} -c idle_in_transaction_session_timeout=60000`,
  );
  if (host) u.port = String(host.port);
  return u.toString();
}

/** A fresh MariaDB/MySQL database: its URL and a drop. */
export interface MysqlDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function freshMysqlDatabase(): Promise<MysqlDatabase> {
  const name = uniqueName("sk_t_");
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(MYSQL_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const connection = await mysql.createConnection({ uri: MYSQL_URL });
      await connection.query(`DROP DATABASE IF EXISTS ${name}`);
      await connection.end();
    },
  };
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/**
 * A port that stays unreachable for as long as the test holds it: a listener that drops every
 * connection at once. Unlike {@link freePort}, no other test running beside it can take the port
 * meanwhile (which made "cannot reach Redis" tests pass or fail by the luck of the draw).
 */
export async function unreachablePort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    async close() {
      server.close();
      await once(server, "close");
    },
  };
}

/** A redis-server this test owns, on its own port: it can be stopped and started again. */
export interface OwnRedis {
  port: number;
  url: string;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a redis-server on a port that was free a moment ago. Another test running beside it can
 * take that port in between, so a start that finds it taken tries a fresh port (a few times).
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  for (let attempt = 1; ; attempt++) {
    const redis = ownRedis(await freePort());
    try {
      await redis.start();
      return redis;
    } catch (error) {
      if (attempt >= 5 || !/already in use/i.test(String(error))) throw error;
    }
  }
}

function ownRedis(port: number): OwnRedis {
  let child: ChildProcess | null = null;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    async start() {
      if (child) return;
      const proc = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--daemonize",
          "no",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child = proc;
      try {
        await waitForLine(proc, /Ready to accept connections/);
      } catch (error) {
        child = null;
        proc.kill("SIGKILL");
        throw error;
      }
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      child = null;
      // SIGKILL: an abrupt death, like a crashed or partitioned Redis, not a polite shutdown.
      const exited = once(proc, "exit");
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

async function waitForLine(proc: ChildProcess, pattern: RegExp): Promise<void> {
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start: ${output.slice(-500)}`)),
      10_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        proc.stdout?.off("data", onData);
        proc.stdout?.resume();
        resolve();
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.resume();
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
    });
  });
}

/**
 * A TCP relay in front of a server (127.0.0.1:targetPort) that the test can cut and restore: `cut()`
 * stops listening and destroys every relayed connection, like a network failure; `restore()` listens
 * on the same port again. The server behind it is never touched.
 */
export interface TcpRelay {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpRelay(
  targetPort: number,
  targetHost = "127.0.0.1",
): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  let listening = true;
  const cut = async () => {
    if (!listening) return;
    listening = false;
    const closed = once(server, "close");
    server.close();
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    port,
    cut,
    async restore() {
      if (listening) return;
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
      listening = true;
    },
    close: cut,
  };
}
