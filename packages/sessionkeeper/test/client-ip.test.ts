import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileTrustProxy, resolveClientIp } from "../src/client-ip.js";

const none = compileTrustProxy(false);

describe("resolveClientIp without trusted proxies", () => {
  it("uses the socket address and ignores X-Forwarded-For", () => {
    assert.equal(resolveClientIp("203.0.113.9", "198.51.100.1", none), "203.0.113.9");
    assert.equal(resolveClientIp("::ffff:127.0.0.1", "198.51.100.1", none), "127.0.0.1");
    assert.equal(resolveClientIp("2001:DB8::0:1", null, none), "2001:db8::1");
    assert.deepEqual(compileTrustProxy(undefined), none);
    assert.deepEqual(compileTrustProxy(0), none);
  });

  it("falls back to 0.0.0.0 when the socket address is missing or garbage", () => {
    assert.equal(resolveClientIp(undefined, "198.51.100.1", none), "0.0.0.0");
    assert.equal(resolveClientIp("garbage", null, none), "0.0.0.0");
  });
});

describe("resolveClientIp with a hop count", () => {
  it("takes the address the given number of hops away, never further than the header goes", () => {
    const xff = "192.0.2.66, 198.51.100.1, 10.0.0.2";
    assert.equal(resolveClientIp("10.0.0.1", xff, compileTrustProxy(1)), "10.0.0.2");
    assert.equal(resolveClientIp("10.0.0.1", xff, compileTrustProxy(2)), "198.51.100.1");
    assert.equal(resolveClientIp("10.0.0.1", xff, compileTrustProxy(3)), "192.0.2.66");
    assert.equal(resolveClientIp("10.0.0.1", xff, compileTrustProxy(10)), "192.0.2.66");
    assert.equal(resolveClientIp("10.0.0.1", "", compileTrustProxy(1)), "10.0.0.1");
  });

  it("ignores what a client prepends beyond the trusted hops", () => {
    assert.equal(
      resolveClientIp("10.0.0.1", "6.6.6.6, 7.7.7.7, 203.0.113.5", compileTrustProxy(1)),
      "203.0.113.5",
    );
  });
});

describe("resolveClientIp with trusted addresses", () => {
  it('"loopback" trusts a local proxy and takes the rightmost untrusted hop', () => {
    const trust = compileTrustProxy("loopback");
    assert.equal(resolveClientIp("127.0.0.1", "6.6.6.6, 203.0.113.5", trust), "203.0.113.5");
    assert.equal(resolveClientIp("::1", "203.0.113.5, 127.0.0.1", trust), "203.0.113.5");
    assert.equal(resolveClientIp("::ffff:127.0.0.1", "2001:db8::5", trust), "2001:db8::5");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", () => {
    assert.equal(
      resolveClientIp("203.0.113.9", "127.0.0.1", compileTrustProxy("loopback")),
      "203.0.113.9",
    );
    assert.equal(
      resolveClientIp("198.51.100.4", "10.0.0.1", compileTrustProxy(["10.0.0.0/8"])),
      "198.51.100.4",
    );
  });

  it("walks a CIDR list of proxies to the rightmost untrusted address", () => {
    const trust = compileTrustProxy(["10.0.0.0/8", "2001:db8:aa::/48", "loopback"]);
    assert.equal(
      resolveClientIp("10.0.0.1", "6.6.6.6, 203.0.113.5, 2001:db8:aa::7, 10.9.9.9", trust),
      "203.0.113.5",
    );
    assert.equal(resolveClientIp("127.0.0.1", " 2001:DB8::0:5 ,10.0.0.3", trust), "2001:db8::5");
    assert.equal(resolveClientIp("10.0.0.1", "::ffff:198.51.100.8", trust), "198.51.100.8");
  });

  it("returns the farthest address when every hop is a trusted proxy", () => {
    const trust = compileTrustProxy(["10.0.0.0/8"]);
    assert.equal(resolveClientIp("10.0.0.1", "10.0.0.3, 10.0.0.2", trust), "10.0.0.3");
  });

  it("stops at a garbage entry: nothing to its left is believed", () => {
    const trust = compileTrustProxy(["10.0.0.0/8"]);
    assert.equal(
      resolveClientIp("10.0.0.1", "6.6.6.6, garbage, 203.0.113.5", trust),
      "203.0.113.5",
    );
    assert.equal(resolveClientIp("10.0.0.1", "6.6.6.6, unknown, 10.0.0.2", trust), "10.0.0.2");
    assert.equal(resolveClientIp("10.0.0.1", "6.6.6.6, , 10.0.0.2", trust), "10.0.0.2");
    assert.equal(resolveClientIp("10.0.0.1", "6.6.6.6, [2001:db8::1]:443", trust), "10.0.0.1");
    assert.equal(
      resolveClientIp("10.0.0.1", "6.6.6.6,203.0.113.5:8080", compileTrustProxy(2)),
      "10.0.0.1",
    );
  });

  it("cannot be spoofed by padding the header: the proxy-appended right end is what is read", () => {
    const trust = compileTrustProxy(["10.0.0.0/8"]);
    // Padding sized so that a cut at the header's start would end exactly on an attacker's entry.
    const padded = `aaaaaaaa${",6.6.6.6".repeat(400)}, 203.0.113.5`;
    assert.equal(resolveClientIp("10.0.0.1", padded, trust), "203.0.113.5");
    assert.equal(resolveClientIp("10.0.0.1", padded, compileTrustProxy(1)), "203.0.113.5");
    assert.equal(
      resolveClientIp("10.0.0.1", `${"6.6.6.6, ".repeat(300)}203.0.113.5`, trust),
      "203.0.113.5",
    );
  });

  it("reads at most 32 hops", () => {
    const hops = Array.from({ length: 40 }, (_, i) => `10.0.${i}.1`);
    assert.equal(
      resolveClientIp(
        "10.0.0.1",
        ["203.0.113.5", ...hops].join(", "),
        compileTrustProxy(["10.0.0.0/8"]),
      ),
      "10.0.8.1",
    );
  });
});
