// A User-Agent is whatever the client sends: what is stored (session and history) is capped at
// userAgentMaxLength (default 512) and holds no control characters, so a hostile header can
// neither bloat rows nor smuggle line breaks into pages, mail or logs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSessionKeeper, type SessionKeeper } from "../src/index.js";
import { type TempSqlite, tempSqlite } from "./helpers/sqlite-fixture.js";

describe("the stored User-Agent", () => {
  let t: TempSqlite;
  let keeper: SessionKeeper;
  before(async () => {
    t = await tempSqlite("sk-ua-limit-");
    keeper = createSessionKeeper({ storage: t.store });
    await keeper.migrate();
  });
  after(() => t.cleanup());

  it("is capped at 512 characters and stripped of control characters, in the session and its history", async () => {
    const hostile = `Mozilla/5.0 (X11; Linux x86_64)\r\nX-Injected: 1\u0000\u001b[31m${"A".repeat(2000)}`;
    const { record } = await keeper.signIn("ua-user", {
      cookieHeader: null,
      ip: "198.51.100.1",
      userAgent: hostile,
      secure: false,
    });
    const stored = await keeper.getSession(record.id);
    for (const ua of [stored?.userAgent, (await keeper.listEvents("ua-user"))[0]?.userAgent]) {
      assert.equal(ua?.length, 512);
      assert.doesNotMatch(ua ?? "", /[\u0000-\u001f\u007f]/);
      assert.ok(ua?.startsWith("Mozilla/5.0 (X11; Linux x86_64)X-Injected: 1[31mAAA"));
    }
  });

  it("follows userAgentMaxLength", async () => {
    const short = createSessionKeeper({ storage: t.store, userAgentMaxLength: 64 });
    const { record } = await short.signIn("ua-user-2", {
      cookieHeader: null,
      ip: "198.51.100.2",
      userAgent: "B".repeat(300),
      secure: false,
    });
    assert.equal((await short.getSession(record.id))?.userAgent?.length, 64);
  });
});
