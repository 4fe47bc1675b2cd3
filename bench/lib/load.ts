import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

/** One timed run's figures. */
export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  /** Requests sent during the warm-up, which the server's counters also saw. */
  warmupRequests: number;
  non2xx: number;
  errors: number;
}

export interface LoadOptions {
  url: string;
  cookies: readonly string[];
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** A fixed number of requests instead of a duration (the counting pass). */
  amount?: number;
}

/**
 * Runs autocannon against GET /me over the session cookies. Each connection walks all the cookies
 * in turn from its own starting point (spread evenly), so no cookie is hot and concurrent requests
 * carry different sessions. The requests are built once per connection, not per request, which
 * keeps the load generator's share of the two cores down.
 */
export async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const requests = options.cookies.map((cookie) => ({
    method: "GET" as const,
    path: "/me",
    headers: { cookie },
  }));
  const step = Math.max(1, Math.floor(requests.length / options.connections));
  let clients = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds }),
    ...(options.warmupSeconds > 0 && !options.amount
      ? { warmup: { connections: options.connections, duration: options.warmupSeconds } }
      : {}),
    requests: requests.slice(0, 1),
    setupClient(client) {
      const start = (clients++ * step) % requests.length;
      client.setRequests([...requests.slice(start), ...requests.slice(0, start)]);
    },
  });
  const seconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  const warmup = (result as unknown as { warmup?: { requests?: { total?: number } } }).warmup;
  return {
    requestsPerSecond: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    warmupRequests: warmup?.requests?.total ?? 0,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const LUA = fileURLToPath(new URL("../wrk/rotate-cookies.lua", import.meta.url));

/** Runs wrk (one thread) with a Lua script that rotates the same cookies; null when wrk fails. */
export function runWrk(
  options: LoadOptions & { cookieFile: string; wrkPath: string },
): Promise<LoadResult | null> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    "--latency",
    "-s",
    LUA,
    `${options.url}/me`,
    "--",
    options.cookieFile,
  ];
  return new Promise((resolve) => {
    execFile(
      options.wrkPath,
      args,
      { timeout: (options.durationSeconds + 30) * 1000 },
      (error, stdout) => {
        if (error) return resolve(null);
        resolve(parseWrk(stdout));
      },
    );
  });
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

function parseWrk(out: string): LoadResult | null {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const p50 = /50%\s+([\d.]+)(us|ms|s|m)/.exec(out);
  const p99 = /99%\s+([\d.]+)(us|ms|s|m)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    out,
  );
  if (!rps || !total || !p50 || !p99) return null;
  return {
    requestsPerSecond: Number(rps[1]),
    p50: toMs(p50[1] as string, p50[2] as string),
    p99: toMs(p99[1] as string, p99[2] as string),
    requests: Number(total[1]),
    warmupRequests: 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors: socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}
