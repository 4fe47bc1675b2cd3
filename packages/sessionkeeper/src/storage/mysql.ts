import { Kysely, MysqlDialect, type MysqlPool } from "kysely";
import { createKyselyStore, type KyselyStore } from "./kysely-store.js";
import type { Database } from "./schema.js";

/**
 * The few members of a mysql2 pool this store uses (`mysql2.createPool(...)`). A `mysql2/promise`
 * pool is accepted too: its callback pool is used underneath.
 */
type MysqlPoolLike = MysqlPool | { pool: MysqlPool };

/**
 * Session storage in MySQL 8 or MariaDB 10.5+ through the app's mysql2 pool. `close()` ends the pool.
 * Tables are created with a binary collation, so ids and user ids compare exactly as on SQLite and
 * PostgreSQL ("Bob" is not "bob").
 * @example
 * import mysql from "mysql2";
 * const storage = mysqlStorage(mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 10 }));
 */
export function mysqlStorage(pool: MysqlPoolLike): KyselyStore {
  const callbackPool = unwrapPool(pool);
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool: callbackPool }) });
  return createKyselyStore(db, { onClose: () => db.destroy() });
}

function unwrapPool(pool: MysqlPoolLike): MysqlPool {
  // A mysql2/promise pool wraps the callback pool Kysely needs in `.pool`.
  const candidate = pool && "pool" in pool ? pool.pool : pool;
  if (
    !candidate ||
    typeof candidate.getConnection !== "function" ||
    typeof candidate.end !== "function"
  ) {
    throw new TypeError(
      "mysqlStorage(pool) needs a mysql2 pool, such as mysql.createPool({ uri })",
    );
  }
  return candidate;
}
