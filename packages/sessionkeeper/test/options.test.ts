import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resolveOptions, type SessionKeeperOptions } from "../src/options.js";
import { createSessionKeeper } from "../src/session-keeper.js";
import type { SessionStore } from "../src/storage/contract.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

let sqlite: TempSqlite;
let storage: SessionStore;
before(async () => {
  sqlite = await tempSqlite("sk-options-");
  storage = sqlite.store;
});
after(() => sqlite.cleanup());

/** Asserts that an option value is refused at start-up with a TypeError naming the option. */
function assertRejected(option: string, value: unknown): void {
  const options = { storage, [option]: value } as unknown as SessionKeeperOptions;
  for (const build of [() => resolveOptions(options), () => createSessionKeeper(options)]) {
    assert.throws(build, (error: unknown) => {
      assert.ok(error instanceof TypeError, `${option}=${String(value)} throws a TypeError`);
      assert.match(
        error.message,
        new RegExp(`options\\.${option}\\b`),
        `message names options.${option}: ${error.message}`,
      );
      return true;
    });
  }
}

describe("options", () => {
  it("has safe defaults", () => {
    const resolved = resolveOptions({ storage });
    assert.equal(resolved.idleTimeout, 14 * 86_400_000);
    assert.equal(resolved.absoluteTimeout, 90 * 86_400_000);
    assert.equal(resolved.touchInterval, 60_000);
    assert.equal(resolved.cookieName, "sk_session");
    assert.equal(resolved.deviceCookieName, "sk_device");
    assert.equal(resolved.secure, "auto");
    assert.deepEqual(resolved.trust, { kind: "none" });
    assert.equal(resolved.userAgentMaxLength, 512);
    assert.equal(resolved.browserSessionIdleTimeout, 2 * 3_600_000);
    assert.equal(resolved.dataMaxBytes, 4096);
  });

  it("keeps browserSessionIdleTimeout at most idleTimeout", () => {
    const resolved = resolveOptions({ storage, idleTimeout: "30m" });
    assert.equal(resolved.browserSessionIdleTimeout, 1_800_000);
    assert.equal(
      resolveOptions({ storage, browserSessionIdleTimeout: "15m" }).browserSessionIdleTimeout,
      900_000,
    );
  });

  it("accepts durations as strings and milliseconds", () => {
    const resolved = resolveOptions({
      storage,
      idleTimeout: "30m",
      absoluteTimeout: 7 * 86_400_000,
      touchInterval: "90s",
    });
    assert.deepEqual(
      [resolved.idleTimeout, resolved.absoluteTimeout, resolved.touchInterval],
      [1_800_000, 604_800_000, 90_000],
    );
    assert.equal(resolveOptions({ storage, idleTimeout: "1.5h" }).idleTimeout, 5_400_000);
  });

  it("keeps the touch interval well below a short idle timeout", () => {
    assert.equal(resolveOptions({ storage, idleTimeout: "2m" }).touchInterval, 30_000);
    assert.equal(
      resolveOptions({ storage, idleTimeout: "2m", touchInterval: "5m" }).touchInterval,
      30_000,
    );
    // A quarter of the idle timeout even when that is under a second, so a session in use never idles out.
    assert.equal(resolveOptions({ storage, idleTimeout: "2s" }).touchInterval, 500);
  });

  it("refuses bad durations, naming the option", () => {
    for (const option of [
      "idleTimeout",
      "absoluteTimeout",
      "touchInterval",
      "deviceCookieMaxAge",
    ]) {
      for (const value of [
        "soon",
        "30 minutes",
        "30",
        "-5m",
        "0s",
        "",
        "1e3s",
        "5y",
        0,
        -1,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        {},
        [],
        true,
        "9".repeat(40),
      ]) {
        assertRejected(option, value);
      }
    }
  });

  it("refuses bad cookie names, naming the option", () => {
    for (const option of ["cookieName", "deviceCookieName"]) {
      for (const value of [
        "",
        "a b",
        "a;b",
        "a=b",
        "__Host-sid",
        "__Secure-sid",
        "__host-sid",
        "x".repeat(65),
        "sé",
        42,
      ]) {
        assertRejected(option, value);
      }
    }
    assertRejected("deviceCookieName", "sk_session");
    assert.throws(
      () => resolveOptions({ storage, cookieName: "sid", deviceCookieName: "sid" }),
      /options\.deviceCookieName/,
    );
  });

  it("refuses a bad secure setting", () => {
    for (const value of ["yes", "true", 1, 0, {}]) assertRejected("secure", value);
    assert.equal(resolveOptions({ storage, secure: true }).secure, true);
  });

  it("refuses a bad trustProxy", () => {
    for (const value of [
      true,
      -1,
      1.5,
      33,
      "all",
      "127.0.0.1",
      [],
      ["garbage"],
      ["10.0.0.0/33"],
      {},
      null,
    ]) {
      assertRejected("trustProxy", value);
    }
    assert.deepEqual(resolveOptions({ storage, trustProxy: 2 }).trust, { kind: "hops", hops: 2 });
    assert.equal(
      resolveOptions({ storage, trustProxy: ["10.0.0.0/8", "loopback"] }).trust.kind,
      "set",
    );
  });

  it("refuses bad excludePaths", () => {
    for (const value of ["/healthz", ["healthz"], ["/ok", 42], [null], {}])
      assertRejected("excludePaths", value);
    assert.deepEqual(
      resolveOptions({ storage, excludePaths: ["/healthz", /^\/static\//] }).excludePaths.length,
      2,
    );
  });

  it("refuses an unknown option, naming it", () => {
    assertRejected("idleTimout", "5m");
    assertRejected("cookie", { name: "x" });
  });

  it("refuses a missing store and other bad values, naming each", () => {
    assert.throws(() => resolveOptions({} as SessionKeeperOptions), /options\.storage/);
    assert.throws(() => resolveOptions({ storage: {} as SessionStore }), /options\.storage/);
    assert.throws(() => resolveOptions(null as unknown as SessionKeeperOptions), TypeError);
    assertRejected("now", "Date.now");
    assertRejected("onEvent", "log");
    assertRejected("geo", {});
    for (const value of [10, 1000, 100.5, "512"]) assertRejected("userAgentMaxLength", value);
    for (const value of [0, -1, 65_536, 1.5, "4kb"]) assertRejected("dataMaxBytes", value);
    for (const value of [0, "soon", -5]) assertRejected("browserSessionIdleTimeout", value);
  });
});
