import type { Answer } from "./http.js";

/** What the suite knows about one session cookie from the answers it got. */
export interface Token {
  value: string;
  id: string;
  userId: string;
  expiresAt: number; // epoch ms, from the answer that created it
  /** performance.now() when an answer confirmed the end (sign-out, revoke, password change). */
  endedAt: number | null;
  /** An answer that might have ended it was lost (503, reset): neither accepted nor refused is wrong. */
  uncertain: boolean;
}

export interface User {
  id: string;
  email: string;
  password: string;
  live: Token[];
  ended: Token[];
  busy: boolean;
  /** A password change whose answer was lost: the password is unknown, the user takes no more part. */
  retired: boolean;
}

/** One recorded answer with what it was for. */
export interface Record {
  op: string;
  phase: string;
  port: number;
  answer: Answer;
  /** For validations: the token presented (to check against its known end, and the database). */
  token?: Token;
}

export interface Violation {
  kind: string;
  phase: string;
  detail: string;
}

/** epoch ms ↔ performance.now(): both clocks are read once, in this process. */
export const clock = {
  offset: Date.now() - performance.now(),
  toEpoch(t: number) {
    return t + this.offset;
  },
};

export function sessionIdOf(value: string): string {
  return value.split(".")[0] as string;
}
