import { writeFileSync } from "node:fs";
import type { BenchConfig } from "./config.js";
import { type LoadResult, runAutocannon, runWrk } from "./load.js";
import type { ServerProcess, ServerStats } from "./server-process.js";
import type { PostgresDatabases, RedisKeys, TableWrites } from "./services.js";
import { median, round, sleep } from "./stats.js";
import { hasSessions, type Variant } from "./variants.js";

/** A running variant: its server, its sessions' cookies and, for PostgreSQL, its database. */
export interface Running {
  variant: Variant;
  server: ServerProcess;
  cookies: string[];
  database?: string;
}

/** One variant's figures in one phase (a number of stored sessions). */
export interface PhaseResult {
  variant: string;
  rounds: LoadResult[];
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Per request, counted in the server process around the timed runs (warm-ups included). */
  statementsPerRequest: number | null;
  writeStatementsPerRequest: number | null;
  rowsWrittenPerRequest: number | null;
  /**
   * The server's CPU time per request (user + system), over the timed runs and their warm-ups:
   * less sensitive than req/s to other work on a shared machine.
   */
  cpuMicrosPerRequest: number;
  /** PostgreSQL's own row counters (pg_stat_user_tables) over the phase, per request. */
  postgresRowsWrittenPerRequest: number | null;
  redisCommandsPerRequest: number | null;
  redisCommands: Record<string, number> | null;
  rssMiB: number;
  peakRssMiB: number;
  wrk: LoadResult | null;
}

interface Tally {
  rounds: LoadResult[];
  /** Requests the server's own counters saw between readings (timed runs and their warm-ups). */
  requests: number;
  /** Every request of the phase, the Redis counting pass included (PostgreSQL's counters see them all). */
  allRequests: number;
  statements: number;
  writeStatements: number;
  rowsWritten: number;
  cpuMicros: number;
}

const uses = (r: Running) => hasSessions(r.variant);

/**
 * Measures every running variant: `rounds` rounds, each visiting every variant once (the order
 * shifts by one each round) with a warm-up then a timed run, so drift on a shared machine hits
 * all alike. Then one untimed pass per Redis variant to count its commands, and wrk once each.
 */
export async function measurePhase(
  running: Running[],
  config: BenchConfig,
  services: { postgres: PostgresDatabases | null; redis: RedisKeys | null },
  options: {
    phase: string;
    wrkCookieFile: (r: Running) => string;
    useWrk: boolean;
    log: (line: string) => void;
  },
): Promise<PhaseResult[]> {
  const tallies = new Map<string, Tally>(
    running.map((r) => [
      r.variant.name,
      {
        rounds: [],
        requests: 0,
        allRequests: 0,
        statements: 0,
        writeStatements: 0,
        rowsWritten: 0,
        cpuMicros: 0,
      },
    ]),
  );
  const pgBefore = await postgresWrites(running, services.postgres, true);

  for (let round = 0; round < config.rounds; round++) {
    for (let i = 0; i < running.length; i++) {
      const r = running[(i + round) % running.length] as Running;
      const tally = tallies.get(r.variant.name) as Tally;
      const before = await r.server.stats();
      const result = await runAutocannon({
        url: r.server.url,
        cookies: r.cookies,
        connections: config.connections,
        durationSeconds: config.durationSeconds,
        warmupSeconds: config.warmupSeconds,
      });
      const after = await r.server.stats();
      tally.rounds.push(result);
      tally.requests += result.requests + result.warmupRequests;
      tally.allRequests += result.requests + result.warmupRequests;
      addCounters(tally, before, after);
      const cpu = (after.cpuMicros - before.cpuMicros) / (result.requests + result.warmupRequests);
      options.log(
        `  [${options.phase}] round ${round + 1}/${config.rounds} ${r.variant.name.padEnd(28)} ${String(Math.round(result.requestsPerSecond)).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  cpu ${Math.round(cpu)} µs/req${result.non2xx || result.errors ? `  non-2xx ${result.non2xx} errors ${result.errors}` : ""}`,
      );
    }
  }

  const redisCounts = new Map<
    string,
    { total: number; byCommand: Record<string, number>; requests: number }
  >();
  if (services.redis) {
    for (const r of running.filter((x) => x.variant.redis)) {
      let requests = 0;
      const counted = await services.redis.countCommands(
        `${services.redis.prefix}${r.variant.name}:`,
        async () => {
          const result = await runAutocannon({
            url: r.server.url,
            cookies: r.cookies,
            connections: config.connections,
            durationSeconds: 0,
            warmupSeconds: 0,
            amount: config.countRequests,
          });
          requests = result.requests;
        },
      );
      redisCounts.set(r.variant.name, { ...counted, requests });
      (tallies.get(r.variant.name) as Tally).allRequests += requests;
    }
  }

  const pgAfter = await postgresWrites(running, services.postgres, false);
  const results: PhaseResult[] = [];
  for (const r of running) {
    const tally = tallies.get(r.variant.name) as Tally;
    const memory = r.server.rss();
    let wrk: LoadResult | null = null;
    if (options.useWrk) {
      wrk = await runWrk({
        url: r.server.url,
        cookies: r.cookies,
        connections: config.connections,
        durationSeconds: config.durationSeconds,
        warmupSeconds: 0,
        cookieFile: options.wrkCookieFile(r),
        wrkPath: config.wrkPath,
      });
      if (wrk)
        options.log(
          `  [${options.phase}] wrk ${r.variant.name.padEnd(28)} ${String(Math.round(wrk.requestsPerSecond)).padStart(6)} req/s  p50 ${round(wrk.p50)} ms  p99 ${round(wrk.p99)} ms`,
        );
    }
    const redis = redisCounts.get(r.variant.name);
    const pgDelta =
      r.database && pgBefore.get(r.database) && pgAfter.get(r.database)
        ? writesBetween(
            pgBefore.get(r.database) as TableWrites,
            pgAfter.get(r.database) as TableWrites,
          )
        : null;
    const perRequest = (n: number) =>
      uses(r) && tally.requests > 0 ? round(n / tally.requests, 4) : null;
    results.push({
      variant: r.variant.name,
      rounds: tally.rounds,
      requestsPerSecond: Math.round(median(tally.rounds.map((x) => x.requestsPerSecond))),
      p50: median(tally.rounds.map((x) => x.p50)),
      p99: median(tally.rounds.map((x) => x.p99)),
      non2xx: tally.rounds.reduce((s, x) => s + x.non2xx, 0),
      errors: tally.rounds.reduce((s, x) => s + x.errors, 0),
      cpuMicrosPerRequest:
        tally.requests > 0 ? round(tally.cpuMicros / tally.requests, 1) : Number.NaN,
      statementsPerRequest:
        r.variant.postgres || /sqlite/.test(r.variant.name) ? perRequest(tally.statements) : null,
      writeStatementsPerRequest:
        r.variant.postgres || /sqlite/.test(r.variant.name)
          ? perRequest(tally.writeStatements)
          : null,
      rowsWrittenPerRequest:
        r.variant.postgres || /sqlite/.test(r.variant.name) ? perRequest(tally.rowsWritten) : null,
      postgresRowsWrittenPerRequest:
        pgDelta !== null && tally.allRequests > 0 ? round(pgDelta / tally.allRequests, 4) : null,
      redisCommandsPerRequest:
        redis && redis.requests > 0 ? round(redis.total / redis.requests, 3) : null,
      redisCommands: redis ? redis.byCommand : null,
      rssMiB: round(memory.rss / 1048576, 1),
      peakRssMiB: round(memory.peak / 1048576, 1),
      wrk,
    });
  }
  return results;
}

