import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import { createKyselyStore, type KyselyStore } from "./kysely-store.js";
import type { Database } from "./schema.js";

/**
 * The few members of a `pg.Pool` this store uses: bring your own pool (and its limits and timeouts).
 * Its `on` method, when present, is used too, so a connection that dies cannot crash the process.
 */
export type PgPool = PostgresPool;

interface Events {
  on?(event: string, listener: (value: Events) => void): unknown;
}

/**
 * Session storage in PostgreSQL through the app's `pg.Pool`. `close()` ends the pool.
 * Run `migrate()` once at start-up: it is safe when several instances start together.
 * @example
 * import pg from "pg";
 * const storage = postgresStorage(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }));
 */
export function postgresStorage(pool: PgPool): KyselyStore {
  if (!pool || typeof pool.connect !== "function" || typeof pool.end !== "function") {
    throw new TypeError(
      "postgresStorage(pool) needs a pg.Pool (an object with connect() and end())",
    );
  }
  // pg emits "error" on the pool when an idle client loses its connection, and on the client itself
  // when it dies while checked out (Kysely listens to neither). Unhandled, either would crash the
  // process; handled, the query fails as a StorageError (503) and the pool opens a new connection.
  const events = pool as Events;
  events.on?.("error", ignoreConnectionError);
  events.on?.("connect", (client) => client.on?.("error", ignoreConnectionError));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return createKyselyStore(db, { onClose: () => db.destroy() });
}

function ignoreConnectionError(): void {}
