import { createHash } from "node:crypto";
import type { ActivityType, Actor, SessionSnapshot } from "../events.js";
import type { RequestSession } from "../request-session.js";
import type { SessionGate } from "../session-keeper.js";
import type { IpRule, VerificationRecord } from "../storage/protection-store.js";
import type { RequestInfo, Session, SessionRecord, SessionStatus } from "../types.js";
import { matchesHash, normalizeCode } from "./codes.js";
import { Confirmations } from "./confirmations.js";
import { type IpRefusal, RuleBook, type RuleResult } from "./ip-rules.js";
import { type AttemptSource, Lockout, normalizeAccountKey } from "./lockout.js";
import { signInDetails } from "./messages.js";
import { type GuardOptions, type ResolvedGuardOptions, resolveGuardOptions } from "./options.js";
import {
  type LinkKind,
  type LinkResult,
  type LinkView,
  type Refusal,
  refuse,
  type SignInResult,
  type Verdict,
} from "./results.js";
import { SecurityNotices } from "./security-notices.js";
import { SessionCap } from "./session-cap.js";
import { impossibleTravel } from "./travel.js";

/**
 * Guards the sign-in door: IP rules and lockout before the password is checked, then new-device
 * verification, alerts, the session cap and impossible travel once it was right. Every decision
 * is a login event (history and `onEvent`).
 * @example
 * const guard = createGuard({ keeper, store: protectionStore(storage.db), mailer, verification: "new-device", baseUrl });
 * const verdict = await guard.checkBeforeCredentials({ accountKey: email, userId: user?.id, info: rs.info });
 */
export function createGuard(options: GuardOptions): Guard {
  return new Guard(resolveGuardOptions(options));
}

/**
 * What the account API and pages need to answer pending sign-ins from a signed-in device (the
 * {@link Guard} has it): list them, approve one, refuse one as "this wasn't me".
 */
export type SignInApprovals = Pick<Guard, "pendingSignIns" | "approveSignIn" | "denySignIn">;

/** Who changed an allow list: the request session (e.g. `sessionContext(req)`), for the history. */
export interface AllowListChanger {
  record: SessionRecord | null;
  info: RequestInfo;
}

/** What a sign-in looked like against what the user completed before. */
interface Assessment {
  newDevice: boolean;
  newIp: boolean;
  travel: { km: number; kmh: number } | null;
}

const RULES_TOPIC = "sessionkeeper:ip-rules";

/**
 * The window of the per-account verification limits. Within it an account gets at most
 * {@link VERIFICATION_MAILS} verification mails, and at most 2 × `maxCodeAttempts` wrong codes over
 * all its pending sessions; past either, verification for the account answers 429
 * `too_many_attempts` until the window ends. Counted in the protection store (every instance).
 */
const VERIFICATION_WINDOW_MS = 3_600_000;
/** Wrong current passwords on one session (within the window) before that session ends. */
const REAUTH_MAX_FAILURES = 5;
const REAUTH_WINDOW_MS = 3_600_000;

/** Verification mails per account per {@link VERIFICATION_WINDOW_MS}. */
const VERIFICATION_MAILS = 3;

// Counter keys hold a hash of the user id: bounded length whatever the app's ids look like.
function accountKeyOf(prefix: string, userId: string): string {
  return `${prefix}:${createHash("sha256").update(userId).digest("hex")}`;
}
const wrongCodesKey = (userId: string) => accountKeyOf("verify:f", userId);
const mailsKey = (userId: string) => accountKeyOf("verify:m", userId);
const SYSTEM: Actor = Object.freeze({ kind: "system" });

/** The sign-in guard; make one with {@link createGuard}. Holds the IP rule cache of this instance. */
export class Guard {
  readonly #o: ResolvedGuardOptions;
  readonly #rules: RuleBook;
  readonly #lockout: Lockout | null;
  readonly #mail: Confirmations;
  readonly #cap: SessionCap;
  readonly #notices: SecurityNotices;
  /**
   * What the guard already decided about a request's pending session (activated, refused by the
   * cap, expired), so a later call on the same request answers the same: an app may pick up an
   * approval in a middleware before its verify route runs, and the route must not then contradict
   * the cookie that middleware set.
   */
  readonly #decided = new WeakMap<RequestSession<object>, SignInResult>();

