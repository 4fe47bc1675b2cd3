// The benchmark of issue 6: tiny servers answering POST /login and GET /me, each in its own
// process, measured in interleaved rounds with 1,000 rotated session cookies, then again with
// BENCH_STORED sessions stored; plus the validation micro-benchmark and the scale check.
//   npm run bench                      (the full run; see docs/benchmarks.md for the knobs)
//   BENCH_QUICK=1 npm run bench        (one short round, nothing written to docs/)
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSessionkeeper } from "./lib/build.js";
import { readConfig } from "./lib/config.js";
import {
  measurePhase,
  measureSteadyState,
  type PhaseResult,
  type Running,
  type SteadyResult,
  writeCookieFile,
} from "./lib/measure.js";
import {
  allTargets,
  type BenchReport,
  type MicroResult,
  machine,
  ratios,
  renderMarkdown,
  versions,
  writeResultsIntoDocs,
} from "./lib/report.js";
import { runScaleCheck, type ScaleResult } from "./lib/scale.js";
import { ServerProcess } from "./lib/server-process.js";
import { PostgresDatabases, RedisKeys } from "./lib/services.js";
import { checkUnauthenticated, signInMany } from "./lib/sessions.js";
import { round } from "./lib/stats.js";
import { hasSessions, VARIANTS, type Variant } from "./lib/variants.js";

const config = readConfig();
const log = (line: string) => console.log(line);
const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const dir = mkdtempSync(join(tmpdir(), "skbench-"));
const notes: string[] = [];
const running: Running[] = [];
// The compiled library the servers load (BENCH_SOURCE=1: the TypeScript sources through tsx).
const buildDir =
  process.env.BENCH_SOURCE === "1"
    ? undefined
    : fileURLToPath(new URL(`./.tmp/sessionkeeper-${runId}`, import.meta.url));
let postgres: PostgresDatabases | null = null;
let redis: RedisKeys | null = null;

async function moduleLoads(specifier: string): Promise<string | null> {
  const files: Record<string, string> = {
    "sessionkeeper/postgres": "storage/postgres.js",
    "sessionkeeper/redis": "cache/redis.js",
  };
  try {
    await import(buildDir && files[specifier] ? `${buildDir}/${files[specifier]}` : specifier);
    return null;
  } catch (error) {
    return (error as Error).message.split("\n")[0] ?? "failed to load";
  }
}

/** Which variants can run here; the rest are skipped with the reason in the report. */
async function selectVariants(): Promise<Variant[]> {
  postgres = new PostgresDatabases(config.postgresUrl);
  if (!(await postgres.available())) {
    notes.push(`PostgreSQL at ${config.postgresUrl} did not answer: its variants were skipped.`);
    await postgres.close();
    postgres = null;
  }
  const keys = new RedisKeys(config.redisUrl, `skbench:${runId}:`);
  if (await keys.available()) redis = keys;
  else notes.push(`Redis at ${config.redisUrl} did not answer: its variants were skipped.`);
  const selected: Variant[] = [];
  for (const v of VARIANTS) {
    if (config.only && !config.only.test(v.name)) continue;
    if ((v.postgres && !postgres) || (v.redis && !redis)) continue;
    let missing: string | null = null;
    for (const m of v.modules ?? [])
      missing ??= (await moduleLoads(m)) && `${m}: ${await moduleLoads(m)}`;
    if (missing) {
      notes.push(`${v.name} skipped: ${missing}`);
      continue;
    }
    selected.push(v);
  }
  return selected;
}

async function startVariant(v: Variant): Promise<Running> {
  const database =
    v.postgres && postgres
      ? `skbench_${runId}_${v.name.replace(/-/g, "_")}`.slice(0, 63)
      : undefined;
  const postgresUrl = database && postgres ? await postgres.create(database) : undefined;
  const server = await ServerProcess.start({
    variant: v.name,
    ...(postgresUrl ? { postgresUrl } : {}),
    ...(v.redis && redis ? { redisUrl: redis.url, redisPrefix: `${redis.prefix}${v.name}:` } : {}),
    sqlitePath: join(dir, `${v.name}.db`),
    ...(buildDir ? { sessionkeeperDir: buildDir } : {}),
  });
  const r: Running = { variant: v, server, cookies: [], ...(database ? { database } : {}) };
  running.push(r);
  r.cookies = await signInMany(server.url, config.sessions, { sessions: hasSessions(v) });
  if (hasSessions(v)) await checkUnauthenticated(server.url, r.cookies[0] as string);
  log(`  started ${v.name} on port ${server.port}, ${config.sessions} sessions signed in`);
  return r;
}

