import { createHash } from "node:crypto";
import { type Duration, requireDuration } from "../duration.js";
import { StorageError } from "../errors.js";
import type { FailureCounter } from "../storage/protection-store.js";
import { type RedisClientLike, redisLink, withTimeout } from "./redis-link.js";

/** A counter after one hit: how many hits in the current window, and when the window ends (epoch ms). */
export interface CounterHit {
  count: number;
  resetAt: number;
}

/**
 * Fixed-window counters shared by every instance (failed sign-ins, rate limits). Each call is one
 * atomic script; a Redis failure (down, or no answer within `commandTimeout`, default 500 ms)
 * throws a `StorageError`, so the caller decides to fail closed or open. Also a `FailureCounter`, so
 * it can replace the SQL counters: `createGuard({ lockout: { counter } })`, where the guard's
 * `store` takes over while Redis fails (`lockout.fallbackCounter`).
 */
export interface RedisCounters extends FailureCounter {
  /** Counts one hit on `key`; the first hit opens a window of `windowMs`. */
  hit(key: string, windowMs: number): Promise<CounterHit>;
  /** Forgets `key` (e.g. after a successful sign-in). */
  reset(key: string): Promise<void>;
}

// INCR, and start the window's expiry on the first hit (or if a key somehow lost its expiry).
const HIT = `local c = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {c, t}`;

const READ = `local c = redis.call('GET', KEYS[1])
if not c then return false end
return {tonumber(c), redis.call('PTTL', KEYS[1])}`;

/**
 * Counters in Redis under `<prefix>counter:<key>`. Keys come from requests (an email, an IP):
 * long ones are hashed so a hostile key cannot grow Redis memory.
 * @example
 * const counters = redisCounters(client, "myapp:");
 * const { count } = await counters.hit(`signin:${email}`, 15 * 60_000);
 */
export function redisCounters(
  client: RedisClientLike,
  prefix = "sk:",
  options: { commandTimeout?: Duration } = {},
): RedisCounters {
  const link = redisLink(client);
  // Short: a sign-in waits on these, and the lockout falls back to the SQL counters on a failure.
  const timeout = requireDuration("commandTimeout", options.commandTimeout ?? "500ms");
  if (typeof prefix !== "string" || prefix.length > 100)
    throw new TypeError("prefix must be a string of at most 100 characters");
  // A listener keeps the client's "error" events from ending its reconnect loop (or the process).
  link.onState(() => {});
  link.start();

  const keyOf = (key: string): string => {
    if (typeof key !== "string" || key.length === 0)
      throw new TypeError("counter key must be a non-empty string");
    return `${prefix}counter:${key.length > 200 ? createHash("sha256").update(key).digest("hex") : key}`;
  };
  const run = async (args: string[], what: string): Promise<unknown> => {
    try {
      if (!link.ready) throw new Error("Redis is not connected");
      return await withTimeout(link.command(args), timeout, what);
    } catch (error) {
      throw new StorageError(`rate-limit counters unavailable during ${what}`, { cause: error });
    }
  };

  const hit = async (key: string, windowMs: number, now = Date.now()): Promise<CounterHit> => {
    if (!Number.isInteger(windowMs) || windowMs < 1)
      throw new TypeError("windowMs must be a positive integer");
    const [count, ttl] = pair(await run(["EVAL", HIT, "1", keyOf(key), String(windowMs)], "hit"));
    // Redis keeps the window; the caller's clock only places its end in the caller's time.
    return { count, resetAt: now + Math.max(0, ttl) };
  };

  return {
    hit: (key, windowMs) => hit(key, windowMs),
    increment: (key, { now, windowMs }) => hit(key, windowMs, now),
    async read(key, now) {
      const reply = await run(["EVAL", READ, "1", keyOf(key)], "read");
      if (reply === null || reply === false || reply === undefined) return null;
      const [count, ttl] = pair(reply);
      return ttl < 0 ? null : { count, resetAt: now + ttl };
    },
    async reset(key) {
      await run(["DEL", keyOf(key)], "reset");
    },
  };
}

function pair(reply: unknown): [number, number] {
  const [a, b] = Array.isArray(reply) ? reply.map(Number) : [];
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new StorageError("rate-limit counters returned an unexpected reply");
  }
  return [a, b];
}
