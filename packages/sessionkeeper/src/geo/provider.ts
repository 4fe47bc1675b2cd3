import { isPrivateIp } from "../ip.js";
import type { Location } from "../types.js";

/**
 * Turns an IP into an approximate location, or null when it does not know the IP. Called at
 * sign-in and when a session's IP changes, never on every request.
 */
export interface GeoProvider {
  lookup(ip: string): Promise<Location | null> | Location | null;
}

/** The location shown for loopback and private addresses. */
export const LOCAL_NETWORK: Location = Object.freeze({ city: null, region: null, country: null });

/**
 * Wraps a provider with a bounded cache, skips private addresses and swallows provider errors:
 * a broken geolocation database must never block a sign-in.
 */
export function cachedGeo(
  provider: GeoProvider,
  options: { maxEntries?: number } = {},
): GeoProvider {
  const max = options.maxEntries ?? 10_000;
  const cache = new Map<string, Location | null>();
  return {
    async lookup(ip) {
      if (isPrivateIp(ip)) return null;
      if (cache.has(ip)) return cache.get(ip) ?? null;
      let found: Location | null = null;
      try {
        found = (await provider.lookup(ip)) ?? null;
      } catch {
        found = null;
      }
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(ip, found);
      return found;
    },
  };
}
