import assert from "node:assert/strict";
import { it } from "node:test";
import { ConfigError, readConfig } from "../src/config.js";

it("reads the documented defaults", () => {
  const config = readConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, "sqlite:./data/app.db");
  assert.equal(config.newDeviceVerification, "new-device");
  assert.equal(config.signinAlerts, "new-device");
  assert.equal(config.lockoutMaxFailures, 5);
  assert.equal(config.trustProxy, false);
  assert.equal(config.redisUrl, null);
});

it("parses TRUST_PROXY as off, a hop count, loopback or a CIDR list", () => {
  assert.equal(readConfig({ TRUST_PROXY: "off" }).trustProxy, false);
  assert.equal(readConfig({ TRUST_PROXY: "2" }).trustProxy, 2);
  assert.equal(readConfig({ TRUST_PROXY: "loopback" }).trustProxy, "loopback");
  assert.deepEqual(readConfig({ TRUST_PROXY: "10.0.0.0/8, 192.168.1.1" }).trustProxy, [
    "10.0.0.0/8",
    "192.168.1.1",
  ]);
});

it("refuses bad values with an error naming the variable", () => {
  const bad: Record<string, string> = {
    PORT: "http",
    SESSION_IDLE_TIMEOUT: "soon",
    SESSION_ABSOLUTE_TIMEOUT: "-1d",
    NEW_DEVICE_VERIFICATION: "always",
    SIGNIN_ALERTS: "sometimes",
    LOCKOUT_MAX_FAILURES: "0",
    PUBLIC_URL: "javascript:alert(1)",
  };
  for (const [name, value] of Object.entries(bad)) {
    assert.throws(
      () => readConfig({ [name]: value }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, name);
        assert.match(error.message, new RegExp(name), name);
        return true;
      },
    );
  }
});
