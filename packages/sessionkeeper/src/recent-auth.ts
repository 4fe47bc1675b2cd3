import type { Duration } from "./duration.js";
import { describe, requireDuration } from "./duration.js";
import type { SessionKeeper } from "./session-keeper.js";
import type { AuthFactor, SessionRecord } from "./types.js";

/** Every factor sessionkeeper knows, in the order challenges list them. */
export const AUTH_FACTORS: readonly AuthFactor[] = Object.freeze([
  "password",
  "email_code",
  "passkey",
]);

/** What a route asks of the session's last proof of identity. */
export interface RecentAuthOptions {
  /** How old the proof may be. Default: the keeper's `reauthWindow` ("2h"). */
  maxAge?: Duration;
  /** Which factors count (default all): a proof by another factor is asked again. */
  factors?: readonly AuthFactor[];
  /**
   * Default true: each action let through moves the window's start to now (GitHub's sudo mode),
   * so a run of sensitive actions needs one proof. False: only a real proof within `maxAge` counts
   * (for the strictest actions).
   */
  sliding?: boolean;
}

/** A {@link RecentAuthOptions} checked once, at start-up. */
export interface RecentAuthRule {
  /** Milliseconds, or null for the keeper's window. */
  maxAge: number | null;
  factors: readonly AuthFactor[];
  sliding: boolean;
}

/** The 401 answer outside the window: the JSON body and the RFC 9470 style challenge. */
export interface ReauthChallenge {
  status: 401;
  body: { error: "reauthentication_required"; maxAge: number; factors: AuthFactor[] };
  /** The `WWW-Authenticate` value. */
  challenge: string;
}

/** Checks options at start-up: a bad one throws a TypeError naming it. */
export function recentAuthRule(options: RecentAuthOptions = {}): RecentAuthRule {
  if (typeof options !== "object" || options === null)
    throw new TypeError("requireRecentAuth(options) takes an object");
  const maxAge = options.maxAge === undefined ? null : requireDuration("maxAge", options.maxAge);
  let factors = AUTH_FACTORS;
  if (options.factors !== undefined) {
    const list = options.factors;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((f) => AUTH_FACTORS.includes(f as AuthFactor))
    ) {
      throw new TypeError(
        `options.factors must be a non-empty list of "password", "email_code", "passkey" (got ${describe(list)})`,
      );
    }
    // Kept in the fixed order, without repeats: the challenge lists them the same way every time.
    factors = AUTH_FACTORS.filter((f) => list.includes(f));
  }
  if (options.sliding !== undefined && typeof options.sliding !== "boolean")
    throw new TypeError("options.sliding must be true or false");
  return Object.freeze({ maxAge, factors, sliding: options.sliding ?? true });
}

/**
 * Whether a session's last proof is recent enough for a rule: by an accepted factor, and within
 * `maxAge` of the proof (or, when sliding, of the last sensitive action let through). A session
 * never proven (older than the feature) is not.
 */
export function isRecentlyAuthenticated(
  record: SessionRecord,
  now: number,
  rule: { maxAge: number; factors: readonly AuthFactor[]; sliding: boolean },
): boolean {
  if (record.status !== "active" || record.authenticatedAt === null) return false;
  if (record.authFactor === null || !rule.factors.includes(record.authFactor)) return false;
  const since =
    rule.sliding && record.proofUsedAt !== null
      ? Math.max(record.authenticatedAt, record.proofUsedAt)
      : record.authenticatedAt;
  // A time in the future (a clock moved back) is not trusted as fresh.
  return since <= now && now - since <= rule.maxAge;
}

/**
 * The one decision every adapter's `requireRecentAuth` makes: null to let the request through
 * (after marking the proof used, when sliding), or the 401 challenge to answer with. Without an
 * active session the adapters answer 401 `unauthenticated` before asking.
 */
export async function checkRecentAuth(
  keeper: SessionKeeper<object>,
  record: SessionRecord,
  rule: RecentAuthRule,
): Promise<ReauthChallenge | null> {
  const maxAge = rule.maxAge ?? keeper.settings.reauthWindow;
  const resolved = { maxAge, factors: rule.factors, sliding: rule.sliding };
  if (isRecentlyAuthenticated(record, keeper.now(), resolved)) {
    if (rule.sliding) await keeper.markProofUsed(record);
    return null;
  }
  return reauthChallenge(maxAge, await usableFactors(keeper, record.userId, rule.factors));
}

/**
 * The factors a challenge offers this user: "passkey" only when the user has registered one (it
 * costs one lookup, on the refusal path alone). A rule that accepts passkeys only keeps it.
 */
async function usableFactors(
  keeper: SessionKeeper<object>,
  userId: string,
  factors: readonly AuthFactor[],
): Promise<readonly AuthFactor[]> {
  if (!factors.includes("passkey") || factors.length === 1) return factors;
  if ((await keeper.listPasskeys(userId)).length > 0) return factors;
  return factors.filter((f) => f !== "passkey");
}

/** The 401 answer for a window of `maxAge` ms: seconds in the body and in `max_age`. */
export function reauthChallenge(maxAge: number, factors: readonly AuthFactor[]): ReauthChallenge {
  const seconds = Math.floor(maxAge / 1000);
  return {
    status: 401,
    body: { error: "reauthentication_required", maxAge: seconds, factors: [...factors] },
    challenge: `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=${seconds}`,
  };
}
