import { statSync } from "node:fs";
import { join } from "node:path";
import type { BenchConfig } from "./config.js";
import { runAutocannon } from "./load.js";
import { ServerProcess } from "./server-process.js";
import { signInMany } from "./sessions.js";
import { median, quantile, round } from "./stats.js";

/** Throughput and list latency of sessionkeeper (Express, SQLite) with few and with many stored sessions. */
export interface ScaleResult {
  stored: number;
  requestsPerSecondFew: number;
  requestsPerSecondMany: number;
  p99Few: number;
  p99Many: number;
  /** Many / few: 1 means no slower. */
  ratio: number;
  seedSeconds: number;
  databaseMiB: number;
  listSessions: Array<{ sessionsOfUser: number; stored: number; p50Ms: number; p99Ms: number }>;
}

async function listTiming(
  server: ServerProcess,
  userId: string,
  stored: number,
  sessionsOfUser: number,
) {
  const times = await server.request<number[]>({ type: "list-timing", userId, iterations: 300 });
  const steady = times.slice(50);
  return {
    sessionsOfUser,
    stored,
    p50Ms: round(quantile(steady, 0.5), 3),
    p99Ms: round(quantile(steady, 0.99), 3),
  };
}

/**
 * Two sessionkeeper (Express, SQLite) servers, each with 1,000 signed-in sessions; one also holds
 * `scaleStored` seeded sessions (one INSERT … SELECT in one transaction). Interleaved rounds compare them.
 */
export async function runScaleCheck(
  config: BenchConfig,
  dir: string,
  log: (line: string) => void,
  buildDir?: string,
): Promise<ScaleResult> {
  const build = buildDir ? { sessionkeeperDir: buildDir } : {};
  const few = await ServerProcess.start({
    variant: "sk-express-sqlite",
    sqlitePath: join(dir, "scale-few.db"),
    ...build,
  });
  const many = await ServerProcess.start({
    variant: "sk-express-sqlite",
    sqlitePath: join(dir, "scale-many.db"),
    ...build,
  });
  try {
    const cookies = new Map<ServerProcess, string[]>();
    for (const server of [few, many])
      cookies.set(server, await signInMany(server.url, config.sessions, { sessions: true }));
    const started = performance.now();
    await many.request({ type: "seed", count: config.scaleStored - config.sessions }, 1_800_000);
    const seedSeconds = round((performance.now() - started) / 1000, 1);
    log(`  [scale] seeded ${config.scaleStored - config.sessions} sessions in ${seedSeconds} s`);
    const rps = new Map<ServerProcess, number[]>([
      [few, []],
      [many, []],
    ]);
    const p99 = new Map<ServerProcess, number[]>([
      [few, []],
      [many, []],
    ]);
    for (let round_ = 0; round_ < config.rounds; round_++) {
      for (const server of round_ % 2 ? [many, few] : [few, many]) {
        const result = await runAutocannon({
          url: server.url,
          cookies: cookies.get(server) as string[],
          connections: config.connections,
          durationSeconds: config.durationSeconds,
          warmupSeconds: config.warmupSeconds,
        });
        rps.get(server)?.push(result.requestsPerSecond);
        p99.get(server)?.push(result.p99);
        log(
          `  [scale] round ${round_ + 1}/${config.rounds} ${server === few ? `${config.sessions} stored` : `${config.scaleStored} stored`}: ${Math.round(result.requestsPerSecond)} req/s`,
        );
      }
    }
    const listSessions = [
      await listTiming(few, "bench-user", config.sessions, config.sessions),
      await listTiming(many, "bench-user", config.scaleStored, config.sessions),
      await listTiming(many, "seed-user-1", config.scaleStored, 10),
    ];
    const databaseMiB = round(statSync(join(dir, "scale-many.db")).size / 1048576, 1);
    const fewRps = median(rps.get(few) as number[]);
    const manyRps = median(rps.get(many) as number[]);
    return {
      stored: config.scaleStored,
      requestsPerSecondFew: Math.round(fewRps),
      requestsPerSecondMany: Math.round(manyRps),
      p99Few: median(p99.get(few) as number[]),
      p99Many: median(p99.get(many) as number[]),
      ratio: round(manyRps / fewRps, 3),
      seedSeconds,
      databaseMiB,
      listSessions,
    };
  } finally {
    await few.stop();
    await many.stop();
  }
}
