/**
 * A value that may be ready now. The per-request path passes these instead of promises so that a
 * session answered from memory (or by synchronous SQLite) costs no promise and no microtask turn.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
