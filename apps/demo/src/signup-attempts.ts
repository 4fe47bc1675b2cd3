import { createHash } from "node:crypto";
import { type FailureCounter, html, type RequestInfo } from "sessionkeeper";
import type { Mailer, MailMessage } from "sessionkeeper/mail";

export interface SignUpAttemptsOptions {
  /** Where counts live: the guard's counters (the SQL table, or Redis when REDIS_URL is set). */
  counter: FailureCounter;
  /** The app's mailer (SMTP or the dev mailbox): the owner of a taken address is told. */
  mailer: Mailer;
  /** Sign-up answers for taken addresses one client IP gets in a window before every sign-up from it is 429. */
  maxPerIp: number;
  windowMs: number;
  appName: string;
  /** Where the owner signs in, for the mail. */
  signInUrl: string;
  now?: () => number;
}

// Counter keys: the IP as the keeper resolved it (trustProxy rules: a forged X-Forwarded-For
// changes nothing), and a hash of the address (the table never lists which addresses were tried).
const ipKey = (ip: string) => `signup:i:${ip}`;
const ownerKey = (email: string) => `signup:m:${createHash("sha256").update(email).digest("hex")}`;

/**
 * Sign-up for an address that already has an account answers 409 `email_taken` (the contract: a
 * new address signs in at once, so the two answers differ). What that answer gives away is bounded
 * here: each one is counted per client IP like a failed sign-in, an IP over the limit gets 429
 * for every sign-up (whatever the address) until the window ends, and the address's owner is
 * mailed once per window.
 */
export class SignUpAttempts {
  readonly #o: Required<SignUpAttemptsOptions>;

  constructor(options: SignUpAttemptsOptions) {
    if (!Number.isInteger(options.maxPerIp) || options.maxPerIp < 1)
      throw new TypeError("SignUpAttempts maxPerIp must be a positive integer");
    this.#o = { now: Date.now, ...options };
  }

  /** Seconds until sign-ups from `ip` are answered again, or null when they are now. */
  async retryAfter(ip: string): Promise<number | null> {
    const now = this.#o.now();
    const state = await this.#o.counter.read(ipKey(ip), now);
    return state && state.count >= this.#o.maxPerIp ? seconds(state.resetAt, now) : null;
  }

  /**
   * Counts a sign-up answer for a taken address and mails the owner (once per window). Returns
   * the seconds to wait when this answer is over the IP's limit (answer 429, not 409), else null.
   */
  async recordTaken(email: string, info: RequestInfo): Promise<number | null> {
    const now = this.#o.now();
    const windowMs = this.#o.windowMs;
    // Counted before anything is answered: concurrent requests each get their own count, so a
    // burst cannot read "under the limit" together.
    const state = await this.#o.counter.increment(ipKey(info.ip), { now, windowMs });
    const owner = await this.#o.counter.increment(ownerKey(email), { now, windowMs });
    if (owner.count === 1) await this.#tellOwner(email, info, now);
    return state.count > this.#o.maxPerIp ? seconds(state.resetAt, now) : null;
  }

  async #tellOwner(email: string, info: RequestInfo, now: number): Promise<void> {
    try {
      await this.#o.mailer.send(attemptMail({ ...this.#o, to: email, info, at: new Date(now) }));
    } catch {
      // The answer does not depend on the mail: an SMTP outage must not turn 409 into 500 (and
      // a different answer would itself tell something).
      console.error("sign-up attempt mail could not be sent");
    }
  }
}

function seconds(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}

/** "Someone tried to create an account with your address": every request-borne value escaped. */
function attemptMail(input: {
  appName: string;
  signInUrl: string;
  to: string;
  info: RequestInfo;
  at: Date;
}): MailMessage {
  const { appName, signInUrl, info, at } = input;
  const userAgent = (info.userAgent ?? "").slice(0, 512) || "(none)";
  const subject = `Someone tried to create a ${appName} account with your address`;
  const lead = `Someone tried to create a new ${appName} account with this e-mail address, which already has one. No account was created and nothing about yours changed.`;
  const advice =
    "If it was you, sign in instead. If it wasn't, you need do nothing; you won't hear about further attempts for a while.";
  const text = [
    lead,
    "",
    `When: ${at.toISOString()}`,
    `IP address: ${info.ip}`,
    `Browser: ${userAgent}`,
    "",
    advice,
    signInUrl,
  ].join("\n");
  const body = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5">
<p>${lead}</p>
<table>
<tr><th align="left">When</th><td>${at.toISOString()}</td></tr>
<tr><th align="left">IP address</th><td>${info.ip}</td></tr>
<tr><th align="left">Browser</th><td>${userAgent}</td></tr>
</table>
<p>${advice}</p>
<p><a href="${signInUrl}">Sign in</a></p>
</body></html>`;
  return { to: input.to, subject, text, html: body.toString() };
}
