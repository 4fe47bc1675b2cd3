const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["week", 7 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "5 minutes ago", "yesterday", "3 weeks ago": how long before `now` a time was. */
export function timeAgo(at: number, now: number): string {
  const elapsed = Math.max(0, now - at);
  for (const [unit, size] of UNITS) {
    if (elapsed >= size) return RELATIVE.format(-Math.floor(elapsed / size), unit);
  }
  return "just now";
}

/** "Last active" text: "Active now" within the touch interval (last-seen is only written that often). */
export function describeLastActive(lastSeenAt: number, now: number, touchInterval: number): string {
  return now - lastSeenAt < touchInterval ? "Active now" : `Active ${timeAgo(lastSeenAt, now)}`;
}

/** Formats absolute times in one time zone: "Jan 5, 2026, 14:03 UTC". */
export function dateFormatter(timeZone: string): (at: number) => string {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  return (at) => format.format(new Date(at));
}

const REASONS: Record<string, string> = {
  sign_out: "Signed out",
  revoked_by_user: "Revoked by you",
  revoked_by_admin: "Revoked by an administrator",
  password_changed: "Password changed",
  session_limit: "Too many sessions",
  idle_timeout: "Idle timeout",
  absolute_timeout: "Session lifetime reached",
  not_me: "Reported as not you",
  replaced: "Replaced by a new sign-in",
  ip_denied: "IP address blocked",
  ip_not_allowed: "IP address not on your allow list",
  verification_failed: "Verification failed",
  pending_verification: "Awaiting confirmation",
  verified: "Confirmed",
  invalid_credentials: "Wrong password",
  invalid_code: "Wrong code",
  locked_out: "Too many failed attempts",
  new_device: "New device",
  new_ip: "New IP address",
  expired: "Expired",
  verification_expired: "Confirmation expired",
  impossible_travel: "Too far from the last sign-in to travel in time",
  code: "With the emailed code",
  link: "With the emailed link",
  device: "From one of your signed-in devices",
  mail_failed: "The email could not be sent",
  ES256: "ES256 key",
  RS256: "RS256 key",
  stale_challenge: "An old or reused challenge",
  bad_signature: "Signed by another key",
  wrong_algorithm: "Signed with another algorithm",
  invalid_key: "Unusable key",
  unsupported_algorithm: "No usable key",
  malformed_proof: "Malformed proof",
  wrong_type: "Not a DBSC proof",
  missing_challenge: "No challenge in the proof",
};

/** An end or event reason in words ("Revoked by you"); an unknown reason is returned as it is. */
export function describeReason(reason: string): string {
  return REASONS[reason] ?? reason;
}

/** How an event reads, and whether it is good news, neutral, or a warning. */
export interface EventDescription {
  title: string;
  tone: "ok" | "neutral" | "warn";
}

const EVENTS: Record<string, EventDescription> = {
  sign_in: { title: "Signed in", tone: "ok" },
  sign_in_failed: { title: "Failed sign-in attempt", tone: "warn" },
  sign_in_blocked: { title: "Blocked sign-in attempt", tone: "warn" },
  sign_out: { title: "Signed out", tone: "neutral" },
  session_revoked: { title: "Session ended", tone: "neutral" },
  session_expired: { title: "Session expired", tone: "neutral" },
  token_rotated: { title: "Session renewed", tone: "neutral" },
  verification_sent: { title: "Confirmation requested", tone: "neutral" },
  session_activated: { title: "New device confirmed", tone: "ok" },
  session_locked: { title: "Session locked", tone: "warn" },
  verification_approved: { title: "Sign-in approved", tone: "ok" },
  // Rows recorded before the life cycle moved into the keeper.
  verification_denied: { title: "Sign-in rejected as not you", tone: "warn" },
  verification_failed: { title: "Wrong confirmation code", tone: "warn" },
  locked_out: { title: "Sign-in locked after repeated failures", tone: "warn" },
  alert_sent: { title: "Sign-in alert emailed", tone: "neutral" },
  alert_failed: { title: "Sign-in alert could not be sent", tone: "warn" },
  sign_in_flagged: { title: "Unusual sign-in flagged", tone: "warn" },
  password_changed: { title: "Password changed", tone: "neutral" },
  device_bound: { title: "Session bound to this device's security chip", tone: "ok" },
  device_binding_failed: { title: "Device-bound session: proof refused", tone: "warn" },
  device_binding_ended: { title: "Device binding ended", tone: "neutral" },
  passkey_added: { title: "Passkey added", tone: "neutral" },
  passkey_removed: { title: "Passkey removed", tone: "neutral" },
  ip_allow_added: { title: "Address added to the allow list", tone: "neutral" },
  ip_allow_removed: { title: "Address removed from the allow list", tone: "neutral" },
  reauthenticated: { title: "Identity confirmed", tone: "ok" },
};

/** An event type in words ("Signed in"); an unknown type is returned as it is. */
export function describeEvent(type: string): EventDescription {
  return EVENTS[type] ?? { title: type, tone: "neutral" };
}
