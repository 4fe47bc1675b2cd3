import { connect } from "node:net";
import pg from "pg";
import { createClient } from "redis";

/** Per-table write counters PostgreSQL keeps (rows inserted, updated, deleted). */
export interface TableWrites {
  inserted: number;
  updated: number;
  deleted: number;
}

/** The bench's own PostgreSQL databases on the shared server: created per variant, dropped at the end. */
export class PostgresDatabases {
  readonly #admin: pg.Pool;
  readonly #created = new Set<string>();

  constructor(readonly adminUrl: string) {
    this.#admin = new pg.Pool({ connectionString: adminUrl, max: 2 });
  }

  /** True when the server answers at all. */
  async available(): Promise<boolean> {
    try {
      await this.#admin.query("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  urlOf(name: string): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async create(name: string): Promise<string> {
    if (!/^[a-z0-9_]+$/.test(name)) throw new TypeError(`bad database name ${name}`);
    await this.#admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await this.#admin.query(`CREATE DATABASE ${name}`);
    this.#created.add(name);
    return this.urlOf(name);
  }

  async drop(name: string): Promise<void> {
    await this.#admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    this.#created.delete(name);
  }

  /**
   * Whether pg_stat_statements can be used: the extension must be created *and* loaded through
   * shared_preload_libraries, which needs a server restart (not ours to do on a shared server).
   */
  async statStatementsUsable(database: string): Promise<{ usable: boolean; reason: string }> {
    const client = new pg.Client({ connectionString: this.urlOf(database) });
    await client.connect();
    try {
      await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      await client.query("SELECT count(*) FROM pg_stat_statements");
      return { usable: true, reason: "pg_stat_statements" };
    } catch (error) {
      return { usable: false, reason: (error as Error).message };
    } finally {
      await client.end();
    }
  }

  /** Rows written to the user tables of one database so far (as PostgreSQL's statistics report them). */
  async tableWrites(database: string): Promise<TableWrites> {
    const client = new pg.Client({ connectionString: this.urlOf(database) });
    await client.connect();
    try {
      const { rows } = await client.query<{ ins: string; upd: string; del: string }>(
        "SELECT coalesce(sum(n_tup_ins),0) AS ins, coalesce(sum(n_tup_upd),0) AS upd, coalesce(sum(n_tup_del),0) AS del FROM pg_stat_user_tables",
      );
      const row = rows[0] ?? { ins: "0", upd: "0", del: "0" };
      return { inserted: Number(row.ins), updated: Number(row.upd), deleted: Number(row.del) };
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.#created]) await this.drop(name).catch(() => {});
    await this.#admin.end();
  }
}

/** The bench's keys on the shared Redis: one database number and a run-specific prefix, deleted at the end. */
export class RedisKeys {
  constructor(
    readonly url: string,
    readonly prefix: string,
  ) {}

  get database(): number {
    return Number(new URL(this.url).pathname.slice(1) || 0);
  }

  async available(): Promise<boolean> {
    const client = createClient({
      url: this.url,
      socket: { reconnectStrategy: false, connectTimeout: 2000 },
    });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch {
      return false;
    } finally {
      if (client.isOpen) client.destroy();
    }
  }

  /** Deletes every key under the run's prefix. */
  async clean(): Promise<number> {
    const client = createClient({ url: this.url });
    await client.connect();
    let deleted = 0;
    try {
      for await (const keys of client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) deleted += await client.del(keys);
      }
    } finally {
      client.destroy();
    }
    return deleted;
  }

  /**
   * Counts the commands sent to the bench's Redis database on keys (or a channel) under
   * `keyPrefix` while `fn` runs, using MONITOR filtered on the database number and the prefix. INFO commandstats is server-wide, so on a shared Redis
   * it would count other people's tests too. MONITOR slows Redis, so this runs outside timed runs.
   */
  async countCommands(
    keyPrefix: string,
    fn: () => Promise<void>,
  ): Promise<{ total: number; byCommand: Record<string, number> }> {
    const { hostname, port } = new URL(this.url);
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const marker = `[${this.database} `;
    const byCommand: Record<string, number> = {};
    let total = 0;
    let buffered = "";
    let ready!: () => void;
    const started = new Promise<void>((resolve) => {
      ready = resolve;
    });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf("\r\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 2);
        newline = buffered.indexOf("\r\n");
        if (line === "+OK") ready();
        const at = line.indexOf(marker);
        // Only commands on the variant's own keys or channel: other variants share the database.
        if (at === -1 || !line.includes(`"${keyPrefix}`)) continue;
        const command = /\] "([^"]+)"/.exec(line.slice(at))?.[1]?.toLowerCase() ?? "?";
        byCommand[command] = (byCommand[command] ?? 0) + 1;
        total += 1;
      }
    });
    socket.write("MONITOR\r\n");
    await started;
    try {
      await fn();
      // Let the last replies' MONITOR lines arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      socket.destroy();
    }
    return { total, byCommand };
  }
}
