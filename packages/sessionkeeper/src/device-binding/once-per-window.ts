/**
 * Says yes to a key at most once per window, in this process: for records whose cause anyone with
 * a session cookie can repeat (a DBSC endpoint's failures), so the history shows that it happened
 * without a row per request. Bounded: past `max` keys the oldest are forgotten first.
 */
export class OncePerWindow {
  readonly #last = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max = 10_000,
  ) {}

  allow(key: string, now: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.windowMs) return false;
    this.#last.delete(key); // re-inserted last: the Map's order stays oldest first
    this.#last.set(key, now);
    if (this.#last.size > this.max) {
      for (const oldest of this.#last.keys()) {
        this.#last.delete(oldest);
        if (this.#last.size <= this.max) break;
      }
    }
    return true;
  }
}