function runMicro(): Promise<MicroResult> {
  const script = fileURLToPath(new URL("./micro.ts", import.meta.url));
  const args = [
    "--import",
    "tsx",
    "--conditions=sessionkeeper-source",
    script,
    "--stored",
    String(config.stored),
    "--seconds",
    String(config.quick ? 1 : 3),
    ...(buildDir ? ["--build", buildDir] : []),
  ];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: dirname(script), timeout: 600_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`micro.ts failed: ${stderr || error.message}`));
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) as string));
      },
    );
  });
}

async function cleanUp(): Promise<void> {
  for (const r of running.splice(0)) await r.server.stop().catch(() => {});
  if (postgres) await postgres.close().catch(() => {});
  if (redis) await redis.clean().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const began = Date.now();
  const loadBefore = machine().loadAverage;
  log(
    `sessionkeeper bench: ${config.rounds} round(s) × ${config.durationSeconds} s (+${config.warmupSeconds} s warm-up), ${config.connections} connections`,
  );
  if (buildDir) {
    await buildSessionkeeper(buildDir);
    log(`  compiled sessionkeeper into ${buildDir}`);
  } else notes.push("sessionkeeper ran from its TypeScript sources through tsx (BENCH_SOURCE=1).");
  const variants = await selectVariants();
  for (const note of notes) log(`  note: ${note}`);
  if (postgres) {
    const probe = `skbench_${runId}_probe`;
    await postgres.create(probe);
    const stat = await postgres.statStatementsUsable(probe);
    await postgres.drop(probe);
    notes.push(
      stat.usable
        ? "pg_stat_statements is loaded; statements are also counted client-side."
        : `pg_stat_statements is not usable on this server (${stat.reason}); statements are counted in each server process by wrapping pg's Client#query, and rows written are cross-checked with pg_stat_user_tables.`,
    );
  }
  const useWrk = !config.skip.has("wrk") && existsSync(config.wrkPath);
  for (const v of variants) await startVariant(v);
  const cookieFile = (r: Running) =>
    writeCookieFile(join(dir, `${r.variant.name}.cookies`), r.cookies);

  const phases: Record<string, PhaseResult[]> = {};
  log(`phase: ${config.sessions} sessions stored`);
  phases[String(config.sessions)] = await measurePhase(
    running,
    config,
    { postgres, redis },
    { phase: "1k", wrkCookieFile: cookieFile, useWrk, log },
  );

  const steady: SteadyResult[] = [];
  if (config.steadySeconds > 0) {
    // One sessionkeeper variant per storage: writes are the store's, whatever the framework.
    for (const r of running.filter((x) =>
      ["sk-express-sqlite", "sk-express-pg", "sk-express-pg-redis"].includes(x.variant.name),
    )) {
      const result = await measureSteadyState(r, config, config.steadySeconds);
      steady.push(result);
      log(
        `  [steady] ${r.variant.name}: ${result.requests} requests in ${result.seconds} s, ${result.rowsWritten} rows written (${result.rowsWrittenPerRequest}/request), ${result.statementsPerRequest} statements/request`,
      );
    }
  }

  if (!config.skip.has("stored")) {
    for (const r of running.filter((x) => hasSessions(x.variant))) {
      const started = performance.now();
      await r.server.request({ type: "seed", count: config.stored - config.sessions }, 1_800_000);
      log(
        `  seeded ${r.variant.name} to ${config.stored} sessions in ${round((performance.now() - started) / 1000, 1)} s`,
      );
    }
    log(`phase: ${config.stored} sessions stored`);
    phases[String(config.stored)] = await measurePhase(
      running,
      config,
      { postgres, redis },
      { phase: `${config.stored / 1000}k`, wrkCookieFile: cookieFile, useWrk: false, log },
    );
  }
  for (const r of running.splice(0)) await r.server.stop();

  let micro: MicroResult | null = null;
  if (!config.skip.has("micro")) {
    log("micro-benchmark of keeper.authenticate (SQLite)");
    micro = await runMicro();
    log(`  ${JSON.stringify(micro)}`);
  }
  let scale: ScaleResult | null = null;
  if (!config.skip.has("scale")) {
    log(`scale check: ${config.scaleStored} stored sessions`);
    scale = await runScaleCheck(config, dir, log, buildDir);
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    minutes: round((Date.now() - began) / 60000, 1),
    machine: { ...machine(), loadAverageAtStart: loadBefore },
    versions: versions(),
    config: { ...config, only: config.only?.source ?? null, skip: [...config.skip] },
    notes,
    phases,
    ratios: Object.fromEntries(
      Object.entries(phases).map(([phase, results]) => [phase, ratios(results)]),
    ),
    targets: allTargets(phases, steady, scale),
    steady,
    micro,
    scale,
  };
  mkdirSync(dirname(config.output), { recursive: true });
  writeFileSync(config.output, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${config.output}`);
  const markdown = renderMarkdown(report);
  if (config.writeDocs) {
    writeResultsIntoDocs(markdown);
    log("updated docs/benchmarks.md");
  } else log(`\n${markdown}`);
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
