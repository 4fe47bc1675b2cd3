// The guard's sign-in with session data and remember-me: what it passes to the session, and that
// data the session cannot take is refused before the guard counts, clears or writes anything.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createGuard, type Guard } from "../../src/protection/guard.js";
import { RequestSession } from "../../src/request-session.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { protectionStore } from "../../src/storage/kysely-protection.js";
import type { RequestInfo } from "../../src/types.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

interface Cart {
  cartId: string;
}

const info: RequestInfo = {
  cookieHeader: null,
  ip: "198.51.100.30",
  userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  secure: false,
};

describe("guard.completeSignIn with session data and remember-me", () => {
  let t: TempSqlite;
  let keeper: SessionKeeper<Cart>;
  let guard: Guard;

  before(async () => {
    t = await tempSqlite("sk-guard-data-");
    keeper = createSessionKeeper<Cart>({ storage: t.store, dataMaxBytes: 64 });
    await keeper.migrate();
    guard = createGuard({
      keeper,
      store: protectionStore(t.store.db),
      verification: "off",
      alerts: "off",
      lockout: { maxFailures: 2 },
    });
  });
  after(() => t.cleanup());

  const sessionRows = () =>
    (t.db.prepare("SELECT count(*) AS n FROM sk_sessions").get() as { n: number }).n;

  it("gives the session its data and remember-me choice", async () => {
    const cookies: string[] = [];
    const rs = new RequestSession(keeper, info, null, (c) => cookies.push(c));
    const result = await guard.completeSignIn(rs, "ann", {
      email: "ann@example.test",
      rememberMe: false,
      data: { cartId: "c-1" },
    });
    assert.equal(result.ok && result.status, "active");
    assert.deepEqual(rs.data, { cartId: "c-1" });
    assert.equal(rs.session?.rememberMe, false);
    const line = cookies.find((c) => c.startsWith("sk_session=")) ?? "";
    assert.doesNotMatch(line, /Max-Age|Expires/);
  });

  it("refuses oversize data with a RangeError before the failure count is cleared or a session written", async () => {
    const input = { accountKey: "bob@example.test", userId: "bob", info };
    await guard.recordFailure(input);
    const before = sessionRows();
    const rs = new RequestSession(keeper, info, null, () => {});
    await assert.rejects(
      guard.completeSignIn(rs, "bob", {
        email: "bob@example.test",
        data: { cartId: "x".repeat(100) },
      }),
      (error: unknown) =>
        error instanceof RangeError && /options\.dataMaxBytes \(64\)/.test(error.message),
    );
    assert.equal(sessionRows(), before, "no session");
    // The one failure before still counts: a second one locks the account (2 allowed).
    await guard.recordFailure(input);
    const verdict = await guard.checkBeforeCredentials(input);
    assert.equal(!verdict.ok && verdict.httpStatus, 429);
  });
});
