// IP rules end to end over HTTP. The app trusts its loopback proxy, so each request's client IP
// is the X-Forwarded-For the test sends, as behind a real reverse proxy.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createGuard } from "../../src/protection/guard.js";
import { createSessionKeeper } from "../../src/session-keeper.js";
import { protectionStore } from "../../src/storage/kysely-protection.js";
import {
  Client,
  eventRows,
  type Smtp,
  sessionRow,
  startApp,
  startSmtp,
  type TestApp,
} from "./harness.js";

const PASSWORD = "correct horse battery staple";

describe("IP rules", () => {
  let smtp: Smtp;
  let app: TestApp;
  let admin: Client;

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({ smtp, keeper: { trustProxy: "loopback" }, guard: { alerts: "off" } });
    admin = new Client(app.url);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  /** Signs in as if from `ip` (through the trusted proxy); returns the client and the reply. */
  async function signInFrom(ip: string, email: string, password = PASSWORD) {
    const client = new Client(app.url);
    const reply = await client.post("/api/signin", { email, password }, { "x-forwarded-for": ip });
    return { client, reply };
  }

  async function statusFrom(ip: string, email: string, password = PASSWORD): Promise<number> {
    return (await signInFrom(ip, email, password)).reply.status;
  }

  async function deny(cidr: string) {
    const reply = await admin.post("/admin/deny", { cidr });
    assert.equal(reply.status, 201, `deny ${cidr}`);
    return reply.json.rule as { id: string; cidr: string };
  }

  it("a global deny answers 403 ip_denied before the password is looked at (IPv4 range edges, single address)", async () => {
    app.addUser("ann@example.test", PASSWORD);
    const counters = () => app.sqlite.db.prepare("SELECT COUNT(*) AS n FROM sk_counters").get();
    const countersBefore = counters();
    await deny("198.51.100.0/24");
    for (const [password, email] of [
      [PASSWORD, "ann@example.test"],
      ["wrong", "ann@example.test"],
      ["wrong", "nobody@example.test"],
    ] as const) {
      const { reply } = await signInFrom("198.51.100.0", email, password);
      assert.equal(reply.status, 403);
      assert.deepEqual(reply.json, { error: "ip_denied" });
    }
    assert.deepEqual(
      counters(),
      countersBefore,
      "no failure counted: the password was never checked",
    );
    assert.equal(
      await statusFrom("198.51.100.255", "ann@example.test"),
      403,
      "last address of the range",
    );
    assert.equal(await statusFrom("198.51.101.0", "ann@example.test"), 200, "one past the range");
    assert.equal(
      await statusFrom("198.51.99.255", "ann@example.test"),
      200,
      "one before the range",
    );

    await deny("203.0.113.7");
    assert.equal(await statusFrom("203.0.113.7", "ann@example.test"), 403);
    assert.equal(await statusFrom("203.0.113.8", "ann@example.test"), 200);
    const blocked = eventRows(app.sqlite).filter(
      (e) => e.type === "sign_in_blocked" && e.reason === "ip_denied",
    );
    assert.ok(blocked.some((e) => e.user_id === "user-1" && e.ip === "198.51.100.0"));
    assert.ok(
      blocked.some((e) => e.user_id === null),
      "attempts on unknown accounts are recorded too",
    );
  });

  it("IPv6 ranges and IPv4-mapped addresses are normalised on both sides", async () => {
    app.addUser("bob@example.test", PASSWORD);
    await deny("2001:db8:abcd::/48");
    assert.equal(await statusFrom("2001:db8:abcd::", "bob@example.test"), 403, "first address");
    assert.equal(
      await statusFrom("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", "bob@example.test"),
      403,
      "last address",
    );
    assert.equal(
      await statusFrom("2001:DB8:ABCD:0:0:0:0:1", "bob@example.test"),
      403,
      "another spelling",
    );
    assert.equal(await statusFrom("2001:db8:abce::", "bob@example.test"), 200, "one past");
    assert.equal(
      await statusFrom("2001:db8:abcc:ffff:ffff:ffff:ffff:ffff", "bob@example.test"),
      200,
      "one before",
    );

    await deny("192.0.2.0/28");
    assert.equal(
      await statusFrom("::ffff:192.0.2.15", "bob@example.test"),
      403,
      "a mapped client address is IPv4",
    );
    assert.equal(await statusFrom("::ffff:192.0.2.16", "bob@example.test"), 200);
    const mappedRule = await deny("::ffff:100.64.10.0/120");
    assert.equal(mappedRule.cidr, "100.64.10.0/24", "a mapped rule is stored as IPv4");
    assert.equal(await statusFrom("100.64.10.200", "bob@example.test"), 403);
    assert.equal(await statusFrom("100.64.11.0", "bob@example.test"), 200);
    assert.equal((await admin.post("/admin/deny", { cidr: "10.0.0.0/33" })).status, 400);
  });

  it("an account's allow list refuses other IPs with 403 ip_not_allowed; the user manages it", async () => {
    const userId = app.addUser("cat@example.test", PASSWORD);
    app.addUser("dan@example.test", PASSWORD);
    const { client } = await signInFrom("10.1.2.3", "cat@example.test");
    const headers = { "x-forwarded-for": "10.1.2.3" };
    for (const bad of ["10.1.2.0/33", "not-an-ip", "1.2.3", "", "10.1.2.0/24/1"]) {
      const reply = await client.post("/api/ip-rules", { cidr: bad }, headers);
      assert.equal(reply.status, 400, bad);
      assert.deepEqual(reply.json, { error: "invalid_cidr" });
    }
    const added = await client.post(
      "/api/ip-rules",
      { cidr: "10.1.2.0/24", note: "office <b>" },
      headers,
    );
    assert.equal(added.status, 201);
    app.clock.advance(1000);
    const v6 = await client.post("/api/ip-rules", { cidr: "2001:db8:1::/64" }, headers);
    assert.equal(v6.status, 201);
    const listed = (await client.get("/api/ip-rules", headers)).json.rules;
    assert.deepEqual(
      listed.map((r: { cidr: string; note: string | null }) => [r.cidr, r.note]),
      [
        ["10.1.2.0/24", "office <b>"],
        ["2001:db8:1::/64", null],
      ],
    );

    assert.equal(await statusFrom("10.1.2.0", "cat@example.test"), 200, "first address");
    assert.equal(await statusFrom("10.1.2.255", "cat@example.test"), 200, "last address");
    assert.equal(await statusFrom("::ffff:10.1.2.9", "cat@example.test"), 200, "mapped inside");
    assert.equal(await statusFrom("2001:db8:1::ffff", "cat@example.test"), 200, "IPv6 inside");
    const outside = await signInFrom("10.1.3.0", "cat@example.test");
    assert.equal(outside.reply.status, 403);
    assert.deepEqual(outside.reply.json, { error: "ip_not_allowed" });
    assert.equal(outside.client.cookie("sk_session"), undefined);
    assert.equal(await statusFrom("2001:db8:2::", "cat@example.test"), 403);
    assert.equal(
      await statusFrom("10.1.3.0", "dan@example.test"),
      200,
      "other accounts are not affected",
    );
    assert.ok(
      eventRows(app.sqlite).some(
        (e) =>
          e.type === "sign_in_blocked" && e.reason === "ip_not_allowed" && e.user_id === userId,
      ),
    );

    const dan = (await signInFrom("10.1.3.0", "dan@example.test")).client;
    const catRuleId = added.json.rule.id as string;
    assert.equal(
      (await dan.delete(`/api/ip-rules/${catRuleId}`)).status,
      404,
      "another account's rule is not yours",
    );
    assert.equal((await client.delete(`/api/ip-rules/${catRuleId}`)).status, 204);
    assert.equal((await client.delete(`/api/ip-rules/${v6.json.rule.id}`)).status, 204);
    assert.equal(
      await statusFrom("10.1.3.0", "cat@example.test"),
      200,
      "no allow list, no restriction",
    );
  });

  it("outside an allow list a wrong password answers 401 like an unknown address; only the right one gets 403", async () => {
    app.addUser("eve-allow@example.test", PASSWORD);
    const { client } = await signInFrom("10.9.8.7", "eve-allow@example.test");
    const headers = { "x-forwarded-for": "10.9.8.7" };
    assert.equal(
      (await client.post("/api/ip-rules", { cidr: "10.9.8.0/24" }, headers)).status,
      201,
    );

    // A stranger outside the list cannot tell that this address has an account, or an allow list.
    const wrong = await signInFrom("10.9.9.1", "eve-allow@example.test", "wrong password");
    const unknown = await signInFrom("10.9.9.1", "nobody-allow@example.test", "wrong password");
    assert.equal(wrong.reply.status, 401);
    assert.deepEqual(wrong.reply.json, unknown.reply.json);
    assert.deepEqual(wrong.reply.json, { error: "invalid_credentials" });
    assert.ok(
      eventRows(app.sqlite).some(
        (e) => e.type === "sign_in_failed" && e.ip === "10.9.9.1" && e.user_id !== null,
      ),
      "the wrong guess is counted and recorded as a failed sign-in",
    );
    // The right password from outside: refused, no session, recorded.
    const right = await signInFrom("10.9.9.1", "eve-allow@example.test");
    assert.equal(right.reply.status, 403);
    assert.deepEqual(right.reply.json, { error: "ip_not_allowed" });
    assert.equal(right.client.cookie("sk_session"), undefined);
  });

  it("a new deny rule cuts off a live session from that IP on its next request", async () => {
    app.addUser("eve@example.test", PASSWORD);
    app.addUser("fay@example.test", PASSWORD);
    const here = { "x-forwarded-for": "192.0.2.200" };
    const elsewhere = { "x-forwarded-for": "192.0.2.100" };
    const eve = (await signInFrom("192.0.2.200", "eve@example.test")).client;
    const fay = (await signInFrom("192.0.2.100", "fay@example.test")).client;
    assert.equal((await eve.get("/api/me", here)).status, 200);

    await deny("192.0.2.192/26");
    assert.equal((await eve.get("/api/me", here)).status, 401, "refused on the very next request");
    const eveId = (eve.cookie("sk_session") as string).split(".")[0] as string;
    assert.deepEqual(sessionRow(app.sqlite, eveId), { status: "revoked", end_reason: "ip_denied" });
    assert.ok(
      eventRows(app.sqlite).some(
        (e) => e.type === "session_revoked" && e.reason === "ip_denied" && e.session_id === eveId,
      ),
    );
    assert.equal(
      (await eve.get("/api/me", elsewhere)).status,
      401,
      "and stays ended from anywhere",
    );
    assert.equal(
      (await fay.get("/api/me", elsewhere)).status,
      200,
      "sessions outside the rule live on",
    );
  });

  it("rules added by another instance are picked up within the cache TTL", async () => {
    app.addUser("gil@example.test", PASSWORD);
    // A second instance: its own keeper and guard over the same database.
    const otherKeeper = createSessionKeeper({
      storage: app.sqlite.store,
      now: () => app.clock.now,
    });
    const other = createGuard({
      keeper: otherKeeper,
      store: protectionStore(app.sqlite.store.db),
      alerts: "off",
    });
    assert.equal(await statusFrom("203.0.113.99", "gil@example.test"), 200);
    assert.equal((await other.addGlobalDeny("203.0.113.99")).ok, true);
    app.clock.advance(31_000);
    assert.equal(await statusFrom("203.0.113.99", "gil@example.test"), 403);
  });
});
