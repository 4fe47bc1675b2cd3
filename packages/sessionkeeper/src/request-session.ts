import { checkRecentAuth, type ReauthChallenge, type RecentAuthRule } from "./recent-auth.js";
import type { CookieResult, SessionKeeper, SignInOptions, Validated } from "./session-keeper.js";
import type { AuthFactor, RequestInfo, Session, SessionData, SessionRecord } from "./types.js";

/**
 * The per-request face of sessionkeeper that adapters hand to the app: the current session (or
 * null) and the changes a request can make to its own session, which queue their cookies on the
 * response. Every change is a keeper transition. `Data` is the keeper's session data type.
 */
export class RequestSession<Data extends object = SessionData> {
  readonly #keeper: SessionKeeper<Data>;
  readonly #setCookie: (value: string) => void;
  readonly #setHeader: (name: string, value: string) => void;
  #bindingRefused: boolean;
  // The live record (active or pending) and its validation result, whose public view is built on
  // first read: most requests only ask whether there is a session.
  #record: SessionRecord | null;
  #found: Validated | null;
  #session: Session | null = null;
  // The app's data, parsed on first read: a request that never reads it never parses it.
  #data: Data | null | undefined;

  constructor(
    keeper: SessionKeeper<Data>,
    readonly info: RequestInfo,
    found: Validated | null,
    setCookie: (value: string) => void,
    setHeader: (name: string, value: string) => void = () => {},
    bindingRefused = false,
  ) {
    this.#keeper = keeper;
    this.#setCookie = setCookie;
    this.#setHeader = setHeader;
    this.#bindingRefused = bindingRefused;
    this.#found = found;
    this.#record = found?.record ?? null;
  }

  /** The active session, or null. */
  get session(): Session | null {
    return this.#record?.status === "active" ? this.#view() : null;
  }

  /** The active session's user id, or null: the cheap question most routes ask. */
  get userId(): string | null {
    return this.#record?.status === "active" ? this.#record.userId : null;
  }

  /**
   * The session's device binding (DBSC): `"bound"` (its key's bound cookie came with this
   * request), `"unbound"`, or `"refused"`: a session cookie came without the bound cookie its
   * session needs (a copied cookie, or a browser whose refresh failed), so there is no session.
   * Null without any session.
   */
  get deviceBinding(): "bound" | "unbound" | "refused" | null {
    if (this.#bindingRefused) return "refused";
    const record = this.#record;
    if (record?.status !== "active") return null;
    return record.deviceKey !== null ? "bound" : "unbound";
  }

  /** A `pending` session awaiting new-device verification: it grants nothing else. */
  get pendingSession(): Session | null {
    return this.#record?.status === "pending" ? this.#view() : null;
  }

  /**
   * The active session's data (as given at sign-in or by {@link updateData}), or null. Read from
   * the record the request was validated with: no query. Parsed once per request; changing the
   * object changes nothing stored (call {@link updateData}).
   */
  get data(): Data | null {
    const record = this.#record;
    if (record?.status !== "active") return null;
    if (this.#data === undefined) this.#data = this.#keeper.dataOf(record);
    return this.#data;
  }

  /**
   * Replaces the active session's data (null clears it): written once, and only when it differs
   * from what is stored; every instance sees it on its next request. False when the session ended
   * meanwhile. Throws a TypeError without an active session, and a RangeError (nothing written)
   * when the data's JSON is larger than `dataMaxBytes`.
   */
  async updateData(data: Data | null): Promise<boolean> {
    const record = this.#record;
    if (record?.status !== "active") throw new TypeError("updateData() needs an active session");
    const next = await this.#keeper.updateData(record, data);
    if (!next) return false;
    this.#record = next;
    this.#data = undefined;
    return true;
  }

  /** The client IP (by the trustProxy rules). */
  get ip(): string {
    return this.info.ip;
  }

  /** The stored record of the current session (active or pending), or null. */
  get record(): SessionRecord | null {
    return this.#record;
  }

  /**
   * Signs `userId` in with a brand-new session. A session the browser already held is ended
   * (reason `replaced`) rather than adopted. `rememberMe: false` gives a cookie that lasts until
   * the browser closes; `data` is the session's first data (see {@link SignInOptions}).
   */
  async signIn(
    userId: string,
    options: SignInOptions<Data> & { factor?: AuthFactor } = {},
  ): Promise<Session> {
    const result = await this.#keeper.signIn(userId, this.info, {
      ...options,
      replaces: this.#record,
    });
    return this.#adopt(result);
  }

