import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeDevice, describeLocation, summarizeDevice } from "../../src/device-words.js";
import { describeEvent, describeLastActive, describeReason, timeAgo } from "../../src/ui/format.js";
import { resolvePageOptions } from "../../src/ui/options.js";
import { parseUserAgent } from "../../src/user-agent.js";

const MINUTE = 60_000;

describe("account page wording", () => {
  it("names devices as browser and major version on OS and version", () => {
    const mac = parseUserAgent(
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    );
    assert.equal(describeDevice(mac), "Chrome 120 on macOS 10.15");
    const win = parseUserAgent(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    );
    assert.equal(describeDevice(win), "Firefox 121 on Windows 10");
    assert.equal(summarizeDevice(win), "Firefox on Windows");
    assert.equal(describeDevice(parseUserAgent("")), "Unknown device");
    assert.equal(summarizeDevice(parseUserAgent("")), "a device");
  });

  it("describes locations, private addresses and unknowns", () => {
    assert.equal(
      describeLocation({ city: "Berlin", region: "Land Berlin", country: "DE" }, "203.0.113.7"),
      "Berlin, Land Berlin, Germany",
    );
    assert.equal(
      describeLocation({ city: "Singapore", region: "Singapore", country: "SG" }, "203.0.113.8"),
      "Singapore",
    );
    assert.equal(describeLocation(null, "203.0.113.9"), "Unknown");
    for (const ip of ["127.0.0.1", "10.1.2.3", "192.168.1.20", "::1", "fd00::1"]) {
      assert.equal(
        describeLocation({ city: "X", region: null, country: "US" }, ip),
        "Local network",
        ip,
      );
    }
    assert.equal(describeLocation(null, "not an ip"), "Unknown");
  });

  it("says Active now within the touch interval and how long ago after it", () => {
    const now = Date.UTC(2026, 0, 5, 12);
    assert.equal(describeLastActive(now - 30_000, now, MINUTE), "Active now");
    assert.equal(describeLastActive(now - 5 * MINUTE, now, MINUTE), "Active 5 minutes ago");
    assert.equal(timeAgo(now - 26 * 60 * MINUTE, now), "yesterday");
    assert.equal(timeAgo(now - 3 * 7 * 24 * 60 * MINUTE, now), "3 weeks ago");
    assert.equal(timeAgo(now + MINUTE, now), "just now", "a clock ahead of ours is not the future");
  });

  it("puts known reasons and event types in words and leaves unknown ones as they are", () => {
    assert.equal(describeReason("revoked_by_user"), "Revoked by you");
    assert.equal(describeReason("password_changed"), "Password changed");
    assert.equal(describeReason("idle_timeout"), "Idle timeout");
    assert.equal(describeReason("sign_out"), "Signed out");
    assert.equal(describeReason("custom_reason"), "custom_reason");
    assert.deepEqual(describeEvent("sign_in_blocked"), {
      title: "Blocked sign-in attempt",
      tone: "warn",
    });
    assert.equal(describeEvent("something_new").title, "something_new");
  });

  it("refuses page options that would put script or another site in links", () => {
    assert.throws(
      () => resolvePageOptions({ nav: [{ href: "javascript:alert(1)", label: "x" }] }),
      /nav\[0\]\.href/,
    );
    assert.throws(
      () => resolvePageOptions({ locationAttribution: { text: "x", href: " data:text/html,x" } }),
      /locationAttribution\.href/,
    );
    assert.throws(() => resolvePageOptions({ signInPath: "//evil.example/signin" }), /signInPath/);
    assert.throws(() => resolvePageOptions({ timeZone: "Mars/Olympus" }), /timeZone/);
    assert.throws(
      () => resolvePageOptions({ colour: "red" } as never),
      /colour is not an account page option/,
    );
    assert.equal(
      resolvePageOptions({ nav: [{ href: "https://example.com/help", label: "Help" }] }).nav[0]
        ?.method,
      "get",
    );
  });
});
