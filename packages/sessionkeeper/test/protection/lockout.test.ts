// Lockout end to end over HTTP. Each test sends from its own loopback address (127.0.0.x), so the
// per-IP counts of one test do not reach the next; the proxy is not trusted (the default).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Client,
  eventRows,
  type Reply,
  type Smtp,
  startApp,
  startSmtp,
  type TestApp,
} from "./harness.js";

const PASSWORD = "correct horse battery staple";

/** What a client can observe of an answer, minus the Date header. */
function observable(reply: Reply) {
  const { date: _date, ...headers } = reply.headers;
  return { status: reply.status, text: reply.text, headers };
}

describe("lockout (maxFailures 5, window 15m, proxy not trusted)", () => {
  let smtp: Smtp;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({ smtp, guard: { alerts: "off" } });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it("after 5 failures sign-in answers 429 locked_out with Retry-After, even with the right password", async () => {
    const userId = app.addUser("ann@example.test", PASSWORD);
    const client = new Client(app.url, { localAddress: "127.0.0.11" });
    for (let i = 0; i < 5; i++) {
      const reply = await client.post("/api/signin", {
        email: "ann@example.test",
        password: `wrong-${i}`,
      });
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.json, { error: "invalid_credentials" });
    }
    const locked = await client.post("/api/signin", {
      email: "ann@example.test",
      password: PASSWORD,
    });
    assert.equal(locked.status, 429);
    assert.deepEqual(locked.json, { error: "locked_out" });
    assert.equal(
      locked.headers["retry-after"],
      "900",
      "the window opened at the first failure, 15 minutes ago at most",
    );
    assert.equal(client.cookie("sk_session"), undefined, "no session while locked out");
    assert.ok(eventRows(app.sqlite).some((e) => e.type === "locked_out" && e.user_id === userId));

    app.clock.advance(10 * 60_000);
    const still = await client.post("/api/signin", {
      email: "ann@example.test",
      password: PASSWORD,
    });
    assert.equal(still.status, 429);
    assert.equal(still.headers["retry-after"], "300");
    app.clock.advance(5 * 60_000);
    assert.equal(
      (await client.post("/api/signin", { email: "ann@example.test", password: PASSWORD })).status,
      200,
      "the window has ended",
    );
  });

  it("answers an unknown e-mail exactly like a wrong password, and counts it the same", async () => {
    app.addUser("bob@example.test", PASSWORD);
    const known = new Client(app.url, { localAddress: "127.0.0.12" });
    const unknown = new Client(app.url, { localAddress: "127.0.0.12" });
    for (let i = 0; i < 6; i++) {
      const a = await known.post("/api/signin", { email: "bob@example.test", password: "wrong" });
      const b = await unknown.post("/api/signin", {
        email: "nobody@example.test",
        password: "wrong",
      });
      assert.deepEqual(observable(b), observable(a), `attempt ${i + 1}`);
      assert.equal(a.status, i < 5 ? 401 : 429);
    }
  });

  it("a successful sign-in clears the account's count", async () => {
    app.addUser("cat@example.test", PASSWORD);
    const client = new Client(app.url, { localAddress: "127.0.0.15" });
    const attempt = (password: string) =>
      client.post("/api/signin", { email: "cat@example.test", password });
    for (let i = 0; i < 4; i++) assert.equal((await attempt("wrong")).status, 401);
    assert.equal((await attempt(PASSWORD)).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await attempt("wrong")).status, 401);
    assert.equal((await attempt(PASSWORD)).status, 200);
  });

  it("a spoofed X-Forwarded-For neither dodges nor redirects the count when the proxy is not trusted", async () => {
    app.addUser("dan@example.test", PASSWORD);
    app.addUser("eve@example.test", PASSWORD);
    const attacker = new Client(app.url, { localAddress: "127.0.0.13" });
    const spoof = (i: number) => ({ "x-forwarded-for": `198.51.100.${i}, 127.0.0.14` });

    // Rotating the header does not make each guess look like a new client.
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (
          await attacker.post(
            "/api/signin",
            { email: "dan@example.test", password: `guess-${i}` },
            spoof(i),
          )
        ).status,
        401,
      );
    }
    assert.equal(
      (
        await attacker.post(
          "/api/signin",
          { email: "dan@example.test", password: PASSWORD },
          spoof(99),
        )
      ).status,
      429,
    );

    // Spraying many accounts from one address hits the per-IP limit (4 × 5) whatever the header says.
    for (let i = 5; i < 20; i++) {
      const reply = await attacker.post(
        "/api/signin",
        { email: `user${i}@example.test`, password: "guess" },
        spoof(i),
      );
      assert.equal(reply.status, 401, `spray ${i}`);
    }
    const sprayed = await attacker.post(
      "/api/signin",
      { email: "eve@example.test", password: PASSWORD },
      spoof(200),
    );
    assert.equal(sprayed.status, 429, "the attacker's address is locked, right password or not");

    // The header named 127.0.0.14: that address was not charged for any of it.
    const victim = new Client(app.url, { localAddress: "127.0.0.14" });
    assert.equal(
      (await victim.post("/api/signin", { email: "eve@example.test", password: PASSWORD })).status,
      200,
    );
    const ips = new Set(
      eventRows(app.sqlite)
        .filter((e) => e.type === "sign_in_failed")
        .map((e) => e.ip),
    );
    assert.ok(
      ips.has("127.0.0.13") &&
        !ips.has("127.0.0.14") &&
        ![...ips].some((ip) => ip?.startsWith("198.51.100.")),
    );
  });
});
