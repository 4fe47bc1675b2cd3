// sessionkeeper/passkeys: passkeys (WebAuthn) with user verification required, over
// @simplewebauthn/server (an optional peer dependency: apps without passkeys never load it).
// The keeper stores passkeys and single-use challenges; the guard counts failed assertions.
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { checkDeviceName } from "../device-name.js";
import type { Guard } from "../protection/guard.js";
import { type Refusal, refuse, type SignInResult, type Verdict } from "../protection/results.js";
import {
  type ReauthChallenge,
  type RecentAuthOptions,
  type RecentAuthRule,
  recentAuthRule,
} from "../recent-auth.js";
import type { RequestSession } from "../request-session.js";
import type { SessionKeeper } from "../session-keeper.js";
import type { PasskeyRecord, SessionRecord } from "../types.js";

// EdDSA, ES256, RS256: their public keys fit the 1024-character column (ML-DSA's would not).
const ALGORITHMS = [-8, -7, -257];
const TIMEOUT = 5 * 60_000;
const MAX_PASSKEYS = 20;
// A browser's JSON answer is a few KB; anything far larger is hostile.
const RESPONSE_MAX = 16_384;

export interface PasskeysOptions {
  keeper: SessionKeeper<object>;
  /** Counts failed assertions with the account's failed sign-ins (and ends a guessing session). */
  guard: Guard;
  /** The relying party id: the site's host name (`example.com`), never an IP address. */
  rpID: string;
  /** The site's name, shown by the browser when a passkey is created. */
  rpName: string;
  /** The page origin(s) the browser reports, e.g. `https://example.com`. */
  origin: string | string[];
  /**
   * Adding and removing a passkey need a recent proof (default `{}`: the keeper's window, any
   * factor). `false` turns it off (the app guards those routes itself).
   */
  recentAuth?: RecentAuthOptions | false;
}

/** A passkey as the account pages and the JSON API show it: no key material. */
export interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A refusal for want of a recent proof: answer 401 with `challenge.body` and its header. */
export interface ReauthRefusal {
  ok: false;
  httpStatus: 401;
  error: "reauthentication_required";
  challenge: ReauthChallenge;
}

export type PasskeyResult<T> = ({ ok: true } & T) | Refusal | ReauthRefusal;

/** Passkeys for the sessions of one keeper. Bad options throw a TypeError at start-up. */
export function createPasskeys(options: PasskeysOptions): Passkeys {
  return new Passkeys(options);
}

export class Passkeys {
  readonly #o: PasskeysOptions;
  readonly #rule: RecentAuthRule | null;

  constructor(options: PasskeysOptions) {
    if (typeof options?.rpID !== "string" || !/^[a-z0-9.-]{1,253}$/i.test(options.rpID))
      throw new TypeError("options.rpID must be the site's host name");
    if (typeof options.rpName !== "string" || options.rpName.length === 0)
      throw new TypeError("options.rpName must be a non-empty string");
    const origins = [options.origin].flat();
    if (
      origins.length === 0 ||
      !origins.every((o) => typeof o === "string" && /^https?:\/\/[^/]+$/.test(o))
    )
      throw new TypeError("options.origin must be an origin such as https://example.com");
    if (!options.keeper || !options.guard)
      throw new TypeError("options.keeper and options.guard are required");
    this.#o = options;
    this.#rule = options.recentAuth === false ? null : recentAuthRule(options.recentAuth ?? {});
  }