function addCounters(tally: Tally, before: ServerStats, after: ServerStats): void {
  tally.statements += after.statements - before.statements;
  tally.writeStatements += after.writeStatements - before.writeStatements;
  tally.rowsWritten += after.rowsWritten - before.rowsWritten;
  tally.cpuMicros += after.cpuMicros - before.cpuMicros;
}

function writesBetween(before: TableWrites, after: TableWrites): number {
  return (
    after.inserted -
    before.inserted +
    (after.updated - before.updated) +
    (after.deleted - before.deleted)
  );
}

/**
 * PostgreSQL's per-table counters of each variant's database. A backend reports them when idle,
 * at most ten seconds late, so this waits that long first (once for all databases).
 */
async function postgresWrites(
  running: Running[],
  postgres: PostgresDatabases | null,
  _before: boolean,
): Promise<Map<string, TableWrites>> {
  const out = new Map<string, TableWrites>();
  const databases = running.map((r) => r.database).filter((d): d is string => Boolean(d));
  if (!postgres || databases.length === 0) return out;
  await sleep(11_000);
  for (const database of databases) out.set(database, await postgres.tableWrites(database));
  return out;
}

/** Writes one `Cookie` header per line, for wrk's Lua script. */
export function writeCookieFile(path: string, cookies: readonly string[]): string {
  writeFileSync(path, `${cookies.join("\n")}\n`, { mode: 0o600 });
  return path;
}

/** Database work per request under continuous load, over one full touch interval. */
export interface SteadyResult {
  variant: string;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  statementsPerRequest: number;
  rowsWrittenPerRequest: number;
  rowsWritten: number;
}

/**
 * The steady state: continuous load for `seconds` after a 5 s warm-up that absorbs the touches
 * due since the last round. sessionkeeper writes last-seen at most once per session per touch
 * interval (60 s by default), so a window of at least that long shows what a busy server writes.
 */
export async function measureSteadyState(
  r: Running,
  config: BenchConfig,
  seconds: number,
): Promise<SteadyResult> {
  await runAutocannon({
    url: r.server.url,
    cookies: r.cookies,
    connections: config.connections,
    durationSeconds: 5,
    warmupSeconds: 0,
  });
  const before = await r.server.stats();
  const result = await runAutocannon({
    url: r.server.url,
    cookies: r.cookies,
    connections: config.connections,
    durationSeconds: seconds,
    warmupSeconds: 0,
  });
  const after = await r.server.stats();
  return {
    variant: r.variant.name,
    seconds,
    requests: result.requests,
    requestsPerSecond: Math.round(result.requestsPerSecond),
    statementsPerRequest: round((after.statements - before.statements) / result.requests, 4),
    rowsWrittenPerRequest: round((after.rowsWritten - before.rowsWritten) / result.requests, 5),
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}
