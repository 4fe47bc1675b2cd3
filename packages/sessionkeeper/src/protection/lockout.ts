import { createHash } from "node:crypto";
import type { FailureCounter } from "../storage/protection-store.js";

/** Lockout settings, resolved. */
export interface LockoutPolicy {
  maxFailures: number;
  maxFailuresPerIp: number;
  window: number;
  counter: FailureCounter;
}

/**
 * The account key as counted: trimmed and lower-cased, so "Ann@X.org " and "ann@x.org" share a
 * count. Anything that is not a string counts as the empty key (still counted, never skipped).
 */
export function normalizeAccountKey(value: unknown): string {
  return typeof value === "string" ? value.trim().toLowerCase().slice(0, 320) : "";
}

// Counter keys hold a hash of the account key: the table never lists which e-mail addresses were
// tried, and every key has the same bounded length.
function accountCounterKey(accountKey: string): string {
  return `signin:a:${createHash("sha256").update(normalizeAccountKey(accountKey)).digest("hex")}`;
}

function ipCounterKey(ip: string): string {
  return `signin:i:${ip}`;
}

/**
 * Failed sign-ins per account and per client IP in fixed windows. The IP is the one the keeper
 * resolved with its trustProxy rules, so a forged X-Forwarded-For changes nothing.
 */
export class Lockout {
  constructor(private readonly policy: LockoutPolicy) {}

  /** Seconds until the account or IP may try again, or null when neither is locked. */
  async retryAfter(accountKey: string, ip: string, now: number): Promise<number | null> {
    const { counter, maxFailures, maxFailuresPerIp } = this.policy;
    const [account, address] = await Promise.all([
      counter.read(accountCounterKey(accountKey), now),
      counter.read(ipCounterKey(ip), now),
    ]);
    let until = 0;
    if (account && account.count >= maxFailures) until = Math.max(until, account.resetAt);
    if (address && address.count >= maxFailuresPerIp) until = Math.max(until, address.resetAt);
    return until > now ? Math.max(1, Math.ceil((until - now) / 1000)) : null;
  }

  /** Counts one failure for the account and one for the IP. */
  async recordFailure(accountKey: string, ip: string, now: number): Promise<void> {
    const { counter, window } = this.policy;
    await counter.increment(accountCounterKey(accountKey), { now, windowMs: window });
    await counter.increment(ipCounterKey(ip), { now, windowMs: window });
  }

  /**
   * Clears the account's count after a successful sign-in. The IP's count stays: otherwise one
   * account an attacker owns would reset the count of the guesses made against the others.
   */
  async recordSuccess(accountKey: string): Promise<void> {
    await this.policy.counter.reset(accountCounterKey(accountKey));
  }
}
