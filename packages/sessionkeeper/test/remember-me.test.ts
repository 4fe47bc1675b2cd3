// Sessions signed in without remember-me, at the keeper: their own idle timeout and touch interval.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSessionKeeper, type SessionKeeper } from "../src/session-keeper.js";
import type { RequestInfo } from "../src/types.js";
import { cookieValue, type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

const SECOND = 1000;
const T0 = 1_767_225_600_000;

function browser(token: string | null = null): RequestInfo {
  return {
    cookieHeader: token ? `sk_session=${token}` : null,
    ip: "198.51.100.40",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    secure: false,
  };
}

describe("sessions without remember-me", () => {
  let t: TempSqlite;
  let keeper: SessionKeeper;
  const clock = { now: T0 };

  before(async () => {
    t = await tempSqlite("sk-remember-");
    // A one-minute idle timeout for them: shorter than the default 60 s touch interval allows.
    keeper = createSessionKeeper({
      storage: t.store,
      browserSessionIdleTimeout: "1m",
      now: () => clock.now,
    });
    await keeper.migrate();
  });
  after(() => t.cleanup());

  async function signIn(rememberMe: boolean): Promise<string> {
    const { setCookies } = await keeper.signIn("ada", browser(), { rememberMe });
    const token = cookieValue(setCookies);
    assert.ok(token);
    return token;
  }

  it("in use every 40 s, stay signed in: their last-seen time is written within a quarter of their idle timeout", async () => {
    clock.now = T0;
    const token = await signIn(false);
    for (let i = 1; i <= 6; i++) {
      clock.now = T0 + i * 40 * SECOND;
      assert.ok(await keeper.validate(browser(token)), `request ${i}, at ${i * 40} s`);
    }
  });

  it("unused for their idle timeout, end as expired (idle_timeout); a remembered one does not", async () => {
    clock.now = T0;
    const forgetful = await signIn(false);
    const kept = await signIn(true);
    clock.now = T0 + 60 * SECOND;
    assert.equal(await keeper.validate(browser(forgetful)), null);
    assert.ok(await keeper.validate(browser(kept)));
    const [ended] = (await keeper.listSessions("ada", { includeEnded: true })).filter(
      (s) => s.status === "expired" && !s.rememberMe,
    );
    assert.equal(ended?.endReason, "idle_timeout");
  });

  it("say so in the session view: rememberMe false, expiring at the shorter idle deadline", async () => {
    clock.now = T0;
    const token = await signIn(false);
    const found = await keeper.validate(browser(token));
    assert.equal(found?.session.rememberMe, false);
    assert.equal(found?.session.expiresAt.getTime(), T0 + 60 * SECOND);
    assert.equal(keeper.settings.browserSessionIdleTimeout, 60 * SECOND);
  });
});