  /** The session user's passkeys, oldest first. */
  async list(rs: RequestSession<object>): Promise<PasskeyView[]> {
    const record = active(rs);
    if (!record) return [];
    return (await this.#o.keeper.listPasskeys(record.userId)).map(passkeyView);
  }

  /** Whether the session user has a passkey (the re-auth page offers it only then). */
  async has(rs: RequestSession<object>): Promise<boolean> {
    return (await this.list(rs)).length > 0;
  }

  /**
   * Options for `navigator.credentials.create()` (needs a recent proof): a resident key with user
   * verification required, the user's passkeys excluded, a fresh challenge bound to this session.
   */
  async registrationOptions(
    rs: RequestSession<object>,
    input: { userName: string; userDisplayName?: string },
  ): Promise<PasskeyResult<{ options: PublicKeyCredentialCreationOptionsJSON }>> {
    const record = active(rs);
    if (!record) return refuse(401, "unauthenticated");
    const refused = await this.#needsProof(rs);
    if (refused) return refused;
    const existing = await this.#o.keeper.listPasskeys(record.userId);
    if (existing.length >= MAX_PASSKEYS) return refuse(400, "too_many_passkeys");
    const challenge = await this.#o.keeper.issueChallenge(record, "passkey_create");
    const options = await generateRegistrationOptions({
      rpName: this.#o.rpName,
      rpID: this.#o.rpID,
      userName: String(input.userName).slice(0, 254),
      userDisplayName: String(input.userDisplayName ?? input.userName).slice(0, 254),
      userID: new TextEncoder().encode(record.userId),
      challenge: Buffer.from(challenge, "base64url"),
      timeout: TIMEOUT,
      attestationType: "none",
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    return { ok: true, options };
  }

  /**
   * Verifies the browser's answer to {@link registrationOptions} (the challenge is spent, user
   * verification required) and stores the passkey under `name` (`passkey_added`). 400
   * `invalid_passkey` when it does not verify; 400 `invalid_name` for an empty or long name.
   */
  async register(
    rs: RequestSession<object>,
    input: { response: unknown; name: unknown },
  ): Promise<PasskeyResult<{ passkey: PasskeyView }>> {
    const record = active(rs);
    if (!record) return refuse(401, "unauthenticated");
    const refused = await this.#needsProof(rs);
    if (refused) return refused;
    const name = validName(input.name);
    if (name === null) return refuse(400, "invalid_name");
    const response = credentialJSON(input.response) as RegistrationResponseJSON | null;
    const challenge = response ? challengeOf(response) : null;
    if (!response || !challenge) return refuse(400, "invalid_passkey");
    if (!(await this.#o.keeper.spendChallenge(record, "passkey_create", challenge)))
      return refuse(400, "challenge_expired");
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#o.origin,
        expectedRPID: this.#o.rpID,
        requireUserVerification: true,
        supportedAlgorithmIDs: ALGORITHMS,
      });
    } catch {
      return refuse(400, "invalid_passkey");
    }
    if (!verified.verified) return refuse(400, "invalid_passkey");
    const { credential } = verified.registrationInfo;
    const publicKey = Buffer.from(credential.publicKey).toString("base64url");
    if (credential.id.length > 255 || publicKey.length > 1024)
      return refuse(400, "invalid_passkey");
    if (await this.#o.keeper.findPasskey(credential.id)) return refuse(400, "passkey_exists");
    const passkey: PasskeyRecord = {
      id: credential.id,
      userId: record.userId,
      name,
      publicKey,
      counter: credential.counter,
      transports: (credential.transports ?? []).filter((t) => /^[a-z-]{1,16}$/.test(t)).slice(0, 6),
      createdAt: this.#o.keeper.now(),
      lastUsedAt: null,
    };
    await this.#o.keeper.addPasskey(record, rs.info, passkey);
    return { ok: true, passkey: passkeyView(passkey) };
  }

  /** Renames one of the user's passkeys: 404 `not_found` when it is not theirs. */
  async rename(
    rs: RequestSession<object>,
    id: unknown,
    name: unknown,
  ): Promise<PasskeyResult<{ passkey: PasskeyView }>> {
    const record = active(rs);
    if (!record) return refuse(401, "unauthenticated");
    const valid = validName(name);
    if (valid === null) return refuse(400, "invalid_name");
    if (
      typeof id !== "string" ||
      id.length > 255 ||
      !(await this.#o.keeper.renamePasskey(record.userId, id, valid))
    )
      return notFound();
    const passkey = await this.#o.keeper.findPasskey(id);
    return passkey ? { ok: true, passkey: passkeyView(passkey) } : notFound();
  }

  /** Removes one of the user's passkeys (needs a recent proof; `passkey_removed`). 404 otherwise. */
  async remove(rs: RequestSession<object>, id: unknown): Promise<PasskeyResult<object>> {
    const record = active(rs);
    if (!record) return refuse(401, "unauthenticated");
    const refused = await this.#needsProof(rs);
    if (refused) return refused;
    if (typeof id !== "string" || id.length > 255) return notFound();
    const removed = await this.#o.keeper.removePasskey(record, rs.info, id);
    return removed ? { ok: true } : notFound();
  }

  /** Options for `navigator.credentials.get()` to re-authenticate: the user's passkeys, UV required. */
  async authenticationOptions(
    rs: RequestSession<object>,
  ): Promise<PasskeyResult<{ options: PublicKeyCredentialRequestOptionsJSON }>> {
    const record = active(rs);
    if (!record) return refuse(401, "unauthenticated");
    const passkeys = await this.#o.keeper.listPasskeys(record.userId);
    if (passkeys.length === 0) return refuse(400, "no_passkey");
    const challenge = await this.#o.keeper.issueChallenge(record, "passkey_get");
    const options = await generateAuthenticationOptions({
      rpID: this.#o.rpID,
      challenge: Buffer.from(challenge, "base64url"),
      timeout: TIMEOUT,
      userVerification: "required",
      allowCredentials: passkeys.map((p) => ({ id: p.id, transports: p.transports })),
    });
    return { ok: true, options };
  }

  /**
   * Re-authenticates the session with the browser's assertion: the challenge is spent, the passkey
   * must be the user's, the signature valid and the user verified. Right: the proof is recorded
   * (`passkey`) with a new token. Wrong: counted like a wrong password (403 `invalid_passkey`; the
   * fifth ends the session, 401). Locked out: 429. No open challenge: 400 `challenge_expired`.
   */
  async reauthenticate(
    rs: RequestSession<object>,
    response: unknown,
    input: { accountKey: unknown },
  ): Promise<Verdict> {
    const verdict = await this.#o.guard.checkBeforeReauth(rs, input);
    if (!verdict.ok) return verdict;
    const record = rs.record as SessionRecord;
    const assertion = credentialJSON(response) as AuthenticationResponseJSON | null;
    const challenge = assertion ? challengeOf(assertion) : null;
    if (!assertion || !challenge) return this.#failed(rs, input);
    if (!(await this.#o.keeper.spendChallenge(record, "passkey_get", challenge)))
      return refuse(400, "challenge_expired");
    const passkey = await this.#o.keeper.findPasskey(assertion.id);
    if (!passkey || passkey.userId !== record.userId) return this.#failed(rs, input);
    if (!(await this.#verifyAssertion(assertion, challenge, passkey)))
      return this.#failed(rs, input);
    if (!(await rs.reauthenticate({ factor: "passkey" }))) return refuse(401, "unauthenticated");
    return { ok: true };
  }

  /**
   * Options for `navigator.credentials.get()` to sign in with a passkey, before anyone is known:
   * no credentials listed (the browser offers the site's passkeys), user verification required,
   * a fresh challenge bound to this browser by a five-minute cookie set on this response.
   */
  async signInOptions(
    rs: RequestSession<object>,
  ): Promise<{ ok: true; options: PublicKeyCredentialRequestOptionsJSON }> {
    const challenge = await rs.passkeySignInChallenge();
    const options = await generateAuthenticationOptions({
      rpID: this.#o.rpID,
      challenge: Buffer.from(challenge, "base64url"),
      timeout: TIMEOUT,
      userVerification: "required",
      allowCredentials: [],
    });
    return { ok: true, options };
  }

  /**
   * Signs in with a passkey as the first factor. The challenge must be the one this browser was
   * given ({@link signInOptions}; spent here, else 400 `challenge_expired`); the passkey is found
   * by its credential id and must verify (signature, origin, RP id, user verified, its user
   * handle). Then the guard decides as after a right password — global deny rules (403), the
   * allow list, the session cap — except that a passkey is never held for new-device
   * verification, and a lockout (made by password guessers) does not refuse it. A wrong or
   * unknown passkey is a guess: 429 while locked out, else counted like a wrong password (401
   * `invalid_passkey`). `emailOf` gives the user's address (for the lockout's account key and
   * the sign-in alert); a user without one cannot sign in (401).
   */
  async signIn(
    rs: RequestSession<object>,
    response: unknown,
    input: {
      emailOf(userId: string): string | null | undefined | Promise<string | null | undefined>;
      rememberMe?: boolean;
    },
  ): Promise<SignInResult> {
    const guard = this.#o.guard;
    const info = rs.info;
    const assertion = credentialJSON(response) as AuthenticationResponseJSON | null;
    const challenge = assertion ? challengeOf(assertion) : null;
    if (!assertion || !challenge || !(await rs.spendPasskeySignInChallenge(challenge)))
      return refuse(400, "challenge_expired");
    const passkey = await this.#o.keeper.findPasskey(assertion.id);
    const email = passkey ? ((await input.emailOf(passkey.userId)) ?? null) : null;
    const userId = passkey && email ? passkey.userId : null;
    const accountKey = email ?? "";
    // A wrong passkey is a guess: refused while locked out, else counted like a wrong password.
    const wrong = async (): Promise<Refusal> => {
      const before = await guard.checkBeforeCredentials({ accountKey, userId, info });
      if (!before.ok) return before;
      await guard.recordFailure({ accountKey, userId, info });
      return refuse(401, "invalid_passkey");
    };
    if (!passkey || !email || userId === null) return wrong();
    // A discoverable credential names its user: it must be the one the passkey was stored for.
    const handle = assertion.response.userHandle;
    if (handle !== undefined && handle !== Buffer.from(userId).toString("base64url"))
      return wrong();
    if (!(await this.#verifyAssertion(assertion, challenge, passkey))) return wrong();
    // A verified passkey is the owner: deny rules apply, a lockout made by guessers does not.
    const before = await guard.checkBeforeCredentials({ accountKey, userId, info, proven: true });
    if (!before.ok) return before;
    return guard.completeSignIn(rs, userId, {
      email,
      accountKey,
      factor: "passkey",
      ...(input.rememberMe !== undefined ? { rememberMe: input.rememberMe } : {}),
    });
  }

  /**
   * Whether `assertion` is `passkey`'s signature over `challenge` from this site's origin with the
   * user verified; when it is, the authenticator's new counter and the time of use are stored.
   */
  async #verifyAssertion(
    assertion: AuthenticationResponseJSON,
    challenge: string,
    passkey: PasskeyRecord,
  ): Promise<boolean> {
    let newCounter: number;
    try {
      const result = await verifyAuthenticationResponse({
        response: assertion,
        expectedChallenge: challenge,
        expectedOrigin: this.#o.origin,
        expectedRPID: this.#o.rpID,
        credential: {
          id: passkey.id,
          publicKey: Buffer.from(passkey.publicKey, "base64url"),
          counter: passkey.counter,
          transports: passkey.transports as never,
        },
        requireUserVerification: true,
      });
      if (!result.verified || !result.authenticationInfo.userVerified) return false;
      newCounter = result.authenticationInfo.newCounter;
    } catch {
      return false;
    }
    await this.#o.keeper.recordPasskeyUse(passkey.id, newCounter);
    return true;
  }

  async #failed(rs: RequestSession<object>, input: { accountKey: unknown }): Promise<Refusal> {
    const refusal = await this.#o.guard.recordReauthFailure(rs, {
      ...input,
      reason: "failed_passkey",
    });
    return refusal.error === "invalid_current_password" ? refuse(403, "invalid_passkey") : refusal;
  }

  async #needsProof(rs: RequestSession<object>): Promise<ReauthRefusal | null> {
    if (!this.#rule) return null;
    const challenge = await rs.checkRecentAuth(this.#rule);
    if (!challenge) return null;
    return { ok: false, httpStatus: 401, error: "reauthentication_required", challenge };
  }
}

function active(rs: RequestSession<object>): SessionRecord | null {
  const record = rs.record;
  return record?.status === "active" ? record : null;
}

function notFound(): Refusal {
  return { ok: false, httpStatus: 404, error: "not_found" };
}

function passkeyView(p: PasskeyRecord): PasskeyView {
  return {
    id: p.id,
    name: p.name,
    createdAt: new Date(p.createdAt).toISOString(),
    lastUsedAt: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString(),
  };
}

/**
 * A name the user typed, by the device names' rule: trimmed, NFC, 1 to 64 characters, no controls,
 * line separators or direction overrides (the name is shown in pages and in the owner's mail).
 */
function validName(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    return checkDeviceName(value);
  } catch {
    return null;
  }
}

/** The browser's credential JSON, shape-checked and bounded; null for anything else. */
function credentialJSON(
  value: unknown,
): { id: string; response: { clientDataJSON: string } } | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  let size: number;
  try {
    size = JSON.stringify(value).length;
  } catch {
    return null;
  }
  if (size > RESPONSE_MAX) return null;
  const v = value as { id?: unknown; rawId?: unknown; type?: unknown; response?: unknown };
  if (typeof v.id !== "string" || v.id.length === 0 || v.id.length > 255) return null;
  if (typeof v.rawId !== "string" || v.type !== "public-key") return null;
  const r = v.response as { clientDataJSON?: unknown } | null;
  if (typeof r !== "object" || r === null || typeof r.clientDataJSON !== "string") return null;
  return value as { id: string; response: { clientDataJSON: string } };
}

/** The challenge the browser signed, read from clientDataJSON (verified again by the library). */
function challengeOf(response: { response: { clientDataJSON: string } }): string | null {
  try {
    const data = JSON.parse(
      Buffer.from(response.response.clientDataJSON, "base64url").toString("utf8"),
    );
    return typeof data?.challenge === "string" && data.challenge.length <= 128
      ? data.challenge
      : null;
  } catch {
    return null;
  }
}