  constructor(options: ResolvedGuardOptions) {
    this.#o = options;
    this.#rules = new RuleBook(
      options.store,
      options.ruleCacheTtl,
      () => this.#now(),
      options.maxRulesPerAccount,
    );
    this.#lockout = options.lockout ? new Lockout(options.lockout) : null;
    this.#mail = new Confirmations(options, () => this.#now());
    this.#cap = new SessionCap(options.keeper, options.sessionLimit);
    this.#notices = new SecurityNotices(options, (type, userId, sessionId, reason) =>
      this.#record(type, userId, sessionId, reason, null),
    );
    // Password changes and sessions ended as "not me" or for guessing mail the owner.
    options.keeper.subscribe((event) => this.#notices.onEvent(event));
    // Another instance changed the rules: reload now rather than when the cache expires.
    options.broadcast?.onMessage((topic) => {
      if (topic === RULES_TOPIC) this.#rules.reload().catch(() => {});
    });
  }

  /**
   * The check that makes a global deny rule end live sessions from the addresses it covers, on
   * their next request (reason `ip_denied`): `keeper.addSessionGate(guard.sessionGate)`.
   */
  readonly sessionGate: SessionGate = async (_record, info) =>
    (await this.#rules.isDenied(info.ip)) ? "ip_denied" : null;

  /** The policies in force, e.g. for a security page. */
  get policies() {
    const { verification, alerts, lockout, sessionLimit, impossibleTravel } = this.#o;
    return {
      verification,
      alerts,
      lockout: lockout
        ? {
            maxFailures: lockout.maxFailures,
            maxFailuresPerIp: lockout.maxFailuresPerIp,
            windowMs: lockout.window,
          }
        : null,
      sessionLimit: sessionLimit ? { ...sessionLimit } : null,
      impossibleTravel: impossibleTravel ? { ...impossibleTravel } : null,
    };
  }

  // ---- before the password is checked -------------------------------------------------------

  /**
   * Run before checking the password. Refuses an IP under a global deny rule (403 `ip_denied`)
   * and a locked-out account or IP (429 `locked_out` with `retryAfter`), whatever the password.
   * Pass `userId` null for an unknown e-mail. An account's allow list is checked only once the
   * password was right ({@link completeSignIn}): before that, a refusal would tell a stranger
   * that the address has an account.
   */
  async checkBeforeCredentials(input: {
    accountKey: unknown;
    userId?: string | null;
    info: RequestInfo;
    /**
     * The user already proved it with a factor nobody can guess (a verified passkey): the
     * lockout, which stops guessing, does not hold them; the deny rules still do. So strangers
     * guessing the password cannot lock the owner's passkey out.
     */
    proven?: boolean;
  }): Promise<Verdict> {
    const userId = input.userId ?? null;
    if (await this.#rules.isDenied(input.info.ip)) {
      await this.#record("sign_in_blocked", userId, null, "ip_denied", input.info);
      return refuse(403, "ip_denied");
    }
    if (this.#lockout && input.proven !== true) {
      const wait = await this.#lockout.retryAfter(
        normalizeAccountKey(input.accountKey),
        await this.#attemptSource(userId, input.info),
        this.#now(),
      );
      if (wait !== null) {
        await this.#record("locked_out", userId, null, null, input.info);
        return refuse(429, "locked_out", wait);
      }
    }
    return { ok: true };
  }

  /**
   * Run when the e-mail is unknown or the password wrong: the same counting, event and answer
   * (401 `invalid_credentials`) either way, so the answer does not tell which it was.
   */
  async recordFailure(input: {
    accountKey: unknown;
    userId?: string | null;
    info: RequestInfo;
  }): Promise<Refusal> {
    const userId = input.userId ?? null;
    const now = this.#now();
    const counted = this.#lockout
      ? await this.#lockout.recordFailure(
          normalizeAccountKey(input.accountKey),
          await this.#attemptSource(userId, input.info),
          now,
        )
      : null;
    await this.#record("sign_in_failed", userId, null, "invalid_credentials", input.info);
    if (counted?.accountLockStarted && userId !== null)
      this.#notices.lockoutStarted(userId, { ...counted, now });
    return refuse(401, "invalid_credentials");
  }

  // ---- re-authentication of a signed-in user ------------------------------------------------

  /**
   * Run before checking a signed-in user's current password (a password change, a sensitive
   * action): a locked-out account or IP gets 429 `locked_out` with `retryAfter`, as at sign-in.
   * No active session: 401 `unauthenticated`.
   */
  async checkBeforeReauth(
    rs: RequestSession<object>,
    input: { accountKey: unknown },
  ): Promise<Verdict> {
    const record = rs.record;
    if (record?.status !== "active") return refuse(401, "unauthenticated");
    return this.checkBeforeCredentials({
      accountKey: input.accountKey,
      userId: record.userId,
      info: rs.info,
    });
  }

  /**
   * Run when a signed-in user's current password was wrong: counted with the account's sign-in
   * failures (the lockout), recorded (`sign_in_failed`, reason `wrong_current_password`), and after
   * {@link REAUTH_MAX_FAILURES} on one session the session ends (`locked_out`, reason
   * `password_guessing`) and its cookie is cleared: 401 `unauthenticated`. Before that, 403
   * `invalid_current_password`.
   */
  async recordReauthFailure(
    rs: RequestSession<object>,
    input: {
      accountKey: unknown;
      reason?: "wrong_current_password" | "wrong_reauth_code" | "failed_passkey";
    },
  ): Promise<Refusal> {
    const record = rs.record;
    if (record?.status !== "active") return refuse(401, "unauthenticated");
    const info = rs.info;
    const now = this.#now();
    // A signed-in session guessing the current password may be a stolen cookie: counted on its
    // device's key (which holds its re-authentication) and account-wide (which holds other devices).
    const counted = this.#lockout
      ? await this.#lockout.recordFailure(
          normalizeAccountKey(input.accountKey),
          await this.#attemptSource(record.userId, info),
          now,
          { alsoAccountWide: true },
        )
      : null;
    const reason = input.reason ?? "wrong_current_password";
    await this.#record("sign_in_failed", record.userId, record.id, reason, info);
    if (counted?.accountLockStarted)
      this.#notices.lockoutStarted(record.userId, { ...counted, now });
    const state = await this.#o.store.increment(`reauth:s:${record.id}`, {
      now,
      windowMs: REAUTH_WINDOW_MS,
    });
    if (state.count >= REAUTH_MAX_FAILURES) {
      await this.#end(record, "locked_out", "password_guessing", info);
      await rs.signOut();
      return refuse(401, "unauthenticated");
    }
    return refuse(403, "invalid_current_password");
  }

  /**
   * Mails a re-authentication code to `email` for the request's active session (the code works
   * once, within `codeTtl`, on this session only). Mails count with the account's verification
   * mails: over the hour's limit 429 `too_many_attempts` with `retryAfter`; mail down 503
   * `mail_unavailable`. No active session: 401 `unauthenticated`.
   */
  async sendReauthCode(rs: RequestSession, input: { email: string }): Promise<Verdict> {
    const record = rs.record;
    if (record?.status !== "active") return refuse(401, "unauthenticated");
    checkEmail(input.email);
    const wait =
      (await this.#codeGuessWait(record.userId)) ?? (await this.#countMail(record.userId));
    if (wait !== null) return refuse(429, "too_many_attempts", wait);
    const { id, sent } = await this.#mail.issueReauthCode(record, input.email);
    if (!sent) {
      await this.#o.store.spendVerification(id, this.#now());
      return refuse(503, "mail_unavailable");
    }
    await this.#record("verification_sent", record.userId, record.id, "reauth", rs.info);
    return { ok: true };
  }

  /**
   * Checks a re-authentication code typed on the session it was mailed for. Right: spent (single
   * use) and the proof recorded (`email_code`), with a new token: `{ok: true}`. Wrong: counted as
   * {@link recordReauthFailure} counts a wrong password (the fifth ends the session), 403
   * `invalid_code`; none open or expired: 400 `verification_expired`. Locked out: 429.
   */
  async verifyReauthCode(
    rs: RequestSession,
    code: unknown,
    input: { accountKey: unknown },
  ): Promise<Verdict> {
    const verdict = await this.checkBeforeReauth(rs, input);
    if (!verdict.ok) return verdict;
    const record = rs.record as SessionRecord;
    const now = this.#now();
    const open = await this.#o.store.findOpenVerification(record.id, "reauth");
    if (!open || now >= open.expiresAt) {
      if (open) await this.#o.store.spendVerification(open.id, now);
      return refuse(400, "verification_expired");
    }
    const typed = normalizeCode(code, this.#o.codeLength);
    if (typed === null || !matchesHash(typed, open.codeHash)) {
      await this.#o.store.addVerificationAttempt(open.id);
      const refusal = await this.recordReauthFailure(rs, { ...input, reason: "wrong_reauth_code" });
      return refusal.error === "invalid_current_password" ? refuse(403, "invalid_code") : refusal;
    }
    // Spent first: of two requests with the right code, one records the proof.
    if (!(await this.#o.store.spendVerification(open.id, now)))
      return refuse(400, "verification_expired");
    if (!(await rs.reauthenticate({ factor: "email_code" }))) return refuse(401, "unauthenticated");
    return { ok: true };
  }

  // ---- once the password was right ----------------------------------------------------------

  /**
   * Signs the user in after a correct password. Returns an active session, or (policy and a new
   * device or IP) a pending one whose cookie can only verify, with the code and links mailed to
   * `email`. Clears the account's failure count. May refuse: 403 `session_limit`, 503
   * `mail_unavailable`, and (when it would hold) 429 `too_many_attempts` with `retryAfter` once the
   * account had its verification mails for the hour or too many wrong codes. `rememberMe` and
   * `data` go to the session as `RequestSession.signIn` takes them, and a held session keeps them
   * when it is approved.
   */
  async completeSignIn<Data extends object>(
    rs: RequestSession<Data>,
    userId: string,
    input: {
      email: string;
      accountKey?: string;
      rememberMe?: boolean;
      data?: Data | null;
      /**
       * How the user proved it: `"password"` (default) or `"passkey"`. A passkey (user verified,
       * bound to the site's origin) is a stronger proof than a mailed code, so a passkey sign-in
       * is never held for new-device verification; alerts, the allow list and the cap still apply.
       */
      factor?: "password" | "passkey";
    },
  ): Promise<SignInResult> {
    checkEmail(input.email);
    const factor = input.factor ?? "password";
    if (factor !== "password" && factor !== "passkey")
      throw new TypeError('input.factor must be "password" or "passkey"');
    // Data the session could not take is refused before anything is counted, cleared or mailed.
    this.#o.keeper.checkData(input.data);
    const info = rs.info;
    // The allow list answers only now, after the right password (see checkBeforeCredentials).
    const blocked = await this.#rules.check(info.ip, userId);
    if (blocked) {
      await this.#record("sign_in_blocked", userId, null, blocked, info);
      return refuse(403, blocked);
    }
    if (await this.#cap.refuses(userId, rs.record?.id ?? null)) {
      await this.#record("sign_in_blocked", userId, null, "session_limit", info);
      return refuse(403, "session_limit");
    }
    if (this.#lockout)
      await this.#lockout.recordSuccess(
        normalizeAccountKey(input.accountKey ?? input.email),
        (await this.#attemptSource(userId, info)).knownDevice,
      );
    const seen = await this.#assess(userId, info);
    const policy = this.#o.verification;
    const hold =
      factor === "passkey"
        ? false
        : policy === "new-device"
          ? seen.newDevice
          : policy === "new-ip"
            ? seen.newIp
            : false;
    if (hold) {
      // Each held sign-in mails a fresh code: bounded per account, or signing in again would
      // give an attacker who has the password fresh guesses (and the owner a flood of mail).
      const wait = (await this.#codeGuessWait(userId)) ?? (await this.#countMail(userId));
      if (wait !== null) {
        await this.#record("sign_in_blocked", userId, null, "too_many_verifications", info);
        return refuse(429, "too_many_attempts", wait);
      }
    }
    await rs.signIn(userId, {
      factor,
      ...(hold ? { status: "pending" as const } : {}),
      ...(input.rememberMe !== undefined ? { rememberMe: input.rememberMe } : {}),
      ...(input.data !== undefined ? { data: input.data } : {}),
    });
    const record = rs.record as SessionRecord;
    if (seen.travel)
      await this.#record("sign_in_flagged", userId, record.id, "impossible_travel", info);
    if (hold) {
      const reason = seen.travel
        ? "impossible_travel"
        : policy === "new-ip"
          ? "new_ip"
          : "new_device";
      return this.#holdForVerification(rs, record, input.email, reason);
    }
    await this.#cap.makeRoom(userId, record.id, info);
    await this.#remember(record);
    const alerts = this.#o.alerts;
    if (alerts === "every" || (alerts === "new-device" && seen.newDevice))
      await this.#alert(record, input.email, seen.newDevice, info);
    return { ok: true, status: "active", session: rs.session as NonNullable<typeof rs.session> };
  }

  /**
   * Signs a brand-new account in on the device that created it, and remembers that device and
   * IP as known: no code and no alert for what just signed up.
   */
  async completeSignUp(rs: RequestSession<object>, userId: string): Promise<SignInResult> {
    const session = await rs.signIn(userId);
    await this.#remember(rs.record as SessionRecord);
    return { ok: true, status: "active", session };
  }

  /**
   * Checks the code typed on the pending device. Right: the session becomes active with a new
   * token (the pending cookie dies) and the device is known. Wrong: 400 `invalid_code`; after
   * `maxCodeAttempts` the pending session is `locked_out` (403 `locked_out`). Once the account had
   * 2 × `maxCodeAttempts` wrong codes within the hour, over all its pending sessions, 429
   * `too_many_attempts` with `retryAfter` (and the code is not checked). Expired: 400
   * `verification_expired`. No pending session: 401 `unauthenticated`. When this request's
   * pending session was already settled (an approval picked up by {@link finishApprovedSignIn}
   * in a middleware, or found expired), the same answer as then: one answer per state, matching
   * the cookie already set.
   */
  async verifyCode(rs: RequestSession<object>, code: unknown): Promise<SignInResult> {
    const decided = this.#decided.get(rs);
    if (decided) return decided;
    const found = await this.#openVerification(rs);
    if (!found.ok) return found;
    const { record, verification } = found;
    const info = rs.info;
    // Approved by link already: the mailbox owner has spoken, the code is no longer needed.
    if (verification.approvedAt !== null) return this.#pickUp(rs, record, verification);
    // Too many wrong codes for the account (over all its pending sessions): not even checked.
    const wait = await this.#codeGuessWait(record.userId);
    if (wait !== null) {
      await this.#record(
        "verification_failed",
        record.userId,
        record.id,
        "too_many_attempts",
        info,
      );
      return refuse(429, "too_many_attempts", wait);
    }
    const typed = normalizeCode(code, this.#o.codeLength);
    if (typed !== null && matchesHash(typed, verification.codeHash)) {
      if (!(await this.#o.store.spendVerification(verification.id, this.#now())))
        return refuse(400, "invalid_code");
      return this.#activate(rs, record, "code");
    }
    const attempts = await this.#o.store.addVerificationAttempt(verification.id);
    await this.#record("verification_failed", record.userId, record.id, "invalid_code", info);
    const now = this.#now();
    const account = await this.#o.store.increment(wrongCodesKey(record.userId), {
      now,
      windowMs: VERIFICATION_WINDOW_MS,
    });
    if (account.count >= this.#maxWrongCodes) {
      await this.#o.store.spendVerification(verification.id, now);
      await this.#end(record, "locked_out", "verification_failed", info);
      await rs.signOut();
      return refuse(429, "too_many_attempts", secondsUntil(account.resetAt, now));
    }
    if (attempts !== null && attempts >= this.#o.maxCodeAttempts) {
      await this.#o.store.spendVerification(verification.id, this.#now());
      await this.#end(record, "locked_out", "verification_failed", info);
      await rs.signOut();
      return refuse(403, "locked_out");
    }
    return refuse(400, "invalid_code");
  }

  /**
   * For the pending device after the user approved by link: activates (new token) once the
   * approval is there, else answers `verification_required` again. Poll it or call on a button.
   */
  async finishApprovedSignIn(rs: RequestSession<object>): Promise<SignInResult> {
    const decided = this.#decided.get(rs);
    if (decided) return decided;
    const found = await this.#openVerification(rs);
    if (!found.ok) return found;
    if (found.verification.approvedAt === null) {
      return {
        ok: true,
        status: "verification_required",
        session: rs.pendingSession as NonNullable<typeof rs.pendingSession>,
      };
    }
    return this.#pickUp(rs, found.record, found.verification);
  }

  /**
   * The approve link's POST: marks the verification approved (once). The pending device then
   * continues through {@link finishApprovedSignIn} or {@link verifyCode}, which rotate its token.
   */
  async approveByLink(token: unknown, info: RequestInfo): Promise<LinkResult> {
    const found = await this.#mail.findLink("approve", token);
    if (!found || !(await this.#o.store.approveVerification(found.verification.id, this.#now())))
      return refuse(400, "invalid_link");
    const { record } = found;
    await this.#record("verification_approved", record.userId, record.id, "link", info);
    return { ok: true, action: "approved", userId: record.userId, sessionId: record.id };
  }

  /**
   * The "this wasn't me" link's POST (verification or alert mail): ends that session as
   * `locked_out` with reason `not_me` and records it. Works once.
   */
  async denyByLink(token: unknown, info: RequestInfo): Promise<LinkResult> {
    const found = await this.#mail.findLink("not-me", token);
    if (!found || !(await this.#o.store.spendVerification(found.verification.id, this.#now())))
      return refuse(400, "invalid_link");
    const { record } = found;
    // The history shows the sign-in that was refused, not the device that clicked the link (the
    // owner's phone): its device, IP and place describe what was ended. The actor is the user.
    const refused: RequestInfo = {
      cookieHeader: null,
      ip: record.ip,
      userAgent: record.userAgent,
      secure: info.secure,
    };
    await this.#end(record, "locked_out", "not_me", refused);
    return { ok: true, action: "denied", userId: record.userId, sessionId: record.id };
  }

  // ---- approval from a signed-in device ----------------------------------------------------

  /**
   * The user's pending sign-ins that a signed-in device may still approve: held for new-device
   * verification, with an open confirmation that is neither expired nor approved yet. Oldest first.
   */
  async pendingSignIns(userId: string): Promise<Session[]> {
    const now = this.#now();
    const pending = await this.#o.keeper.listSessions(userId, { status: "pending" });
    const open = await Promise.all(
      pending.map(async (s) => {
        const v = await this.#o.store.findOpenVerification(s.id);
        return v !== null && v.approvedAt === null && now < v.expiresAt;
      }),
    );
    return pending
      .filter((_, i) => open[i])
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /**
   * Another signed-in device of the same user approves a pending sign-in: the same approval as
   * the emailed link's, recorded (`verification_approved`, reason `device`) with the approving
   * session as the actor and its request as the device. The waiting browser then activates it
   * (new token) through {@link finishApprovedSignIn} or {@link verifyCode}. Another user's,
   * unknown, ended or already approved sign-in: 404 `not_found`, nothing changed. The caller checks
   * the recent authentication first (the account API and pages do).
   */
  async approveSignIn(rs: RequestSession<object>, sessionId: unknown): Promise<Verdict> {
    const approver = rs.record;
    if (approver?.status !== "active") return refuse(401, "unauthenticated");
    const found = await this.#pendingOf(approver.userId, sessionId);
    const v = found?.verification;
    if (!found || !v || v.approvedAt !== null || this.#now() >= v.expiresAt)
      return refuse(404, "not_found");
    if (!(await this.#o.store.approveVerification(v.id, this.#now())))
      return refuse(404, "not_found");
    await this.#o.keeper.recordActivity(
      {
        type: "verification_approved",
        userId: approver.userId,
        sessionId: found.record.id,
        reason: "device",
      },
      { info: rs.info, by: { kind: "session", sessionId: approver.id } },
    );
    return { ok: true };
  }

  /**
   * "This wasn't me" from another signed-in device: the pending sign-in ends as `locked_out`
   * (reason `not_me`, the owner is mailed as for the link), its confirmation is spent, and the
   * history records the approving session as the actor and its request as the device. 404
   * `not_found` for anything but the user's own pending sign-in.
   */
  async denySignIn(rs: RequestSession<object>, sessionId: unknown): Promise<Verdict> {
    const approver = rs.record;
    if (approver?.status !== "active") return refuse(401, "unauthenticated");
    const found = await this.#pendingOf(approver.userId, sessionId);
    if (!found) return refuse(404, "not_found");
    if (found.verification)
      await this.#o.store.spendVerification(found.verification.id, this.#now());
    const ended = await this.#o.keeper.endSession(found.record.id, {
      status: "locked_out",
      reason: "not_me",
      userId: approver.userId,
      info: rs.info,
      by: { kind: "session", sessionId: approver.id },
    });
    return ended ? { ok: true } : refuse(404, "not_found");
  }

  /**
   * True when the pending sign-in `sessionId` was approved (emailed link, another device) and
   * waits to be picked up: the live channel asks it (`approvals`) for the pages it streams to.
   */
  async isSignInApproved(sessionId: string): Promise<boolean> {
    const v = await this.#o.store.findOpenVerification(sessionId);
    return v !== null && v.approvedAt !== null && this.#now() < v.approvedAt + this.#o.codeTtl;
  }

  /** The user's own pending session by id (read from the database) and its open confirmation. */
  async #pendingOf(
    userId: string,
    sessionId: unknown,
  ): Promise<{ record: SessionSnapshot; verification: VerificationRecord | null } | null> {
    if (typeof sessionId !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(sessionId)) return null;
    const record = await this.#o.keeper.getSession(sessionId);
    if (!record || record.userId !== userId || record.status !== "pending") return null;
    return { record, verification: await this.#o.store.findOpenVerification(record.id) };
  }

  /**
   * What a mail link's GET shows (draw it with `renderLinkPage`): the sign-in's details and the
   * form that POSTs the token back. Reads only: prefetching mail scanners change nothing.
   */
  async inspectLink(kind: LinkKind, token: unknown): Promise<LinkView> {
    const found = await this.#mail.findLink(kind, token);
    return {
      kind,
      appName: this.#o.appName,
      action: this.#mail.formAction(kind),
      token: found ? (token as string) : "",
      details: found ? signInDetails(found.record) : null,
    };
  }

  // ---- IP rules -----------------------------------------------------------------------------

  /** Denies an address or CIDR range everywhere; live sessions from it end on their next request. */
  addGlobalDeny(cidr: unknown, options: { note?: unknown } = {}): Promise<RuleResult> {
    return this.#announce(this.#rules.add("global", null, cidr, options.note));
  }

  listGlobalDeny(): Promise<IpRule[]> {
    return this.#rules.list("global", null);
  }

  /** False when there is no such global rule. */
  removeGlobalDeny(id: unknown): Promise<boolean> {
    return this.#announce(this.#rules.remove("global", null, id));
  }

  /**
   * Adds to the account's allow list: once it has one, sign-in from other IPs gets 403
   * `ip_not_allowed`. A new rule is a security change: recorded as `ip_allow_added` (the range as
   * its reason) from `options.from` (the request session that made it, for the history's device)
   * and mailed to the owner, since a thief who sets the list shuts the owner out.
   */
  async addAccountAllow(
    userId: string,
    cidr: unknown,
    options: { note?: unknown; from?: AllowListChanger } = {},
  ): Promise<RuleResult> {
    const id = requireUserId(userId);
    const result = await this.#announce(this.#rules.add("account", id, cidr, options.note));
    if (result.ok && result.added)
      await this.#allowListChanged("ip_allow_added", id, result.rule.cidr, options.from);
    return result;
  }

  listAccountAllow(userId: string): Promise<IpRule[]> {
    return this.#rules.list("account", requireUserId(userId));
  }

  /**
   * False when the rule does not exist or belongs to another account. A removal is recorded as
   * `ip_allow_removed` and mailed, like an addition.
   */
  async removeAccountAllow(
    userId: string,
    id: unknown,
    options: { from?: AllowListChanger } = {},
  ): Promise<boolean> {
    const owner = requireUserId(userId);
    const rule = (await this.#rules.list("account", owner)).find((r) => r.id === id);
    const removed = await this.#announce(this.#rules.remove("account", owner, id));
    if (removed && rule)
      await this.#allowListChanged("ip_allow_removed", owner, rule.cidr, options.from);
    return removed;
  }

  async #allowListChanged(
    type: "ip_allow_added" | "ip_allow_removed",
    userId: string,
    cidr: string,
    from: AllowListChanger | undefined,
  ): Promise<void> {
    const sessionId = from?.record?.userId === userId ? from.record.id : null;
    // The keeper's event reaches the owner's security mail through the subscription.
    await this.#o.keeper.recordActivity(
      { type, userId, sessionId, reason: cidr },
      { info: from?.info ?? null },
    );
  }

  /** What the rules say about an IP (and account): e.g. warn before an allow list shuts the user out. */
  checkIp(ip: string, userId: string | null = null): Promise<IpRefusal | null> {
    return this.#rules.check(ip, userId);
  }

  /** Publishes a rule change to the other instances once it is stored; a failed publish only delays them. */
  async #announce<T>(change: Promise<T>): Promise<T> {
    const result = await change;
    await this.#o.broadcast?.publish(RULES_TOPIC, null).catch(() => false);
    return result;
  }

  /** Re-reads the rules now (another instance changed them). */
  async refreshRules(): Promise<void> {
    await this.#rules.reload();
  }

  /** Deletes ended counter windows and confirmations expired over a day ago. */
  prune(): Promise<{ counters: number; verifications: number }> {
    const now = this.#now();
    return this.#o.store.pruneProtection({ now, verificationsBefore: now - 86_400_000 });
  }

  // ---- internals ----------------------------------------------------------------------------

  #now(): number {
    return this.#o.keeper.now();
  }

  async #record(
    type: ActivityType,
    userId: string | null,
    sessionId: string | null,
    reason: string | null,
    info: RequestInfo | null,
  ): Promise<void> {
    await this.#o.keeper.recordActivity({ type, userId, sessionId, reason }, { info, by: SYSTEM });
  }

  /**
   * Where an attempt comes from, for the lockout: the request's IP, and its device id when that
   * device is a known device of `userId` (a completed sign-in). Unknown accounts have none.
   */
  async #attemptSource(userId: string | null, info: RequestInfo): Promise<AttemptSource> {
    const deviceId = userId !== null ? this.#o.keeper.deviceIdOf(info) : null;
    const known =
      userId !== null && deviceId !== null && (await this.#o.store.isKnownDevice(userId, deviceId));
    return { ip: info.ip, knownDevice: known ? deviceId : null };
  }

  async #assess(userId: string, info: RequestInfo): Promise<Assessment> {
    const { store, keeper } = this.#o;
    const deviceId = keeper.deviceIdOf(info);
    const [deviceKnown, ipKnown] = await Promise.all([
      deviceId !== null ? store.isKnownDevice(userId, deviceId) : false,
      store.isKnownIp(userId, info.ip),
    ]);
    const travel = await this.#travel(userId, info.ip);
    return {
      newDevice: !deviceKnown || travel !== null,
      newIp: !ipKnown || travel !== null,
      travel,
    };
  }

  async #travel(userId: string, ip: string): Promise<{ km: number; kmh: number } | null> {
    const limits = this.#o.impossibleTravel;
    if (!limits) return null;
    const [previous, here] = await Promise.all([
      this.#o.store.previousSignIn(userId),
      this.#o.keeper.locate(ip),
    ]);
    if (!previous || previous.latitude === null || previous.longitude === null) return null;
    if (typeof here?.latitude !== "number" || typeof here.longitude !== "number") return null;
    return impossibleTravel(
      { latitude: previous.latitude, longitude: previous.longitude, at: previous.at },
      { latitude: here.latitude, longitude: here.longitude, at: this.#now() },
      limits,
    );
  }

  /** Remembers a completed sign-in: device and IP become known, with where the IP was. */
  async #remember(record: SessionRecord): Promise<void> {
    const place = this.#o.impossibleTravel ? await this.#o.keeper.locate(record.ip) : null;
    await this.#o.store.rememberSignIn(record.userId, {
      deviceId: record.deviceId,
      ip: record.ip,
      at: this.#now(),
      latitude: typeof place?.latitude === "number" ? place.latitude : null,
      longitude: typeof place?.longitude === "number" ? place.longitude : null,
    });
  }

  /** Mails the verification for a pending session; without mail there is no way in, so it ends. */
  async #holdForVerification(
    rs: RequestSession<object>,
    record: SessionRecord,
    email: string,
    reason: string,
  ): Promise<SignInResult> {
    const { id, sent } = await this.#mail.issueVerification(record, email);
    if (!sent) {
      await this.#o.store.spendVerification(id, this.#now());
      await this.#end(record, "revoked", "mail_failed", rs.info);
      await rs.signOut();
      return refuse(503, "mail_unavailable");
    }
    await this.#record("verification_sent", record.userId, record.id, reason, rs.info);
    return {
      ok: true,
      status: "verification_required",
      session: rs.pendingSession as NonNullable<typeof rs.pendingSession>,
    };
  }

  /** Mails a sign-in alert; a failure is recorded but never undoes a sign-in that was right. */
  async #alert(
    record: SessionRecord,
    email: string,
    newDevice: boolean,
    info: RequestInfo,
  ): Promise<void> {
    const sent = await this.#mail.issueAlert(record, email, newDevice);
    if (sent)
      await this.#record(
        "alert_sent",
        record.userId,
        record.id,
        newDevice ? "new_device" : null,
        info,
      );
    else await this.#record("alert_failed", record.userId, record.id, "mail_failed", info);
  }

  /** Ends a session on the guard's decision (the system acts; the request is the one refused). */
  #end(
    record: SessionSnapshot,
    status: Exclude<SessionStatus, "active" | "pending">,
    reason: string,
    info: RequestInfo | null,
  ): Promise<boolean> {
    const by: Actor = reason === "not_me" ? { kind: "user" } : SYSTEM;
    return this.#o.keeper.endSession(record.id, {
      status,
      reason,
      userId: record.userId,
      info,
      by,
    });
  }

  /** The pending session of the request and its open verification, or why there is none. */
  async #openVerification(
    rs: RequestSession<object>,
  ): Promise<
    | { ok: true; record: SessionRecord; verification: VerificationRecord }
    | (SignInResult & { ok: false })
  > {
    const record = rs.record;
    if (record?.status !== "pending") return refuse(401, "unauthenticated");
    const verification = await this.#o.store.findOpenVerification(record.id);
    const now = this.#now();
    // An approval must be picked up within one more code lifetime; an open code within its own.
    const deadline =
      verification?.approvedAt != null
        ? verification.approvedAt + this.#o.codeTtl
        : (verification?.expiresAt ?? 0);
    if (!verification || now >= deadline) {
      if (verification) await this.#o.store.spendVerification(verification.id, now);
      await this.#end(record, "expired", "verification_expired", rs.info);
      await rs.signOut();
      return this.#decide(rs, refuse(400, "verification_expired"));
    }
    return { ok: true, record, verification };
  }

  async #pickUp(
    rs: RequestSession<object>,
    record: SessionRecord,
    verification: VerificationRecord,
  ): Promise<SignInResult> {
    if (!(await this.#o.store.spendVerification(verification.id, this.#now())))
      return refuse(400, "invalid_code");
    return this.#activate(rs, record, "link");
  }

  /** Wrong codes per account per window before its verification is refused. */
  get #maxWrongCodes(): number {
    return 2 * this.#o.maxCodeAttempts;
  }

  /** Seconds until the account may try codes again, or null when it may now. */
  async #codeGuessWait(userId: string): Promise<number | null> {
    const now = this.#now();
    const state = await this.#o.store.read(wrongCodesKey(userId), now);
    return state && state.count >= this.#maxWrongCodes ? secondsUntil(state.resetAt, now) : null;
  }

  /** Counts one verification mail for the account: null when it may be sent, else seconds to wait. */
  async #countMail(userId: string): Promise<number | null> {
    const now = this.#now();
    const state = await this.#o.store.increment(mailsKey(userId), {
      now,
      windowMs: VERIFICATION_WINDOW_MS,
    });
    return state.count > VERIFICATION_MAILS ? secondsUntil(state.resetAt, now) : null;
  }

  #decide<T extends SignInResult>(rs: RequestSession<object>, result: T): T {
    this.#decided.set(rs, result);
    return result;
  }

  /** Pending → active with a new token, within the session cap; the device and IP become known. */
  async #activate(
    rs: RequestSession<object>,
    record: SessionRecord,
    method: "code" | "link",
  ): Promise<SignInResult> {
    if (await this.#cap.refuses(record.userId, record.id)) {
      await this.#end(record, "revoked", "session_limit", rs.info);
      await rs.signOut();
      return this.#decide(rs, refuse(403, "session_limit"));
    }
    const session = await rs.activate({ method });
    if (!session) return refuse(401, "unauthenticated");
    await this.#cap.makeRoom(record.userId, record.id, rs.info);
    await this.#remember(record);
    return this.#decide(rs, { ok: true, status: "active", session });
  }
}

function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

function checkEmail(email: unknown): void {
  if (
    typeof email !== "string" ||
    email.length === 0 ||
    email.length > 254 ||
    /[\r\n]/.test(email)
  ) {
    throw new TypeError(
      "completeSignIn needs { email }: the address the confirmation and alerts go to",
    );
  }
}

function requireUserId(userId: unknown): string {
  if (typeof userId !== "string" || userId.length === 0 || userId.length > 255) {
    throw new TypeError("userId must be a non-empty string of at most 255 characters");
  }
  return userId;
}
