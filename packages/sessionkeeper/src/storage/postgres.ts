import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import type { SessionRecord } from "../types.js";
import { fromSessionRow, KyselyStore, type KyselyStoreOptions } from "./kysely-store.js";
import type { Database } from "./schema.js";
import { FIND_SESSION_COLUMNS, rowOf } from "./session-row.js";

/**
 * The few members of a `pg.Pool` this store uses: bring your own pool (and its limits and timeouts).
 * Its `on` method, when present, is used too, so a connection that dies cannot crash the process.
 */
type PgPool = PostgresPool;

interface Events {
  on?(event: string, listener: (value: Events) => void): unknown;
}

interface PostgresStorageOptions {
  /**
   * Run the per-request lookup as a named prepared statement, planned once per connection.
   * Default true; set false behind a pooler that cannot keep prepared statements (PgBouncer in
   * transaction mode before 1.21, or without `max_prepared_statements`).
   */
  preparedStatements?: boolean;
}

/**
 * Session storage in PostgreSQL through the app's `pg.Pool`. `close()` ends the pool.
 * Run `migrate()` once at start-up: it is safe when several instances start together.
 * @example
 * import pg from "pg";
 * const storage = postgresStorage(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }));
 */
export function postgresStorage(pool: PgPool, options: PostgresStorageOptions = {}): KyselyStore {
  if (typeof options !== "object" || options === null)
    throw new TypeError("postgresStorage(pool, options): options must be an object");
  const prepared = options.preparedStatements ?? true;
  if (typeof prepared !== "boolean")
    throw new TypeError("options.preparedStatements must be true or false");
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
  const query = (pool as { query?: unknown }).query;
  const storeOptions = { onClose: () => db.destroy(), updateReturning: true };
  return typeof query === "function"
    ? new PostgresStore(db, pool as unknown as QueryPool, prepared, storeOptions)
    : new KyselyStore(db, storeOptions);
}

const FIND_SESSION = `select ${FIND_SESSION_COLUMNS} from "sk_sessions" where "id" = $1`;
const FIND_SESSIONS = `select ${FIND_SESSION_COLUMNS} from "sk_sessions" where "id" = any($1::text[])`;
// One statement per batch stays small and quick to plan; more lookups than this wait for the next.
const MAX_BATCH = 100;

/** `pg.Pool#query` with a query config: a name makes it a prepared statement. */
interface QueryPool {
  query(config: {
    name?: string;
    text: string;
    values: unknown[];
    rowMode: "array";
  }): Promise<{ rows: unknown[][] }>;
}

type Waiter = { resolve: (record: SessionRecord | null) => void; reject: (error: Error) => void };

/**
 * The SQL store with the per-request lookup sent straight to the pool: no query builder, rows as
 * arrays, and (by default) statements PostgreSQL plans once per connection. Lookups that arrive
 * in the same turn of the event loop (requests read from different sockets together) go out as
 * one `id = any($1)` statement: under load that is one round trip for several requests instead
 * of one each, which is where a PostgreSQL-backed request spends its time. Reads committed rows,
 * as any other connection would.
 */
class PostgresStore extends KyselyStore {
  #waiting: Map<string, Waiter[]> | null = null;

  constructor(
    db: Kysely<Database>,
    private readonly pool: QueryPool,
    private readonly prepared: boolean,
    options: KyselyStoreOptions,
  ) {
    super(db, options);
  }

  override findSession(id: string): Promise<SessionRecord | null> {
    return new Promise((resolve, reject) => {
      let waiting = this.#waiting;
      if (waiting === null) {
        waiting = new Map();
        this.#waiting = waiting;
        // After the poll phase: every request read in this turn has queued its lookup by then.
        setImmediate(() => this.#flush(waiting as Map<string, Waiter[]>));
      }
      const list = waiting.get(id);
      if (list) list.push({ resolve, reject });
      else waiting.set(id, [{ resolve, reject }]);
      if (waiting.size >= MAX_BATCH) this.#flush(waiting);
    });
  }

  async #flush(waiting: Map<string, Waiter[]>): Promise<void> {
    if (this.#waiting !== waiting) return; // already sent (it filled up)
    this.#waiting = null;
    const ids = [...waiting.keys()];
    try {
      const single = ids.length === 1;
      // run() turns a driver failure into the same StorageError every other step raises.
      const { rows } = await this.run("findSession", () =>
        this.pool.query({
          ...(this.prepared ? { name: single ? "sk_find_session_v1" : "sk_find_sessions_v1" } : {}),
          text: single ? FIND_SESSION : FIND_SESSIONS,
          values: [single ? ids[0] : ids],
          rowMode: "array",
        }),
      );
      const found = new Map<unknown, unknown[]>();
      for (const values of rows) found.set(values[0], values);
      for (const [id, waiters] of waiting) {
        const values = found.get(id);
        // Each caller gets its own record object.
        for (const waiter of waiters) waiter.resolve(values ? fromSessionRow(rowOf(values)) : null);
      }
    } catch (error) {
      for (const waiters of waiting.values())
        for (const waiter of waiters) waiter.reject(error as Error);
    }
  }
}

function ignoreConnectionError(): void {}
