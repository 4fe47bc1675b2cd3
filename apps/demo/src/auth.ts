import type { Guard, Refusal, RequestSession } from "sessionkeeper";
import type { Passkeys } from "sessionkeeper/passkeys";
import { burnPasswordCheck, hashPassword, verifyPassword } from "./passwords.js";
import type { SignUpAttempts } from "./signup-attempts.js";
import { EmailTakenError, normalizeEmail, type User, type UserStore } from "./users.js";

/** Outcomes of a sign-in attempt, shared by the JSON API and the HTML form. */
export type SignInOutcome =
  | { kind: "signed_in"; user: User }
  | { kind: "verification_required"; user: User }
  | { kind: "error"; status: number; error: string; retryAfter?: number };

export const PASSWORD_MIN = 8;
// Bounded: scrypt over a megabyte-long "password" is a denial of service.
export const PASSWORD_MAX = 256;

export function validPassword(value: unknown): value is string {
  return typeof value === "string" && value.length >= PASSWORD_MIN && value.length <= PASSWORD_MAX;
}

function refused(refusal: Refusal): SignInOutcome {
  return {
    kind: "error",
    status: refusal.httpStatus,
    error: refusal.error,
    ...(refusal.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
  };
}

/**
 * Signs in with e-mail and password, through the guard: IP rules and lockout before the password
 * is checked, new-device verification and alerts after. Unknown e-mail and wrong password answer
 * (and count) identically, and take as long: an unknown account still costs one scrypt.
 * `rememberMe`: absent or true, a lasting cookie; false, one that ends when the browser closes;
 * anything else is 400 `invalid_remember_me`, before anything is checked or counted.
 */
export async function signInWithPassword(
  users: UserStore,
  ctx: RequestSession,
  body: { email?: unknown; password?: unknown; rememberMe?: unknown },
  guard: Guard,
): Promise<SignInOutcome> {
  const rememberMe = body.rememberMe === undefined ? true : body.rememberMe;
  if (typeof rememberMe !== "boolean")
    return { kind: "error", status: 400, error: "invalid_remember_me" };
  const email = normalizeEmail(body.email);
  const accountKey =
    email ?? (typeof body.email === "string" ? body.email.trim().toLowerCase().slice(0, 254) : "");
  const password = typeof body.password === "string" ? body.password : "";
  const user = email ? await users.findByEmail(email) : null;
  const verdict = await guard.checkBeforeCredentials({
    accountKey,
    userId: user?.id ?? null,
    info: ctx.info,
  });
  if (!verdict.ok) return refused(verdict);
  const ok =
    user && password.length > 0 && password.length <= PASSWORD_MAX
      ? await verifyPassword(password, user.passwordHash)
      : await burnPasswordCheck(password.slice(0, PASSWORD_MAX));
  if (!ok || !user)
    return refused(
      await guard.recordFailure({ accountKey, userId: user?.id ?? null, info: ctx.info }),
    );
  const plain: User = { id: user.id, email: user.email, createdAt: user.createdAt };
  const result = await guard.completeSignIn(ctx, user.id, {
    email: user.email,
    accountKey,
    rememberMe,
  });
  if (!result.ok) return refused(result);
  return { kind: result.status === "active" ? "signed_in" : "verification_required", user: plain };
}

/**
 * Creates an account and signs it in. An address that already has an account answers 409
 * `email_taken` (a new address signs in at once, so the answers must differ), but that answer is
 * counted per client IP and the owner is mailed (see {@link SignUpAttempts}): an IP over the limit
 * gets 429 `too_many_attempts` for every sign-up, whatever the address. Either way the password is
 * hashed first, so a taken address costs one scrypt, like a failed sign-in.
 */
export async function signUp(
  users: UserStore,
  ctx: RequestSession,
  body: { email?: unknown; password?: unknown },
  guard: Guard,
  attempts: SignUpAttempts,
): Promise<
  | { kind: "signed_up"; user: User }
  | { kind: "error"; status: number; error: string; retryAfter?: number }
> {
  const tooMany = (retryAfter: number) =>
    ({ kind: "error", status: 429, error: "too_many_attempts", retryAfter }) as const;
  const wait = await attempts.retryAfter(ctx.info.ip);
  if (wait !== null) return tooMany(wait);
  const email = normalizeEmail(body.email);
  if (!email) return { kind: "error", status: 400, error: "invalid_email" };
  if (!validPassword(body.password))
    return { kind: "error", status: 400, error: "invalid_password" };
  const passwordHash = await hashPassword(body.password);
  let user: User;
  try {
    user = await users.create(email, passwordHash);
  } catch (error) {
    if (!(error instanceof EmailTakenError)) throw error;
    const over = await attempts.recordTaken(email, ctx.info);
    if (over !== null) return tooMany(over);
    return { kind: "error", status: 409, error: "email_taken" };
  }
  // The device that created the account is known from the start: no code, no alert for it.
  await guard.completeSignUp(ctx, user.id);
  return { kind: "signed_up", user };
}

/**
 * Re-authentication with an e-mailed code (`POST /api/reauth/code` mailed it): right, the proof
 * is recorded (`email_code`); a wrong code counts like a wrong password (401 `invalid_code`; the
 * fifth ends the session); none open or expired 400 `verification_expired`.
 */
export async function reauthenticateWithCode(
  users: UserStore,
  ctx: RequestSession,
  code: unknown,
  guard: Guard,
): Promise<{ kind: "reauthenticated" } | ReturnType<typeof refusedError>> {
  const user = ctx.session ? await users.findById(ctx.session.userId) : null;
  if (!user) return { kind: "error", status: 401, error: "unauthenticated" };
  const verdict = await guard.verifyReauthCode(ctx, code, { accountKey: user.email });
  if (verdict.ok) return { kind: "reauthenticated" };
  if (verdict.error === "invalid_code")
    return { kind: "error", status: 401, error: "invalid_code" };
  return refusedError(verdict);
}

/**
 * Re-authentication with the password (sudo mode): checked like the current password of a
 * password change (429 while locked out; a wrong one counts with the sign-in failures, 401
 * `invalid_credentials`; the fifth on one session ends it, 401 `unauthenticated`). Right: the
 * proof is recorded and the token rotated.
 */
export async function reauthenticateWithPassword(
  users: UserStore,
  ctx: RequestSession,
  body: { password?: unknown },
  guard: Guard,
): Promise<
  | { kind: "reauthenticated" }
  | { kind: "error"; status: number; error: string; retryAfter?: number }
> {
  const session = ctx.session;
  if (!session) return { kind: "error", status: 401, error: "unauthenticated" };
  const user = await users.findById(session.userId);
  if (!user) return { kind: "error", status: 401, error: "unauthenticated" };
  if (typeof body.password !== "string" || body.password.length === 0)
    return { kind: "error", status: 400, error: "invalid_password" };
  const verdict = await guard.checkBeforeReauth(ctx, { accountKey: user.email });
  if (!verdict.ok) return refusedError(verdict);
  if (!(await verifyPassword(body.password.slice(0, PASSWORD_MAX), user.passwordHash))) {
    const refusal = await guard.recordReauthFailure(ctx, { accountKey: user.email });
    // Answered as a wrong sign-in password is; the session ends at the fifth (401 unauthenticated).
    if (refusal.error === "invalid_current_password")
      return { kind: "error", status: 401, error: "invalid_credentials" };
    return refusedError(refusal);
  }
  if (!(await ctx.reauthenticate({ factor: "password" })))
    return { kind: "error", status: 401, error: "unauthenticated" };
  return { kind: "reauthenticated" };
}

/**
 * Re-authentication with a passkey assertion (`POST /api/reauth/passkey/options` gave the
 * challenge): user verification required; a failed assertion counts like a wrong password (401
 * `invalid_passkey`; the fifth ends the session); no open challenge 400 `challenge_expired`.
 */
export async function reauthenticateWithPasskey(
  users: UserStore,
  ctx: RequestSession,
  assertion: unknown,
  passkeys: Passkeys,
): Promise<{ kind: "reauthenticated" } | ReturnType<typeof refusedError>> {
  const user = ctx.session ? await users.findById(ctx.session.userId) : null;
  if (!user) return { kind: "error", status: 401, error: "unauthenticated" };
  // Failures are counted by the guard the passkeys were made with, like wrong passwords.
  const verdict = await passkeys.reauthenticate(ctx, assertion, { accountKey: user.email });
  if (verdict.ok) return { kind: "reauthenticated" };
  if (verdict.error === "invalid_passkey")
    return { kind: "error", status: 401, error: "invalid_passkey" };
  return refusedError(verdict);
}

function refusedError(r: Refusal) {
  return {
    kind: "error" as const,
    status: r.httpStatus,
    error: r.error,
    ...(r.retryAfter !== undefined ? { retryAfter: r.retryAfter } : {}),
  };
}

/**
 * Changes the password: checks the current one, stores the new hash, rotates this session's token
 * (privilege change) and ends every other session with reason `password_changed`. The check is
 * guarded like a sign-in: a locked-out account gets 429, each wrong guess counts with the sign-in
 * failures and is recorded, and a few wrong guesses end this session (401).
 */
export async function changePassword(
  users: UserStore,
  ctx: RequestSession,
  body: { currentPassword?: unknown; newPassword?: unknown },
  guard: Guard,
): Promise<
  | { kind: "changed"; revoked: number }
  | { kind: "error"; status: number; error: string; retryAfter?: number }
> {
  const session = ctx.session;
  if (!session) return { kind: "error", status: 401, error: "unauthenticated" };
  const user = await users.findById(session.userId);
  if (!user) return { kind: "error", status: 401, error: "unauthenticated" };
  if (!validPassword(body.newPassword))
    return { kind: "error", status: 400, error: "invalid_password" };
  const fail = (r: Refusal) => ({
    kind: "error" as const,
    status: r.httpStatus,
    error: r.error,
    ...(r.retryAfter !== undefined ? { retryAfter: r.retryAfter } : {}),
  });
  const verdict = await guard.checkBeforeReauth(ctx, { accountKey: user.email });
  if (!verdict.ok) return fail(verdict);
  const current =
    typeof body.currentPassword === "string" ? body.currentPassword.slice(0, PASSWORD_MAX) : "";
  if (!(await verifyPassword(current, user.passwordHash)))
    return fail(await guard.recordReauthFailure(ctx, { accountKey: user.email }));
  await users.setPassword(user.id, await hashPassword(body.newPassword));
  // The library's transition: recorded, this token rotated, every other session ended.
  const { revoked } = await ctx.passwordChanged();
  return { kind: "changed", revoked };
}
