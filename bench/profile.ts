// Profiles a server under load: starts it with `node --cpu-prof`, signs in 1,000 sessions,
// rotates them on GET /me with autocannon, stops it, and prints the top frames.
//   tsx --conditions=sessionkeeper-source profile.ts [variant] [seconds]   (default sk-express-sqlite 10)
// PROFILE_TOP=<n> prints n frames in each list (default 25).
// PROFILE_CALLERS=<regexp> also prints the call paths into matching frames.
// PROFILE_UNDER=<regexp> also prints where the time inside matching frames goes (self time).
// PROFILE_INTERVAL=<µs> sets the sampling interval (default 1000; 100 shows sub-µs frames).
// PROFILE_ROUTE=readme serves the README's Express app instead of the bench's lean /me (idle.ts).
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSessionkeeper } from "./lib/build.js";
import { callersOf, selfTimeUnder, summarizeProfile } from "./lib/cpu-profile.js";
import { runAutocannon } from "./lib/load.js";
import { ServerProcess } from "./lib/server-process.js";
import { PostgresDatabases, RedisKeys } from "./lib/services.js";
import { signInMany } from "./lib/sessions.js";
import { hasSessions, VARIANTS } from "./lib/variants.js";

const variant = process.argv[2] ?? "sk-express-sqlite";
const known = VARIANTS.find((v) => v.name === variant);
if (!known)
  throw new Error(`unknown variant ${variant}: one of ${VARIANTS.map((v) => v.name).join(", ")}`);
const seconds = Number(process.argv[3] ?? 10);
const postgres = new PostgresDatabases(
  process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
);
const dir = mkdtempSync(join(tmpdir(), "skbench-profile-"));
// Compiled, as in the bench (BENCH_SOURCE=1: the sources through tsx).
const buildDir =
  process.env.BENCH_SOURCE === "1"
    ? undefined
    : fileURLToPath(new URL(`./.tmp/sessionkeeper-profile-${process.pid}`, import.meta.url));
try {
  if (buildDir) await buildSessionkeeper(buildDir);
  const database = `skbench_profile_${process.pid}`;
  const postgresUrl = /pg/.test(variant) ? await postgres.create(database) : undefined;
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/9";
  const server = await ServerProcess.start(
    {
      variant,
      sqlitePath: join(dir, "sessions.db"),
      ...(buildDir ? { sessionkeeperDir: buildDir } : {}),
      ...(process.env.PROFILE_ROUTE === "readme" ? { route: "readme" as const } : {}),
      ...(postgresUrl ? { postgresUrl } : {}),
      ...(/redis/.test(variant) ? { redisUrl, redisPrefix: `skbench:profile${process.pid}:` } : {}),
    },
    {
      execArgv: [
        "--cpu-prof",
        `--cpu-prof-dir=${dir}`,
        `--cpu-prof-interval=${process.env.PROFILE_INTERVAL ?? 1000}`,
      ],
    },
  );
  const cookies = await signInMany(server.url, 1000, {
    sessions: hasSessions(known),
  });
  const load = await runAutocannon({
    url: server.url,
    cookies,
    connections: 50,
    durationSeconds: seconds,
    warmupSeconds: 1,
  });
  await server.stop();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error("no .cpuprofile written");
  const { bySelf, byTotal, durationMicros } = summarizeProfile(
    join(dir, file),
    Number(process.env.PROFILE_TOP ?? 25),
  );
  // Sign-ins and start-up are in the profile too; at 1,000 sign-ins they are a small share.
  const requests = load.requests + load.warmupRequests + 2 * cookies.length;
  const micros = (percent: number) => ((percent / 100) * durationMicros) / requests;
  const row = (f: { selfPercent: number; totalPercent: number; frame: string }) =>
    `${String(f.selfPercent).padStart(5)}% ${micros(f.selfPercent).toFixed(1).padStart(6)} µs  ${String(f.totalPercent).padStart(5)}% ${micros(f.totalPercent).toFixed(1).padStart(6)} µs  ${f.frame}`;
  console.log(
    `${variant}: ${Math.round(load.requestsPerSecond)} req/s under the profiler; µs are per request\n\nTop frames by self time (self, then total):`,
  );
  for (const f of bySelf) console.log(row(f));
  console.log("\nTop frames by total time (self + callees):");
  for (const f of byTotal) console.log(row(f));
  const focus = process.env.PROFILE_CALLERS;
  if (focus) {
    console.log(`\nCall paths into /${focus}/:`);
    for (const c of callersOf(join(dir, file), new RegExp(focus)).slice(0, 10))
      console.log(`${String(c.percent).padStart(5)}%  ${c.stack}`);
  }
  const under = process.env.PROFILE_UNDER;
  if (under) {
    console.log(`\nSelf time inside /${under}/:`);
    for (const f of selfTimeUnder(join(dir, file), new RegExp(under)).slice(0, 25))
      console.log(
        `${String(f.percent).padStart(5)}% ${micros(f.percent).toFixed(1).padStart(6)} µs  ${f.frame}`,
      );
  }
} finally {
  await postgres.close().catch(() => {});
  if (/redis/.test(variant))
    await new RedisKeys(
      process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/9",
      `skbench:profile${process.pid}:`,
    )
      .clean()
      .catch(() => 0);
  rmSync(dir, { recursive: true, force: true });
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}
