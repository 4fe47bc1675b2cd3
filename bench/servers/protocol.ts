// The messages the bench runner and a server child exchange over the IPC channel. Control stays
// off HTTP, so no bench-only route or prefix check sits in the measured request path.

/** Every server answers `GET /me` with this body for the signed-in user. */
export const BENCH_USER = "bench-user";

/** What a child reports once it listens. */
export interface ReadyMessage {
  type: "ready";
  port: number;
}

/** Database statements and rows written, counted by a wrapper around the driver in the child. */
export interface DbCounters {
  statements: number;
  writeStatements: number;
  rowsWritten: number;
}

/** A request from the runner; `id` pairs it with its reply. */
export type ControlRequest =
  | { id: number; type: "seed"; count: number }
  | { id: number; type: "stats" }
  | { id: number; type: "list-timing"; userId: string; iterations: number }
  | { id: number; type: "close" };

export interface ControlReply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** What the runner passes to a child in `BENCH_SERVER_CONFIG` (JSON). */
export interface ServerConfig {
  variant: string;
  postgresUrl?: string;
  redisUrl?: string;
  redisPrefix?: string;
  sqlitePath?: string;
  /** A compiled sessionkeeper to load instead of the package's exports (see lib/build.ts). */
  sessionkeeperDir?: string;
  /**
   * sessionkeeper on Express only: "readme" serves the README's app (its keeper options, the
   * account routers, `requireSession()` and `req.sessionkeeper?.session?.userId` in the route)
   * instead of the bench's lean `/me` (idle.ts compares them).
   */
  route?: "bench" | "readme";
  /** Library options to try against the defaults (idle.ts: which one removes a slowdown). */
  keeperOptions?: { touchInterval?: string; cacheTtl?: string; checkInterval?: string };
  /** Also report statements by SQL text and GC time (idle.ts). */
  diagnostics?: boolean;
}
