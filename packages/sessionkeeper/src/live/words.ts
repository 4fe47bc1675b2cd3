import { summarizeDevice } from "../device-words.js";
import type { Actor, RequestFacts } from "../events.js";
import type { EndReason } from "../types.js";

// Why a page was signed out, in words. The device that did it is named when this instance saw the
// request (another device's "sign out"); otherwise the words stand alone.

const WORDS: Partial<Record<EndReason, string>> = {
  sign_out: "You signed out.",
  revoked_by_user: "You were signed out from another device.",
  revoked_by_admin: "An administrator signed you out.",
  password_changed: "Your password was changed, so this device was signed out.",
  session_limit: "You were signed out because too many devices were signed in.",
  idle_timeout: "Your session expired after a time without activity.",
  absolute_timeout: "Your session expired. Please sign in again.",
  not_me: "This sign-in was refused by the account's owner.",
  ip_denied: "You were signed out because your network is no longer allowed.",
};

/** The sentence a signed-out page shows, e.g. "You were signed out from Chrome on Windows." */
export function endedMessage(
  reason: EndReason,
  request: RequestFacts | null,
  actor: Actor | null,
): string {
  if (
    (reason === "revoked_by_user" || reason === "password_changed") &&
    request &&
    actor?.kind === "session"
  ) {
    const device = summarizeDevice(request);
    return reason === "password_changed"
      ? `Your password was changed from ${device}, so this device was signed out.`
      : `You were signed out from ${device}.`;
  }
  return endedWords(reason);
}

/** Fixed words for a reason (what a sign-in page may show from a `?ended=` code). */
export function endedWords(reason: string): string {
  return WORDS[reason as EndReason] ?? "You were signed out.";
}