  /** Ends the current session (kept as history with reason `sign_out`) and clears its cookie. */
  async signOut(): Promise<void> {
    const record = this.#record;
    if (record) await this.#keeper.signOut(record, this.info);
    for (const cookie of this.#keeper.clearCookies(this.info)) this.#setCookie(cookie);
    this.#forget();
  }

  /** Issues a new token for the active session (after a privilege change). Old cookie dies at once. */
  async rotate(): Promise<Session | null> {
    const record = this.#record;
    if (record?.status !== "active") return null;
    const result = await this.#keeper.rotate(record, this.info);
    return result ? this.#adopt(result) : null;
  }

  /**
   * Records a fresh proof of identity on the active session (the caller checked the password,
   * code or passkey): a new token, and sensitive actions are let through for the window. Null
   * when there is no active session.
   */
  async reauthenticate(options: { factor: AuthFactor }): Promise<Session | null> {
    const record = this.#record;
    if (record?.status !== "active") return null;
    const result = await this.#keeper.reauthenticate(record, this.info, options);
    return result ? this.#adopt(result) : null;
  }

  /**
   * Null when the active session's last proof satisfies `rule` (see `recentAuthRule`; a sliding
   * rule marks the proof used), else the 401 challenge to answer with. Throws without an active
   * session: callers answer `unauthenticated` first.
   */
  async checkRecentAuth(rule: RecentAuthRule): Promise<ReauthChallenge | null> {
    const record = this.#record;
    if (record?.status !== "active")
      throw new TypeError("checkRecentAuth() needs an active session");
    const challenge = await checkRecentAuth(this.#keeper, record, rule);
    if (challenge === null && rule.sliding)
      this.#record = { ...record, proofUsedAt: this.#keeper.now() };
    return challenge;
  }

  /**
   * Keeps this form post (`path`, urlencoded `body`) while the user re-authenticates: bound to this
   * session, single use, five minutes; the body is stored encrypted under a key in a cookie of this
   * browser alone. False when there is no active session or the post is too large to keep.
   */
  async keepPost(post: { path: string; body: string }): Promise<boolean> {
    const record = this.#record;
    if (record?.status !== "active") return false;
    const cookie = await this.#keeper.keepPost(record, this.info, post);
    if (cookie === null) return false;
    this.#setCookie(cookie);
    return true;
  }

  /**
   * The path of the post kept for this browser and session while it can still be completed, else
   * null. A re-authentication page resumes to this path (`POST <path>?sk_resume=1`), never to a
   * `next` from the request: that one an attacker's link can choose.
   */
  async keptPostPath(): Promise<string | null> {
    const record = this.#record;
    if (record?.status !== "active") return null;
    return this.#keeper.keptPostPath(record, this.info);
  }

  /**
   * The body of the post kept for `path`, once: spent here (a replay gets null), and the browser's
   * key is dropped. Null without one (expired, spent, another path or session).
   */
  async takeKeptPost(path: string): Promise<string | null> {
    const record = this.#record;
    if (record?.status !== "active") return null;
    const { body, clearCookie } = await this.#keeper.takeKeptPost(record, this.info, path);
    this.#setCookie(clearCookie);
    return body;
  }

  /**
   * A challenge for signing in with a passkey (`sessionkeeper/passkeys` asks): bound to this
   * browser by a short-lived cookie set on this response.
   */
  async passkeySignInChallenge(): Promise<string> {
    const { challenge, setCookie } = await this.#keeper.issueSignInChallenge(this.info);
    this.#setCookie(setCookie);
    return challenge;
  }

  /** Spends this browser's passkey sign-in challenge if it is `challenge`: true once. */
  async spendPasskeySignInChallenge(challenge: string): Promise<boolean> {
    const { ok, clearCookie } = await this.#keeper.spendSignInChallenge(this.info, challenge);
    this.#setCookie(clearCookie);
    return ok;
  }

  /** Pending → active after verification on this device, with a new token. Null when not pending. */
  async activate(options: { method: "code" | "link" }): Promise<Session | null> {
    const record = this.#record;
    if (record?.status !== "pending") return null;
    const result = await this.#keeper.activate(record, this.info, options);
    return result ? this.#adopt(result) : null;
  }

  /**
   * The user's password changed on this request: a new token here, every other session ends
   * (reason `password_changed`). Returns how many ended.
   */
  async passwordChanged(): Promise<{ revoked: number }> {
    const record = this.#record;
    if (record?.status !== "active")
      throw new TypeError("passwordChanged() needs an active session");
    const { rotated, revoked } = await this.#keeper.passwordChanged(record.userId, {
      keep: record,
      info: this.info,
      // This session acted: the other devices are told which one ("… from Work laptop").
      by: { kind: "session", sessionId: record.id },
    });
    if (rotated) this.#adopt(rotated);
    else this.#forget();
    return { revoked };
  }

  #adopt(result: CookieResult): Session {
    for (const cookie of result.setCookies) this.#setCookie(cookie);
    for (const [name, value] of result.headers) this.#setHeader(name, value);
    this.#bindingRefused = false;
    this.#record = result.record;
    this.#found = null;
    this.#session = result.session;
    this.#data = undefined;
    return result.session;
  }

  #forget(): void {
    this.#bindingRefused = false;
    this.#data = undefined;
    this.#record = null;
    this.#found = null;
    this.#session = null;
  }

  #view(): Session {
    this.#session ??= this.#found?.session ?? null;
    return this.#session as Session;
  }
}
