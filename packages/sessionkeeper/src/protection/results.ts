import type { Session } from "../types.js";
import type { SignInDetails } from "./messages.js";

/**
 * A refused request, ready to answer: `res.status(r.httpStatus).json({ error: r.error })`, with a
 * `Retry-After: <retryAfter>` header when present (lockout).
 */
export interface Refusal {
  ok: false;
  httpStatus: 400 | 401 | 403 | 404 | 429 | 503;
  error: string;
  /** Seconds until a lockout ends: send it as `Retry-After`. */
  retryAfter?: number;
}

/** The answer of a check that either lets the request through or refuses it. */
export type Verdict = { ok: true } | Refusal;

/**
 * How a sign-in (or its verification) ended: an active session, a pending one awaiting the
 * emailed code or link (answer 202), or a refusal.
 */
export type SignInResult =
  | { ok: true; status: "active"; session: Session }
  | { ok: true; status: "verification_required"; session: Session }
  | Refusal;

/** What an approve or "this wasn't me" link did. */
export type LinkResult =
  | { ok: true; action: "approved" | "denied"; userId: string; sessionId: string }
  | Refusal;

/** A refusal value (internal helper). */
export function refuse(
  httpStatus: Refusal["httpStatus"],
  error: string,
  retryAfter?: number,
): Refusal {
  return retryAfter === undefined
    ? { ok: false, httpStatus, error }
    : { ok: false, httpStatus, error, retryAfter };
}

/** Which emailed link a page is for. */
export type LinkKind = "approve" | "not-me";

/**
 * What a mail link's GET shows, as data (`renderLinkPage` draws it): the sign-in's details and the
 * form target, or `details: null` when the link is invalid, expired or used.
 */
export interface LinkView {
  kind: LinkKind;
  appName: string;
  /** Where the page's button POSTs the token: the link's own path (same origin). */
  action: string;
  /** The token to post back; empty when the link is not valid. */
  token: string;
  details: SignInDetails | null;
}
