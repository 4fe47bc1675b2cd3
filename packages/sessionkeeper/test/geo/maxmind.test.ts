import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { maxmindGeo } from "sessionkeeper/geo";

// The CC0 test database (country level) from @ip-location-db/geo-whois-asn-country-mmdb.
const require = createRequire(import.meta.url);
const dir = dirname(require.resolve("@ip-location-db/geo-whois-asn-country-mmdb/package.json"));
const paths = [join(dir, "geo-whois-asn-country.mmdb")];

describe("maxmindGeo on the CC0 country database", () => {
  it("resolves a public IPv4 address to its country", async () => {
    const geo = await maxmindGeo({ paths });
    // 8.8.8.8 is registered in the United States in every registry-based dataset.
    const location = await geo.lookup("8.8.8.8");
    assert.equal(location?.country, "United States");
  });

  it("resolves a public IPv6 address", async () => {
    const geo = await maxmindGeo({ paths });
    // 2001:4860:4860::8888 is Google's public DNS, allocated in the US.
    const location = await geo.lookup("2001:4860:4860::8888");
    assert.equal(location?.country, "United States");
  });

  it("resolves an IPv4-mapped IPv6 address like its IPv4 form", async () => {
    const geo = await maxmindGeo({ paths });
    assert.deepEqual(await geo.lookup("::ffff:8.8.8.8"), await geo.lookup("8.8.8.8"));
  });

  it("gives no location for private, loopback and invalid addresses", async () => {
    const geo = await maxmindGeo({ paths });
    for (const ip of ["127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "fd00::1", "not-an-ip"]) {
      assert.equal(await geo.lookup(ip), null, ip);
    }
  });

  it("throws a TypeError naming the option when no file is given", async () => {
    await assert.rejects(() => maxmindGeo({ paths: [] }), {
      name: "TypeError",
      message: /options\.paths/,
    });
  });
});
