import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Duration, requireDuration } from "../duration.js";
import type { SqlSessionStore } from "./kysely-store.js";

export interface OpenStorageOptions {
  /** Most connections per instance (PostgreSQL, MySQL). Default 10. */
  poolSize?: number;
  /** Limit for opening a connection, or waiting for a free one. Default "5s". */
  connectTimeout?: Duration;
  /** Limit for one statement; past it the request gets a 503 rather than hanging. Default "10s". */
  statementTimeout?: Duration;
}

/** The store {@link openStorage} opened, which kind it is, and the one call that closes it. */
export interface OpenedStorage {
  store: SqlSessionStore;
  dialect: "sqlite" | "postgres" | "mysql";
  close(): Promise<void>;
}

/** What a DATABASE_URL names. */
export type DatabaseTarget =
  | { dialect: "sqlite"; path: string }
  | { dialect: "postgres" | "mysql"; url: string };

/**
 * Opens the session store a `DATABASE_URL` names: `sqlite:<path>` or a plain path (the file and
 * its folder are created), `postgres://…`/`postgresql://…` (a bounded pg pool), `mysql://…` (a
 * bounded mysql2 pool). The driver is imported only when used; a bad URL is a TypeError.
 * @example
 * const { store, close } = await openStorage(process.env.DATABASE_URL ?? "sqlite:./data/app.db");
 * await store.migrate();
 */
export async function openStorage(
  databaseUrl: string,
  options: OpenStorageOptions = {},
): Promise<OpenedStorage> {
  const target = parseDatabaseUrl(databaseUrl);
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000)
    throw new TypeError("options.poolSize must be an integer from 1 to 1000");
  const connectTimeout = requireDuration("connectTimeout", options.connectTimeout ?? "5s");
  const statementTimeout = requireDuration("statementTimeout", options.statementTimeout ?? "10s");
  const store =
    target.dialect === "sqlite"
      ? await openSqlite(target.path)
      : target.dialect === "postgres"
        ? await openPostgres(target.url, { poolSize, connectTimeout, statementTimeout })
        : await openMysql(target.url, { poolSize, connectTimeout, statementTimeout });
  return { store, dialect: target.dialect, close: () => store.close() };
}

/** Classifies a DATABASE_URL. The message never repeats the URL: it may hold a password. */
export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  if (typeof databaseUrl !== "string" || databaseUrl.trim() === "") {
    throw new TypeError(
      'DATABASE_URL must be "sqlite:<path>", a file path, postgres://… or mysql://…',
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(databaseUrl)?.[1]?.toLowerCase();
  if (scheme === undefined) return { dialect: "sqlite", path: databaseUrl };
  if (scheme === "sqlite") {
    // sqlite:data/app.db, sqlite:./data/app.db, sqlite:///abs/app.db (the URL form of an absolute path).
    const path = databaseUrl.slice("sqlite:".length).replace(/^\/\/(?=\/|\.)/, "");
    if (path === "")
      throw new TypeError("DATABASE_URL sqlite: needs a file path, such as sqlite:./data/app.db");
    return { dialect: "sqlite", path };
  }
  if (
    scheme === "postgres" ||
    scheme === "postgresql" ||
    scheme === "mysql" ||
    scheme === "mariadb"
  ) {
    if (!URL.canParse(databaseUrl) || !new URL(databaseUrl).hostname) {
      throw new TypeError(
        `DATABASE_URL is not a valid ${scheme}:// URL (expected ${scheme}://user:password@host:port/database)`,
      );
    }
    const dialect = scheme.startsWith("postgres") ? "postgres" : "mysql";
    return {
      dialect,
      url: scheme === "mariadb" ? `mysql:${databaseUrl.slice("mariadb:".length)}` : databaseUrl,
    };
  }
  throw new TypeError(
    `DATABASE_URL scheme "${scheme}:" is not supported: use sqlite:<path>, postgres://… or mysql://…`,
  );
}

async function openSqlite(path: string): Promise<SqlSessionStore> {
  const { default: Database } = await importDriver(
    () => import("better-sqlite3"),
    "better-sqlite3",
    "an SQLite file",
  );
  const { sqliteStorage } = await import("./sqlite.js");
  if (path === ":memory:") return sqliteStorage(new Database(path));
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  return sqliteStorage(new Database(file));
}

interface PoolLimits {
  poolSize: number;
  connectTimeout: number;
  statementTimeout: number;
}

async function openPostgres(url: string, limits: PoolLimits): Promise<SqlSessionStore> {
  const { default: pg } = await importDriver(() => import("pg"), "pg", "a postgres:// URL");
  const { postgresStorage } = await import("./postgres.js");
  const pool = new pg.Pool({
    connectionString: url,
    max: limits.poolSize,
    // Also bounds the wait for a free connection when all are busy.
    connectionTimeoutMillis: limits.connectTimeout,
    // The server cancels a slow statement; the client gives up a little later if the server is gone.
    statement_timeout: limits.statementTimeout,
    query_timeout: limits.statementTimeout + 5000,
    idle_in_transaction_session_timeout: limits.statementTimeout,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  return postgresStorage(pool);
}

async function openMysql(url: string, limits: PoolLimits): Promise<SqlSessionStore> {
  const { default: mysql } = await importDriver(() => import("mysql2"), "mysql2", "a mysql:// URL");
  const { mysqlStorage } = await import("./mysql.js");
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: limits.poolSize,
    connectTimeout: limits.connectTimeout,
    waitForConnections: true,
    // Requests waiting for a connection are bounded too: past this they fail (503) at once.
    queueLimit: limits.poolSize * 100,
    enableKeepAlive: true,
    idleTimeout: 30_000,
  });
  const seconds = Math.max(1, Math.ceil(limits.statementTimeout / 1000));
  pool.on("connection", (connection) => {
    // MariaDB and MySQL name the statement limit differently; the one the server lacks just errors.
    connection.query(`SET SESSION max_statement_time = ${seconds}`, () => {});
    connection.query(`SET SESSION max_execution_time = ${seconds * 1000}`, () => {});
  });
  return mysqlStorage(pool);
}

async function importDriver<T>(load: () => Promise<T>, name: string, what: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new Error(
      `DATABASE_URL names ${what}, but the optional dependency ${name} is not installed (npm install ${name})`,
      { cause: error },
    );
  }
}
