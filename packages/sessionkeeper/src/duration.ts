const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A length of time: milliseconds as a number, or a string such as "90s", "30m", "7d". */
export type Duration = number | string;

/**
 * Parses a duration into milliseconds. Returns null for anything that is not a positive, finite
 * duration, so callers can raise an error that names their option.
 */
export function parseDuration(value: unknown): number | null {
  if (typeof value === "number") {
    return Number.isFinite(value) && value > 0 ? Math.floor(value) : null;
  }
  if (typeof value !== "string" || value.length > 32) return null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
  if (!match) return null;
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number);
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : null;
}

/** Like {@link parseDuration} but throws a TypeError naming the option. */
export function requireDuration(name: string, value: unknown): number {
  const ms = parseDuration(value);
  if (ms === null) {
    throw new TypeError(
      `options.${name} must be a duration such as "30m" or a positive number of milliseconds (got ${describe(value)})`,
    );
  }
  return ms;
}

export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : String(value);
}
