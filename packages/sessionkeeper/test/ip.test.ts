import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpSet, isPrivateIp, normalizeIp, parseCidr } from "../src/ip.js";

describe("normalizeIp", () => {
  it("keeps IPv4 as is and trims around it", () => {
    assert.equal(normalizeIp("203.0.113.7"), "203.0.113.7");
    assert.equal(normalizeIp(" 203.0.113.7\t"), "203.0.113.7");
  });

  it("turns IPv4-mapped IPv6 into IPv4, in dotted and hex form", () => {
    for (const mapped of [
      "::ffff:1.2.3.4",
      "::FFFF:1.2.3.4",
      "::ffff:102:304",
      "0:0:0:0:0:ffff:0102:0304",
      "[::ffff:1.2.3.4]",
      "::ffff:1.2.3.4%eth0",
    ]) {
      assert.equal(normalizeIp(mapped), "1.2.3.4", mapped);
    }
    assert.equal(normalizeIp("::ffff:c0a8:1ff"), "192.168.1.255");
    assert.equal(normalizeIp("::ffff:0:0"), "0.0.0.0");
  });

  it("writes IPv6 in its canonical form (RFC 5952), so equal addresses compare equal", () => {
    assert.equal(normalizeIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
    assert.equal(normalizeIp("2001:0db8:0000:0000:0000:ff00:0042:8329"), "2001:db8::ff00:42:8329");
    assert.equal(
      normalizeIp("2001:db8:0:0:1:0:0:1"),
      "2001:db8::1:0:0:1",
      "the first of two equal zero runs is compressed",
    );
    assert.equal(
      normalizeIp("2001:db8:0:1:1:1:1:1"),
      "2001:db8:0:1:1:1:1:1",
      "a single zero group is not compressed",
    );
    assert.equal(normalizeIp("0:0:0:0:0:0:0:1"), "::1");
    assert.equal(normalizeIp("[::1]"), "::1");
    assert.equal(normalizeIp("fe80::1%eth0"), "fe80::1");
    assert.equal(normalizeIp("::"), "::");
  });

  it("does not treat IPv4-compatible (deprecated) addresses as IPv4", () => {
    assert.equal(normalizeIp("::1.2.3.4"), "::102:304");
  });

  it("returns null for anything that is not an address", () => {
    for (const value of [
      null,
      undefined,
      "",
      "1.2.3",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.4:80",
      "[2001:db8::1]:443",
      "1.2.3.4/8",
      "localhost",
      "::g",
      "x".repeat(70),
      "1.2.3.4\u0000",
    ]) {
      assert.equal(normalizeIp(value), null, JSON.stringify(value));
    }
  });
});

describe("isPrivateIp", () => {
  it("knows loopback, private, link-local and unique-local ranges", () => {
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.0.1",
      "169.254.1.1",
      "100.64.0.1",
      "::1",
      "fd00::1",
      "fe80::1",
    ]) {
      assert.equal(isPrivateIp(ip), true, ip);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "203.0.113.7", "2001:db8::1", "2a00:1450::1"])
      assert.equal(isPrivateIp(ip), false, ip);
  });
});

describe("parseCidr", () => {
  it("parses addresses and ranges of both families", () => {
    assert.deepEqual(parseCidr("10.0.0.0/8"), {
      address: "10.0.0.0",
      prefix: 8,
      family: "ipv4",
      text: "10.0.0.0/8",
    });
    assert.deepEqual(parseCidr("203.0.113.7"), {
      address: "203.0.113.7",
      prefix: 32,
      family: "ipv4",
      text: "203.0.113.7",
    });
    assert.deepEqual(parseCidr("2001:DB8::/32"), {
      address: "2001:db8::",
      prefix: 32,
      family: "ipv6",
      text: "2001:db8::/32",
    });
    assert.deepEqual(parseCidr("::1"), {
      address: "::1",
      prefix: 128,
      family: "ipv6",
      text: "::1",
    });
    assert.equal(parseCidr("0.0.0.0/0")?.prefix, 0);
    assert.equal(parseCidr("::/0")?.prefix, 0);
    assert.equal(parseCidr("10.0.0.0/32")?.text, "10.0.0.0");
  });

  it("maps an IPv4-mapped range onto the IPv4 range", () => {
    assert.deepEqual(parseCidr("::ffff:10.0.0.0/104"), {
      address: "10.0.0.0",
      prefix: 8,
      family: "ipv4",
      text: "10.0.0.0/8",
    });
    assert.equal(parseCidr("::ffff:10.0.0.1")?.text, "10.0.0.1");
    assert.equal(parseCidr("::ffff:10.0.0.0/95"), null, "wider than the mapped space");
  });

  it("rejects bad prefixes and shapes", () => {
    for (const value of [
      "10.0.0.0/33",
      "2001:db8::/129",
      "10.0.0.0/",
      "/8",
      "10.0.0.0/8/1",
      "10.0.0.0/-1",
      "10.0.0.0/ 8",
      "10.0.0.0/8a",
      "10.0.0.0/0x8",
      "10.0.0/8",
      "garbage",
      "",
      "1".repeat(65),
    ]) {
      assert.equal(parseCidr(value), null, value);
    }
  });
});

describe("IpSet", () => {
  const set = new IpSet(["10.1.2.3/8", "203.0.113.7", "2001:db8::/32", "::ffff:192.168.0.0/112"]);

  it("answers membership for addresses and ranges, matching mapped forms too", () => {
    for (const ip of [
      "10.0.0.1",
      "10.255.255.255",
      "203.0.113.7",
      "2001:db8:ffff::1",
      "2001:DB8::1",
      "::ffff:10.9.9.9",
      "::ffff:a09:909",
      "192.168.7.7",
    ]) {
      assert.equal(set.has(ip), true, ip);
    }
    for (const ip of ["11.0.0.1", "203.0.113.8", "2001:db9::1", "192.169.0.1", "garbage", ""])
      assert.equal(set.has(ip), false, ip);
  });

  it("keeps the normalised entries and throws a TypeError naming the option for a bad one", () => {
    assert.deepEqual(set.entries, ["10.1.2.3/8", "203.0.113.7", "2001:db8::/32", "192.168.0.0/16"]);
    assert.throws(
      () => new IpSet(["10.0.0.0/8", "nope"], "options.allow"),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^options\.allow: "nope" is not an IP address or CIDR range$/);
        return true;
      },
    );
  });
});
