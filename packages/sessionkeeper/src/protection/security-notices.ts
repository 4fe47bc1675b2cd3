import type { ActivityType, SessionEvent } from "../events.js";
import { checkMessage } from "../mail/mailer.js";
import {
  requestDetails,
  type SecurityNotice,
  type SignInDetails,
  securityMail,
  signInDetails,
} from "./messages.js";
import type { ResolvedGuardOptions } from "./options.js";

/** The changes to an account the owner is mailed about, by event type. */
const CHANGES: { readonly [type: string]: SecurityNotice | undefined } = {
  password_changed: "password_changed",
  passkey_added: "passkey_added",
  passkey_removed: "passkey_removed",
  ip_allow_added: "allow_list_added",
  ip_allow_removed: "allow_list_removed",
};

/** Devices listed in a lockout mail at most (the newest distinct ones). */
const MAX_DEVICES = 5;

type Record = (
  type: ActivityType,
  userId: string,
  sessionId: string | null,
  reason: string,
) => Promise<void>;

/**
 * The owner's security mail: a password change, a passkey or an allowed address added or removed,
 * the account starting to refuse unknown devices, a session ended for guessing the password, a
 * "this wasn't me" report. Sent after the change is
 * stored and never awaited by it: a slow or failing mail server neither delays nor undoes the
 * answer (a failure is recorded as `alert_failed`). Needs `addressOf` and a mailer.
 */
export class SecurityNotices {
  constructor(
    private readonly o: ResolvedGuardOptions,
    private readonly record: Record,
  ) {}

  /** The keeper's events that call for a notice (subscribe this to the keeper). */
  onEvent(event: SessionEvent): void {
    if (event.userId === null) return;
    const changed = CHANGES[event.type];
    if (changed) {
      // The device that made the change; the reason is what changed (a range, a passkey's name).
      const facts = event.request;
      this.#send(
        event.userId,
        event.sessionId,
        changed,
        async () => (facts ? [requestDetails(facts, event.at)] : []),
        event.type === "password_changed" ? {} : { item: event.reason ?? "" },
      );
    } else if (
      event.type === "session_locked" &&
      (event.reason === "not_me" || event.reason === "password_guessing")
    ) {
      // The session reported or ended, not the device that clicked the link.
      const details = signInDetails(event.session);
      const notice = event.reason === "not_me" ? "not_me" : "password_guessing";
      this.#send(event.userId, event.sessionId, notice, async () => [details]);
    }
  }

  /**
   * The account's failures just reached the limit: from now until `resetAt` it refuses unknown
   * devices. Lists the devices of the window's failed attempts (newest first, distinct).
   */
  lockoutStarted(userId: string, input: { failures: number; resetAt: number; now: number }): void {
    const minutes = Math.max(1, Math.ceil((input.resetAt - input.now) / 60_000));
    const since = input.resetAt - (this.o.lockout?.window ?? 0);
    this.#send(
      userId,
      null,
      "lockout",
      async () => {
        const events = await this.o.keeper.listEvents(userId, { limit: 200 });
        const seen = new Set<string>();
        const devices: SignInDetails[] = [];
        for (const e of events) {
          if (e.type !== "sign_in_failed" || e.createdAt < since) continue;
          const key = `${e.ip}\n${e.userAgent}`;
          if (seen.has(key)) continue;
          seen.add(key);
          devices.push(requestDetails(e, e.createdAt));
          if (devices.length === MAX_DEVICES) break;
        }
        return devices;
      },
      { minutes, attempts: input.failures },
    );
  }

  #send(
    userId: string,
    sessionId: string | null,
    notice: SecurityNotice,
    details: () => Promise<SignInDetails[]>,
    extra: { minutes?: number; attempts?: number; item?: string } = {},
  ): void {
    const { addressOf, mailer } = this.o;
    if (!addressOf || !mailer) return;
    const task = async () => {
      const to = await addressOf(userId);
      if (typeof to !== "string" || to.length === 0) return;
      const message = securityMail({
        appName: this.o.appName,
        to,
        notice,
        details: await details(),
        securityUrl: `${this.o.baseUrl}${this.o.paths.security}`,
        ...extra,
      });
      let sent = true;
      try {
        checkMessage(message);
        await mailer.send(message);
      } catch {
        sent = false;
      }
      await this.record(sent ? "alert_sent" : "alert_failed", userId, sessionId, notice);
    };
    // Nobody awaits a notice; a storage failure while recording it must not crash the process.
    task().catch(() => {});
  }
}
