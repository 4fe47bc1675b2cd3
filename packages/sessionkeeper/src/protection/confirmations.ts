import type { SessionSnapshot } from "../events.js";
import type { Mailer } from "../mail/mailer.js";
import type { VerificationRecord } from "../storage/protection-store.js";
import { randomId } from "../token.js";
import type { SessionRecord } from "../types.js";
import {
  generateCode,
  generateLinkToken,
  hashSecret,
  matchesHash,
  parseLinkToken,
} from "./codes.js";
import { alertMail, reauthMail, signInDetails, verificationMail } from "./messages.js";
import type { ResolvedGuardOptions } from "./options.js";
import type { LinkKind } from "./results.js";

/**
 * The emailed confirmations: a verification (code, approve and not-me links) or an alert
 * (not-me link), stored hashed and bound to one session, and the lookup of a presented link.
 */
export class Confirmations {
  constructor(
    private readonly o: ResolvedGuardOptions,
    private readonly now: () => number,
  ) {}

  /** Stores a verification for a pending session and mails it. `sent` is false when mail failed. */
  async issueVerification(
    record: SessionRecord,
    email: string,
  ): Promise<{ id: string; sent: boolean }> {
    const now = this.now();
    const id = randomId();
    const code = generateCode(this.o.codeLength);
    const approve = generateLinkToken(id);
    const deny = generateLinkToken(id);
    await this.o.store.createVerification({
      ...this.#base(id, record, now),
      kind: "verification",
      codeHash: hashSecret(code),
      approveHash: approve.hash,
      denyHash: deny.hash,
      expiresAt: now + this.o.codeTtl,
    });
    const message = verificationMail({
      appName: this.o.appName,
      to: email,
      code,
      minutes: Math.round(this.o.codeTtl / 60_000),
      approveUrl: this.#linkUrl("approve", approve.token),
      notMeUrl: this.#linkUrl("not-me", deny.token),
      details: signInDetails(record),
    });
    return { id, sent: await this.#send(message) };
  }

  /**
   * Stores a re-authentication code bound to an active session and mails it. The record's deny
   * hash is of a secret that is never sent: a re-authentication has no links.
   */
  async issueReauthCode(
    record: SessionRecord,
    email: string,
  ): Promise<{ id: string; sent: boolean }> {
    const now = this.now();
    const id = randomId();
    const code = generateCode(this.o.codeLength);
    await this.o.store.createVerification({
      ...this.#base(id, record, now),
      kind: "reauth",
      codeHash: hashSecret(code),
      approveHash: null,
      denyHash: generateLinkToken(id).hash,
      expiresAt: now + this.o.codeTtl,
    });
    const message = reauthMail({
      appName: this.o.appName,
      to: email,
      code,
      minutes: Math.round(this.o.codeTtl / 60_000),
      details: signInDetails(record),
    });
    return { id, sent: await this.#send(message) };
  }

  /** Stores an alert's not-me link for an active session and mails the alert. False when mail failed. */
  async issueAlert(record: SessionRecord, email: string, newDevice: boolean): Promise<boolean> {
    const now = this.now();
    const id = randomId();
    const deny = generateLinkToken(id);
    await this.o.store.createVerification({
      ...this.#base(id, record, now),
      kind: "alert",
      codeHash: null,
      approveHash: null,
      denyHash: deny.hash,
      expiresAt: now + this.o.alertLinkTtl,
    });
    const notMeUrl = this.#linkUrl("not-me", deny.token);
    return this.#send(
      alertMail({
        appName: this.o.appName,
        to: email,
        notMeUrl,
        details: signInDetails(record),
        newDevice,
      }),
    );
  }

  /**
   * A presented link's confirmation and session when the token is valid for `kind`, unspent and
   * unexpired; else null. Approve needs a still-pending session; not-me also counts when that
   * session ended meanwhile (it is still recorded).
   */
  async findLink(
    kind: LinkKind,
    token: unknown,
  ): Promise<{ verification: VerificationRecord; record: SessionSnapshot } | null> {
    const parsed = parseLinkToken(token);
    if (!parsed) return null;
    const verification = await this.o.store.findVerification(parsed.id);
    if (!verification) return null;
    const hash = kind === "approve" ? verification.approveHash : verification.denyHash;
    if (!matchesHash(parsed.secret, hash)) return null;
    if (verification.usedAt !== null || this.now() >= verification.expiresAt) return null;
    if (
      kind === "approve" &&
      (verification.kind !== "verification" || verification.approvedAt !== null)
    )
      return null;
    const record = await this.o.keeper.getSession(verification.sessionId);
    if (!record || record.userId !== verification.userId) return null;
    return kind === "not-me" || record.status === "pending" ? { verification, record } : null;
  }

  /** The link page form's target: the link's own path under the app's base path (same origin). */
  formAction(kind: LinkKind): string {
    const base = this.o.baseUrl ? new URL(this.o.baseUrl).pathname.replace(/\/+$/, "") : "";
    return `${base}${this.#path(kind)}`;
  }

  #base(id: string, record: SessionRecord, now: number) {
    return {
      id,
      sessionId: record.id,
      userId: record.userId,
      attempts: 0,
      approvedAt: null,
      usedAt: null,
      createdAt: now,
    };
  }

  #path(kind: LinkKind): string {
    return kind === "approve" ? this.o.paths.approve : this.o.paths.notMe;
  }

  #linkUrl(kind: LinkKind, token: string): string {
    return `${this.o.baseUrl}${this.#path(kind)}?token=${encodeURIComponent(token)}`;
  }

  async #send(message: Parameters<Mailer["send"]>[0]): Promise<boolean> {
    // resolveGuardOptions refuses mail policies without a mailer; this only guards that promise.
    if (!this.o.mailer)
      throw new TypeError("options.mailer is required for verification and alerts");
    try {
      await this.o.mailer.send(message);
      return true;
    } catch {
      return false;
    }
  }
}
