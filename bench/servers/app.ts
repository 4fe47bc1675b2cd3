import type { RequestListener } from "node:http";
import type { FastifyInstance } from "fastify";
import type { ServerConfig } from "./protocol.js";

/**
 * One benchmarked server: a Node request listener (or a Fastify instance, which owns its
 * server), and the bench hooks that reach its store directly.
 */
export interface BenchApp {
  listener?: RequestListener;
  fastify?: FastifyInstance;
  /**
   * Stores sessions number `first` … `first + count - 1` of other users straight into the store
   * (through the library or SQL, not HTTP).
   */
  seed?(first: number, count: number): Promise<void>;
  /** Times listing a user's sessions `iterations` times; returns milliseconds per call. */
  listTiming?(userId: string, iterations: number): Promise<number[]>;
  close(): Promise<void>;
}

/** A variant's factory, called once in its child process. */
export type CreateApp = (config: ServerConfig) => Promise<BenchApp>;

/** Every variant answers GET /me with `res.json({ userId })` or its framework's equivalent. */
export const UNAUTHENTICATED = { error: "unauthenticated" };

/** Session lifetime given to every library that takes one: 14 days. */
export const SESSION_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

/** A browser-like User-Agent for seeded rows. */
export const SEED_USER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36";

/** Seeded sessions belong to other users, ten each, so list queries stay realistic. */
export function seedUserId(n: number): string {
  return `seed-user-${Math.floor(n / 10)}`;
}

/** A placeholder secret for this process: anchors need one to sign their cookies. */
export const BENCH_SECRET = "bench-secret-bench-secret-bench-secret-0123456789";
