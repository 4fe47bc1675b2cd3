// The idle-gap setting of an outside report (issue: "Express + SQLite at 0.46× of Express"):
// wrk as the driver (one thread, 50 connections, 1,000 cookies from each variant's own
// POST /login), a 3 s warm-up then an 8 s run, variants interleaved over rounds with an idle gap
// between a variant's runs, NODE_ENV=production, the compiled library, the README's app.
//   npm run bench:idle            (see docs/benchmarks.md, "Idle gaps")
// BENCH_IDLE_VARIANTS  comma list of name[:option…]; options route=bench (the bench's lean /me
//                      instead of the README's), touch=<duration>, ttl=<duration> (SQLite read
//                      cache), check=<duration> (its data_version interval), node=<flag> (a V8
//                      or Node flag for that server, e.g. --no-flush-bytecode); default below
// BENCH_IDLE_ROUNDS (3), BENCH_IDLE_SECONDS (idle after each round, 60), BENCH_IDLE_WARMUP (3),
// BENCH_IDLE_DURATION (8), BENCH_IDLE_SAMPLE=1 (the server's req/s second by second),
// BENCH_IDLE_WARMUP_ONCE=1 (warm each variant up before its first run only, the other reading
// of "8 s runs after 3 s warm-up"), BENCH_OUT.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSessionkeeper } from "./lib/build.js";
import { runWrk } from "./lib/load.js";
import { writeCookieFile } from "./lib/measure.js";
import { ServerProcess, type ServerStats } from "./lib/server-process.js";
import { PostgresDatabases } from "./lib/services.js";
import { signInMany } from "./lib/sessions.js";
import { median, round, sleep } from "./lib/stats.js";
import type { ServerConfig } from "./servers/protocol.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const rounds = env("BENCH_IDLE_ROUNDS", 3);
const idleSeconds = env("BENCH_IDLE_SECONDS", 60);
const warmupSeconds = env("BENCH_IDLE_WARMUP", 3);
const durationSeconds = env("BENCH_IDLE_DURATION", 8);
const wrkPath = process.env.BENCH_WRK ?? "/usr/bin/wrk";
const specs = (
  process.env.BENCH_IDLE_VARIANTS ??
  "express,express-session-memory,sk-express-sqlite,sk-express-pg"
).split(",");
const runId = `idle${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "skbench-idle-"));
const buildDir = fileURLToPath(new URL(`./.tmp/sessionkeeper-${runId}`, import.meta.url));
const postgres = new PostgresDatabases(
  process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
);
const log = (line: string) => console.log(line);

interface Entry {
  spec: string;
  server: ServerProcess;
  cookieFile: string;
  runs: RunResult[];
}
interface RunResult {
  round: number;
  /** Seconds since this variant's previous timed run ended (null for the first). */
  idleBefore: number | null;
  warmup: Counts;
  timed: Counts & { requestsPerSecond: number; p50: number; p99: number; non2xx: number };
  /** The server's own requests per second, second by second (BENCH_IDLE_SAMPLE=1). */
  perSecond?: number[];
}
interface Counts {
  requests: number;
  cpuMicrosPerRequest: number;
  gcMsPerSecond: number;
  rowsWritten: number;
  /** Statements by SQL text, per request. */
  statements: Record<string, number>;
}

/** `sk-express-sqlite:route=bench:touch=1h` → the server config for it. */
function configOf(spec: string): ServerConfig {
  const [variant, ...options] = spec.split(":");
  const o = Object.fromEntries(options.map((x) => x.split("=") as [string, string]));
  const keeperOptions = {
    ...(o.touch ? { touchInterval: o.touch } : {}),
    ...(o.ttl ? { cacheTtl: o.ttl } : {}),
    ...(o.check ? { checkInterval: o.check } : {}),
  };
  return {
    variant: variant as string,
    sqlitePath: join(dir, `${spec.replace(/\W/g, "_")}.db`),
    sessionkeeperDir: buildDir,
    diagnostics: true,
    ...(variant?.startsWith("sk-express")
      ? { route: o.route === "bench" ? "bench" : "readme" }
      : {}),
    ...(Object.keys(keeperOptions).length ? { keeperOptions } : {}),
  };
}

function counts(
  before: ServerStats,
  after: ServerStats,
  requests: number,
  seconds: number,
): Counts {
  const statements: Record<string, number> = {};
  for (const [sql, n] of Object.entries(after.detail?.bySql ?? {})) {
    const delta = n - (before.detail?.bySql[sql] ?? 0);
    if (delta > 0) statements[sql] = round(delta / requests, 4);
  }
  return {
    requests,
    cpuMicrosPerRequest: round((after.cpuMicros - before.cpuMicros) / requests, 1),
    gcMsPerSecond: round(((after.detail?.gcMs ?? 0) - (before.detail?.gcMs ?? 0)) / seconds, 1),
    rowsWritten: after.rowsWritten - before.rowsWritten,
    statements,
  };
}

/** Samples the server's request counter once a second while `work` runs. */
async function sampled<T>(server: ServerProcess, work: Promise<T>): Promise<[T, number[]]> {
  const perSecond: number[] = [];
  let done = false;
  const sampler = (async () => {
    let last = (await server.stats()).detail?.requests ?? 0;
    while (!done) {
      await sleep(1000);
      const now = (await server.stats()).detail?.requests ?? 0;
      if (!done) perSecond.push(now - last);
      last = now;
    }
  })();
  const result = await work;
  done = true;
  await sampler;
  return [result, perSecond];
}

const entries: Entry[] = [];

async function main(): Promise<void> {
  if (!existsSync(wrkPath)) throw new Error(`wrk not found at ${wrkPath} (apt-get install wrk)`);
  await buildSessionkeeper(buildDir);
  for (const spec of specs) {
    const config = configOf(spec);
    if (config.variant.includes("-pg"))
      config.postgresUrl = await postgres.create(`skbench_${runId}_${entries.length}`);
    const flag = /:node=([^:]+)/.exec(spec)?.[1];
    const server = await ServerProcess.start(config, flag ? { execArgv: [flag] } : {});
    const cookies = await signInMany(server.url, 1000, { sessions: config.variant !== "express" });
    const cookieFile = writeCookieFile(join(dir, `${entries.length}.cookies`), cookies);
    entries.push({ spec, server, cookieFile, runs: [] });
    log(`  started ${spec} (${config.route ?? "its own"} route), 1000 sessions signed in`);
  }
  const lastEnded = new Map<string, number>();
  const wrk = (e: Entry, seconds: number) =>
    runWrk({
      url: e.server.url,
      cookies: [],
      connections: 50,
      durationSeconds: seconds,
      warmupSeconds: 0,
      cookieFile: e.cookieFile,
      wrkPath,
    });
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[(i + r) % entries.length] as Entry;
      const ended = lastEnded.get(e.spec);
      const s0 = await e.server.stats();
      const warmOnce = process.env.BENCH_IDLE_WARMUP_ONCE === "1";
      const warm = warmOnce && r > 0 ? { requests: 0 } : await wrk(e, warmupSeconds);
      const s1 = await e.server.stats();
      const [timed, perSecond] =
        process.env.BENCH_IDLE_SAMPLE === "1"
          ? await sampled(e.server, wrk(e, durationSeconds))
          : [await wrk(e, durationSeconds), undefined];
      const s2 = await e.server.stats();
      lastEnded.set(e.spec, performance.now());
      if (!warm || !timed) throw new Error(`wrk failed against ${e.spec}`);
      const run: RunResult = {
        round: r + 1,
        idleBefore: ended === undefined ? null : round((performance.now() - ended) / 1000, 0),
        warmup: counts(s0, s1, Math.max(1, warm.requests), warmupSeconds),
        timed: {
          ...counts(s1, s2, timed.requests, durationSeconds),
          requestsPerSecond: Math.round(timed.requestsPerSecond),
          p50: round(timed.p50),
          p99: round(timed.p99),
          non2xx: timed.non2xx,
        },
        ...(perSecond ? { perSecond } : {}),
      };
      e.runs.push(run);
      log(
        `  round ${r + 1} ${e.spec.padEnd(34)} ${String(run.timed.requestsPerSecond).padStart(6)} req/s  p99 ${run.timed.p99} ms  cpu ${run.timed.cpuMicrosPerRequest} µs/req  gc ${run.timed.gcMsPerSecond} ms/s  rows written ${run.warmup.rowsWritten}+${run.timed.rowsWritten}${run.timed.non2xx ? `  non-2xx ${run.timed.non2xx}` : ""}${perSecond ? `  per s ${perSecond.join(" ")}` : ""}`,
      );
      if (Object.keys(run.timed.statements).length)
        log(`      statements/req: ${JSON.stringify(run.timed.statements)}`);
    }
    if (r < rounds - 1) await sleep(idleSeconds * 1000);
  }
  // Ratios to Express alone within each round: the machine's drift hits both alike.
  const base = entries.find((e) => e.spec === "express");
  const out = entries.map((e) => ({
    spec: e.spec,
    requestsPerSecond: e.runs.map((x) => x.timed.requestsPerSecond),
    ratioToExpress: base
      ? e.runs.map((x, i) =>
          round(x.timed.requestsPerSecond / (base.runs[i]?.timed.requestsPerSecond as number)),
        )
      : null,
    runs: e.runs,
  }));
  log(
    "\n| variant | req/s per round | × Express per round | median × Express |\n|---|---|---|--:|",
  );
  for (const o of out)
    log(
      `| ${o.spec} | ${o.requestsPerSecond.join(" / ")} | ${o.ratioToExpress?.join(" / ") ?? ""} | ${o.ratioToExpress ? `${median(o.ratioToExpress)}×` : ""} |`,
    );
  const file =
    process.env.BENCH_OUT ?? fileURLToPath(new URL("./results/idle.tmp.json", import.meta.url));
  mkdirSync(dirname(file), { recursive: true });
  const settings = { rounds, idleSeconds, warmupSeconds, durationSeconds, specs };
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), settings, variants: out }, null, 2)}\n`,
  );
  log(`wrote ${file}`);
}

try {
  await main();
} finally {
  for (const e of entries) await e.server.stop();
  await postgres.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(buildDir, { recursive: true, force: true });
}
