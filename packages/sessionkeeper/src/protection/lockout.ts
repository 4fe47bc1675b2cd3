import { createHash } from "node:crypto";
import type { CounterState, FailureCounter } from "../storage/protection-store.js";

/** Lockout settings, resolved. */
export interface LockoutPolicy {
  maxFailures: number;
  maxFailuresPerIp: number;
  window: number;
  counter: FailureCounter;
  /** Counts while `counter` fails (throws, rejects or times out); null: a failing counter fails the call. */
  fallbackCounter: FailureCounter | null;
  /** After `counter` failed, milliseconds before it is tried again (meanwhile every call uses the fallback). */
  retryCounterAfter: number;
}

/** With a fallback, a call to the counter that has not answered within this has failed. */
export const COUNTER_TIMEOUT_MS = 1000;

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

// One key per (account, known device): the device id is already a SHA-256 of the device cookie.
function deviceCounterKey(accountKey: string, deviceId: string): string {
  const hash = createHash("sha256")
    .update(`${normalizeAccountKey(accountKey)}\n${deviceId}`)
    .digest("hex");
  return `signin:d:${hash}`;
}

/**
 * Where a sign-in attempt comes from, as the lockout counts it. `knownDevice`: the id
 * (`keeper.deviceIdOf`) of a device the account completed a sign-in on, or null for any other
 * device (and for an unknown account).
 */
export interface AttemptSource {
  ip: string;
  knownDevice: string | null;
}

/**
 * Failed sign-ins per account and per client IP in fixed windows. The IP is the one the keeper
 * resolved with its trustProxy rules, so a forged X-Forwarded-For changes nothing.
 */
export class Lockout {
  // Timestamps below are the process's monotonic clock (performance.now), not the guard's `now`:
  // they measure an outage, which a test clock or a wall-clock jump must not stretch or shorten.
  /** When the failed counter may be tried again; 0 while it is healthy. */
  #counterDownUntil = 0;
  /** A call is finding out whether the failed counter is back: the others keep to the fallback. */
  #probing = false;
  /** The last time the fallback was used (successes then clear its count too). */
  #fallbackUsedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly policy: LockoutPolicy) {}

  /** True while the configured counter is considered down and the fallback counts instead. */
  get usingFallback(): boolean {
    return this.#counterDownUntil !== 0;
  }

  /**
   * Runs `op` on the configured counter, or on the fallback when the counter failed: at once if it
   * throws, rejects or takes over COUNTER_TIMEOUT_MS, and then for `retryCounterAfter` without
   * trying it. After that one call (never several at once) tries it again; if it answers, every
   * call goes back to it. A failing fallback fails the call (a StorageError answers 503).
   */
  async #count<T>(op: (counter: FailureCounter) => Promise<T>): Promise<T> {
    const { counter, fallbackCounter, retryCounterAfter } = this.policy;
    if (fallbackCounter === null) return op(counter);
    const down = this.#counterDownUntil !== 0;
    if (down && (this.#probing || performance.now() < this.#counterDownUntil))
      return this.#onFallback(fallbackCounter, op);
    if (down) this.#probing = true;
    try {
      const result = await bounded(op(counter), COUNTER_TIMEOUT_MS);
      this.#counterDownUntil = 0;
      return result;
    } catch {
      this.#counterDownUntil = performance.now() + retryCounterAfter;
      return this.#onFallback(fallbackCounter, op);
    } finally {
      if (down) this.#probing = false;
    }
  }

  #onFallback<T>(
    fallback: FailureCounter,
    op: (counter: FailureCounter) => Promise<T>,
  ): Promise<T> {
    this.#fallbackUsedAt = performance.now();
    return op(fallback);
  }

  /**
   * Seconds until this attempt may be made, or null when it may now. The IP's count applies to
   * everyone. A known device of the account is held by its own (account, device) count and not by
   * the account-wide one, so failures from elsewhere cannot lock the owner out of a device they
   * signed in on; any other device is held by the account-wide count.
   */
  async retryAfter(accountKey: string, from: AttemptSource, now: number): Promise<number | null> {
    const { maxFailures, maxFailuresPerIp } = this.policy;
    const accountKeyCounted =
      from.knownDevice !== null
        ? deviceCounterKey(accountKey, from.knownDevice)
        : accountCounterKey(accountKey);
    const [account, address] = await this.#count((counter) =>
      Promise.all([counter.read(accountKeyCounted, now), counter.read(ipCounterKey(from.ip), now)]),
    );
    let until = 0;
    if (account && account.count >= maxFailures) until = Math.max(until, account.resetAt);
    if (address && address.count >= maxFailuresPerIp) until = Math.max(until, address.resetAt);
    return until > now ? Math.max(1, Math.ceil((until - now) / 1000)) : null;
  }

  /**
   * Counts one failure for the IP, and one for the account (any other device) or for the
   * (account, known device) pair. A known device's failures do not count account-wide unless
   * `alsoAccountWide` (a wrong current password from a signed-in session: it counts on both).
   * `accountLockStarted`: this failure made the account-wide count reach the limit, so from now
   * on the account refuses unknown devices until the window ends.
   */
  async recordFailure(
    accountKey: string,
    from: AttemptSource,
    now: number,
    options: { alsoAccountWide?: boolean } = {},
  ): Promise<{ accountLockStarted: boolean; failures: number; resetAt: number }> {
    const { window, maxFailures } = this.policy;
    const keys: string[] = [];
    if (from.knownDevice !== null) keys.push(deviceCounterKey(accountKey, from.knownDevice));
    const accountWide = accountCounterKey(accountKey);
    if (from.knownDevice === null || options.alsoAccountWide) keys.push(accountWide);
    keys.push(ipCounterKey(from.ip));
    const counts = await this.#count(async (counter) => {
      const found = new Map<string, CounterState>();
      for (const key of keys)
        found.set(key, await counter.increment(key, { now, windowMs: window }));
      return found;
    });
    // Increments are atomic, so exactly one failure of a window reaches the limit: the owner is
    // told once per lock, however many guesses follow.
    const state = counts.get(accountWide);
    const failures = state?.count ?? 0;
    return {
      accountLockStarted: failures === maxFailures,
      failures,
      resetAt: state?.resetAt ?? now,
    };
  }

  /**
   * Clears the count the sign-in was held by after it succeeded: the account's from any other
   * device, the (account, device) pair's from a known device. A known device's success leaves the
   * account-wide count alone: otherwise each sign-in of the owner would give a guesser elsewhere
   * a fresh allowance. The IP's count stays: otherwise one account an attacker owns would reset
   * the count of the guesses made against the others.
   */
  async recordSuccess(accountKey: string, knownDevice: string | null = null): Promise<void> {
    const key =
      knownDevice !== null
        ? deviceCounterKey(accountKey, knownDevice)
        : accountCounterKey(accountKey);
    const { fallbackCounter, window } = this.policy;
    const counter = await this.#count(async (counter) => {
      await counter.reset(key);
      return counter;
    });
    // Failures counted in the fallback during a recent outage must not outlive a success either
    // (the fallback would hold them against the user in the next outage). Best effort: the
    // sign-in has succeeded, and a count left behind ends with its window.
    if (
      fallbackCounter !== null &&
      counter !== fallbackCounter &&
      performance.now() - this.#fallbackUsedAt < window
    ) {
      await fallbackCounter.reset(key).catch(() => {});
    }
  }
}

/** Resolves or rejects like `promise`, or rejects after `ms`: a hung counter must not hang sign-in. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the lockout counter did not answer within ${ms} ms`)),
      ms,
    );
  });
  promise.catch(() => {}); // the loser of the race must not become an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
