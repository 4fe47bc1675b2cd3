import pg from "pg";
import { counters, detail } from "./counters.js";

const WRITE = /^\s*(insert|update|delete|merge)\b/i;

const keys = new Map<string, string>();

function bySql(sql: string): void {
  let key = keys.get(sql);
  if (key === undefined) {
    key = sql.replace(/\s+/g, " ").trim().slice(0, 60);
    keys.set(sql, key);
  }
  detail.bySql[key] = (detail.bySql[key] ?? 0) + 1;
}

function countResult(sql: string, rowCount: number | null | undefined): void {
  counters.statements += 1;
  bySql(sql);
  if (WRITE.test(sql)) {
    counters.writeStatements += 1;
    counters.rowsWritten += rowCount ?? 0;
  }
}

function sqlText(query: unknown): string {
  if (typeof query === "string") return query;
  const text = (query as { text?: unknown } | null)?.text;
  return typeof text === "string" ? text : "";
}

/**
 * Counts the statements of every `pg` client in this process (pool or not, callback or promise
 * style) by wrapping `Client.prototype.query`. pg_stat_statements needs a server restart to load,
 * which a shared PostgreSQL does not get; this counts on the client side instead.
 */
export function instrumentPostgres(): void {
  const proto = pg.Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
    __benchWrapped?: boolean;
  };
  if (proto.__benchWrapped) return;
  const original = proto.query;
  proto.query = function query(this: unknown, ...args: unknown[]) {
    const sql = sqlText(args[0]);
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args[args.length - 1] = (
        error: unknown,
        result: { rowCount?: number | null } | undefined,
      ) => {
        if (!error) countResult(sql, result?.rowCount);
        (last as (e: unknown, r: unknown) => void)(error, result);
      };
      return original.apply(this, args);
    }
    const out = original.apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === "function") {
      (out as Promise<{ rowCount?: number | null } | Array<{ rowCount?: number | null }>>).then(
        (result) =>
          countResult(sql, Array.isArray(result) ? result.at(-1)?.rowCount : result?.rowCount),
        () => {},
      );
    }
    return out;
  };
  proto.__benchWrapped = true;
}

interface StatementLike {
  reader: boolean;
  source: string;
}

/**
 * Counts every statement better-sqlite3 runs in this process by wrapping the methods of its
 * `Statement` prototype (`run`, `get`, `all`, `iterate`). `run` reports rows changed.
 */
export function instrumentSqlite(sample: StatementLike): void {
  const proto = Object.getPrototypeOf(sample) as Record<string, (...args: unknown[]) => unknown> & {
    __benchWrapped?: boolean;
  };
  if (proto.__benchWrapped) return;
  for (const method of ["get", "all", "iterate"]) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function read(this: StatementLike, ...args: unknown[]) {
      counters.statements += 1;
      bySql(this.source);
      if (!this.reader) counters.writeStatements += 1;
      return original.apply(this, args);
    };
  }
  const run = proto.run as (...args: unknown[]) => { changes: number };
  proto.run = function runCounted(this: StatementLike, ...args: unknown[]) {
    const result = run.apply(this, args);
    counters.statements += 1;
    bySql(this.source);
    if (!this.reader && WRITE.test(this.source)) {
      counters.writeStatements += 1;
      counters.rowsWritten += result.changes;
    }
    return result;
  };
  proto.__benchWrapped = true;
}
