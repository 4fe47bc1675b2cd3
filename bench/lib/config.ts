/** How long and how hard to run; every knob comes from the environment. */
export interface BenchConfig {
  quick: boolean;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  connections: number;
  sessions: number;
  /** Sessions stored in the second phase (signed-in ones included). */
  stored: number;
  /** Sessions stored for the scale check. */
  scaleStored: number;
  only: RegExp | null;
  skip: Set<string>;
  postgresUrl: string;
  redisUrl: string;
  wrkPath: string;
  /** Seconds of continuous load for the steady-state write count (0 skips it). */
  steadySeconds: number;
  /** Requests in the untimed pass that counts Redis commands. */
  countRequests: number;
  output: string;
  writeDocs: boolean;
}

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`${name} must be a positive number (got ${JSON.stringify(raw)})`);
  return value;
}

function loopbackUrl(name: string, fallback: string): string {
  const url = process.env[name] ?? fallback;
  const host = new URL(url).hostname;
  // The bench only ever targets this machine.
  if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(host))
    throw new TypeError(`${name} must point at a loopback address (got ${host})`);
  return url;
}

/**
 * Reads BENCH_* variables. BENCH_QUICK=1 is a 1-round smoke run; BENCH_DURATION, BENCH_WARMUP
 * (seconds), BENCH_ROUNDS, BENCH_STEADY_SECONDS (0 skips the steady-state pass), BENCH_CONNECTIONS, BENCH_STORED, BENCH_SCALE_STORED override;
 * BENCH_ONLY (a regular expression on variant names) narrows; BENCH_SKIP=wrk,stored,scale,micro,docs.
 */
export function readConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === "1";
  const skip = new Set(
    (process.env.BENCH_SKIP ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  return {
    quick,
    durationSeconds: number("BENCH_DURATION", quick ? 2 : 5),
    warmupSeconds: number("BENCH_WARMUP", 1),
    rounds: Math.round(number("BENCH_ROUNDS", quick ? 1 : 3)),
    connections: Math.round(number("BENCH_CONNECTIONS", 50)),
    sessions: 1000,
    stored: Math.round(number("BENCH_STORED", 100_000)),
    scaleStored: Math.round(number("BENCH_SCALE_STORED", quick ? 100_000 : 1_000_000)),
    only: process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null,
    skip,
    postgresUrl: loopbackUrl("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    redisUrl: loopbackUrl("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    wrkPath: process.env.BENCH_WRK ?? "/usr/bin/wrk",
    steadySeconds:
      process.env.BENCH_STEADY_SECONDS === "0"
        ? 0
        : Math.round(number("BENCH_STEADY_SECONDS", quick ? 0 : 60)),
    countRequests: Math.round(number("BENCH_COUNT_REQUESTS", 2000)),
    // Partial runs (quick, or a subset) must not overwrite the full run's results.
    output:
      process.env.BENCH_OUT ??
      new URL(
        quick || process.env.BENCH_ONLY ? "../results/partial.tmp.json" : "../results/latest.json",
        import.meta.url,
      ).pathname,
    writeDocs:
      process.env.BENCH_DOCS === "1" || (!skip.has("docs") && !process.env.BENCH_ONLY && !quick),
  };
}
