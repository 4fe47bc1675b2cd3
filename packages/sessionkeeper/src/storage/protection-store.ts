// The storage contract of the sign-in guard (src/protection): IP rules, emailed confirmations,
// what completed a sign-in before (devices, IPs), and failure counters. Like SessionStore it is
// named for tasks; every method succeeds or throws a StorageError, "not found" is null or false.

/** A global deny rule or an account's allow rule: one address or CIDR range, stored normalised. */
export interface IpRule {
  id: string;
  scope: "global" | "account";
  /** The account an allow rule belongs to; null for global rules. */
  userId: string | null;
  action: "deny" | "allow";
  /** Normalised address or range: `203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`. */
  cidr: string;
  note: string | null;
  createdAt: number;
}

/**
 * An emailed confirmation bound to one session: a new-device `verification` (code, approve and
 * not-me links) or a sign-in `alert` (not-me link only). Holds SHA-256 hashes, never the secrets.
 */
export interface VerificationRecord {
  id: string;
  kind: "verification" | "alert" | "reauth";
  sessionId: string;
  userId: string;
  codeHash: string | null;
  approveHash: string | null;
  denyHash: string;
  /** Wrong codes entered so far. */
  attempts: number;
  expiresAt: number;
  /** Set when the approve link was used: the pending browser may now pick up its session. */
  approvedAt: number | null;
  /** Set once the record has done its job (or was spent): every token of it is dead. */
  usedAt: number | null;
  createdAt: number;
}

/** The latest completed sign-in from one IP, for the impossible-travel check. */
export interface PreviousSignIn {
  ip: string;
  at: number;
  latitude: number | null;
  longitude: number | null;
}

/** A counter inside a fixed window: `count` events since the window opened, gone at `resetAt`. */
export interface CounterState {
  count: number;
  resetAt: number;
}

/**
 * Failure counters in fixed windows, shared by every app instance. Small on purpose so another
 * backend (Redis) can stand in for the SQL table.
 */
export interface FailureCounter {
  /**
   * Adds one to `key` and returns the new state. Atomic across instances: N concurrent calls
   * count N. A window that has ended restarts at 1 with `resetAt = now + windowMs`.
   */
  increment(key: string, options: { now: number; windowMs: number }): Promise<CounterState>;
  /** The counter's state, or null when it is absent or its window has ended. */
  read(key: string, now: number): Promise<CounterState | null>;
  reset(key: string): Promise<void>;
}

/** Everything the guard stores besides sessions and events (see {@link FailureCounter}). */
export interface ProtectionStore extends FailureCounter {
  /** Every IP rule (global and per account), oldest first: the guard caches them. */
  listIpRules(): Promise<IpRule[]>;
  /** How many rules a scope holds (an account's, with `userId`): lets the guard bound them. */
  countIpRules(scope: IpRule["scope"], userId: string | null): Promise<number>;
  addIpRule(rule: IpRule): Promise<void>;
  /** Deletes a rule of `scope` (and of `userId` for account rules). False when there is none. */
  removeIpRule(
    id: string,
    match: { scope: IpRule["scope"]; userId?: string | null },
  ): Promise<boolean>;

  createVerification(record: VerificationRecord): Promise<void>;
  findVerification(id: string): Promise<VerificationRecord | null>;
  /** The newest unspent record of a session of `kind` (default `verification`), or null. */
  findOpenVerification(
    sessionId: string,
    kind?: "verification" | "reauth",
  ): Promise<VerificationRecord | null>;
  /** Adds one wrong attempt to an unspent record; returns the new count, or null when it is spent. */
  addVerificationAttempt(id: string): Promise<number | null>;
  /** Marks an unspent, unexpired, not yet approved record approved. True when this call did it. */
  approveVerification(id: string, now: number): Promise<boolean>;
  /** Spends a record once: true only for the one call that did it (so each token works once). */
  spendVerification(id: string, now: number): Promise<boolean>;

  /** True when this device (hashed device cookie id) completed a sign-in for the user before. */
  isKnownDevice(userId: string, deviceId: string): Promise<boolean>;
  /** True when a sign-in from this IP was completed for the user before. */
  isKnownIp(userId: string, ip: string): Promise<boolean>;
  /** Remembers a completed sign-in: its device, its IP and where that IP was. */
  rememberSignIn(
    userId: string,
    signIn: {
      deviceId: string | null;
      ip: string;
      at: number;
      latitude: number | null;
      longitude: number | null;
    },
  ): Promise<void>;
  /** The user's latest completed sign-in, or null before the first. */
  previousSignIn(userId: string): Promise<PreviousSignIn | null>;

  /** Deletes ended counter windows and confirmations past `before`. */
  pruneProtection(options: {
    now: number;
    verificationsBefore: number;
  }): Promise<{ counters: number; verifications: number }>;
}
