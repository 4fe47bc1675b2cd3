import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Re-authentication (sudo mode) in the reference app: dangerous actions need a proof within
// REAUTH_WINDOW (sliding); outside it they answer 401 reauthentication_required with a challenge and
// change nothing; POST /api/reauth {password} records a new proof; wrong passwords count like
// sign-in failures and end the session at the fifth.

const PASSWORD = "correct horse battery";
const HOUR = 3_600_000;

describe("re-authentication before dangerous actions", () => {
  let run: RunningDemo;
  const clock = { now: Date.now() };
  before(async () => {
    run = await startDemo(
      { REAUTH_WINDOW: "1h", LOCKOUT_MAX_FAILURES: "50" },
      { now: () => clock.now },
    );
  });
  after(() => run.close());

  async function account(email: string): Promise<Client> {
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    return owner;
  }

  function assertChallenge(res: Response, body: unknown): void {
    assert.equal(res.status, 401);
    assert.deepEqual(body, {
      error: "reauthentication_required",
      maxAge: 3600,
      factors: ["password", "email_code", "passkey"],
    });
    assert.match(
      res.headers.get("www-authenticate") ?? "",
      /^Bearer error="insufficient_user_authentication".*max_age=3600$/,
    );
  }

  it("a fresh sign-up may act; an hour later every dangerous action is refused and changes nothing", async () => {
    clock.now = Date.now();
    const owner = await account("sudo-1@example.com");
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", { email: "sudo-1@example.com", password: PASSWORD });
    const me = (await (await owner.get("/api/me")).json()) as {
      session: { authenticatedAt: string; authFactor: string };
    };
    assert.equal(me.session.authenticatedAt, new Date(clock.now).toISOString());
    assert.equal(me.session.authFactor, "password");
    assert.equal((await owner.post("/api/ip-rules", { cidr: "127.0.0.0/8" })).status, 201);

    clock.now += HOUR + 1000;
    const sessions = (await (await owner.get("/api/sessions")).json()) as {
      sessions: Array<{ id: string; current: boolean }>;
    };
    const other = sessions.sessions.find((s) => !s.current)?.id as string;
    for (const res of [
      await owner.delete(`/api/sessions/${other}`),
      await owner.post("/api/sessions/revoke-others"),
      await owner.post("/api/password", {
        currentPassword: PASSWORD,
        newPassword: "another long password",
      }),
      await owner.post("/api/ip-rules", { cidr: "192.0.2.0/24" }),
      await owner.delete("/api/ip-rules?cidr=127.0.0.0/8"),
    ]) {
      assertChallenge(res, await res.json());
    }
    // Nothing changed: the phone is still signed in, the old password works, one rule.
    assert.equal((await phone.get("/api/me")).status, 200);
    const rules = (await (await owner.get("/api/ip-rules")).json()) as { rules: unknown[] };
    assert.equal(rules.rules.length, 1);
    const check = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    const signIn = await check.post("/api/signin", {
      email: "sudo-1@example.com",
      password: PASSWORD,
    });
    assert.equal(signIn.status, 200);
    // Signing out (ending the current session) never asks.
    const mine = sessions.sessions.find((s) => s.current)?.id as string;
    assert.equal((await owner.delete(`/api/sessions/${mine}`)).status, 204);
    assert.equal((await owner.get("/api/me")).status, 401);
  });

  it("POST /api/reauth with the password records the proof, rotates the cookie and the action completes", async () => {
    clock.now = Date.now();
    const owner = await account("sudo-2@example.com");
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", { email: "sudo-2@example.com", password: PASSWORD });
    clock.now += 2 * HOUR;
    assert.equal((await owner.post("/api/sessions/revoke-others")).status, 401);

    const before = owner.cookies.get("sk_session");
    const res = await owner.post("/api/reauth", { password: PASSWORD });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { session: { authenticatedAt: string; authFactor: string } };
    assert.equal(body.session.authenticatedAt, new Date(clock.now).toISOString());
    assert.equal(body.session.authFactor, "password");
    assert.notEqual(owner.cookies.get("sk_session"), before, "a new token after the proof");

    const revoked = await owner.post("/api/sessions/revoke-others");
    assert.equal(revoked.status, 200);
    assert.deepEqual(await revoked.json(), { revoked: 1 });
    assert.equal((await phone.get("/api/me")).status, 401);
    // Sliding: 50 minutes after that action, another one is still inside the window.
    clock.now += 50 * 60_000;
    assert.equal((await owner.post("/api/ip-rules", { cidr: "10.0.0.0/8" })).status, 201);
    clock.now += 50 * 60_000;
    assert.equal((await owner.delete("/api/ip-rules?cidr=10.0.0.0/8")).status, 204);

    const user = await run.demo.users.findByEmail("sudo-2@example.com");
    const events = await run.demo.keeper.listEvents(user?.id as string);
    assert.ok(events.some((e) => e.type === "reauthenticated" && e.reason === "password"));
  });

  it("wrong passwords count like sign-in failures and the fifth ends the session", async () => {
    clock.now = Date.now();
    const owner = await account("sudo-3@example.com");
    clock.now += 2 * HOUR;
    assert.equal((await owner.post("/api/reauth", {})).status, 400);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await owner.post("/api/reauth", { password: `guess ${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401]);
    assert.equal((await owner.get("/api/me")).status, 401, "the session ended");
    const user = await run.demo.users.findByEmail("sudo-3@example.com");
    const events = await run.demo.keeper.listEvents(user?.id as string, { limit: 100 });
    assert.equal(
      events.filter((e) => e.type === "sign_in_failed" && e.reason === "wrong_current_password")
        .length,
      5,
    );
    assert.ok(events.some((e) => e.type === "session_locked" && e.reason === "password_guessing"));
    assert.ok(!events.some((e) => e.type === "reauthenticated"));
  });

  it("POST /api/reauth/code mails a code that proves it once, on this session only", async () => {
    clock.now = Date.now();
    const email = "sudo-4@example.com";
    const owner = await account(email);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", { email, password: PASSWORD });
    clock.now += 3 * HOUR;
    assert.equal((await owner.post("/api/reauth", { code: "12345678" })).status, 400);
    const sent = await owner.post("/api/reauth/code");
    assert.equal(sent.status, 202);
    const messages = (await (await fetch(`${run.baseUrl}/dev/mailbox.json`)).json()) as {
      messages: Array<{ to: string; text: string }>;
    };
    const mail = messages.messages.find((m) => m.to === email);
    const code = /\b(\d{6,8})\b/.exec(mail?.text ?? "")?.[1] as string;
    assert.ok(code, "a code in the mail");
    // Not on another session of the same user, and a wrong one is counted.
    assert.equal((await phone.post("/api/reauth", { code })).status, 400);
    assert.equal((await owner.post("/api/reauth", { code: "00000000" })).status, 401);
    const res = await owner.post("/api/reauth", { code });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { session: { authFactor: string } };
    assert.equal(body.session.authFactor, "email_code");
    // Single use.
    assert.equal((await owner.post("/api/reauth", { code })).status, 400);
    assert.equal((await owner.post("/api/sessions/revoke-others")).status, 200);

    const user = await run.demo.users.findByEmail(email);
    const events = await run.demo.keeper.listEvents(user?.id as string, { limit: 100 });
    assert.ok(events.some((e) => e.type === "reauthenticated" && e.reason === "email_code"));
    assert.ok(events.some((e) => e.type === "sign_in_failed" && e.reason === "wrong_reauth_code"));
  });

  it("HTML forms outside the window answer 401 with a link to confirm, change nothing, and work after it", async () => {
    clock.now = Date.now();
    const email = "sudo-5@example.com";
    const owner = await account(email);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", { email, password: PASSWORD });
    clock.now += 2 * HOUR;

    const others = await owner.request("POST", "/account/sessions/revoke-others", { form: {} });
    assert.equal(others.status, 401);
    assert.match(others.headers.get("www-authenticate") ?? "", /insufficient_user_authentication/);
    assert.match(await others.text(), /href="\/account\/reauth\?next=%2Faccount%2Fsessions"/);
    const rule = await owner.request("POST", "/account/security/ip-rules", {
      form: { cidr: "127.0.0.0/8" },
    });
    assert.equal(rule.status, 401);
    assert.match(await rule.text(), /href="\/account\/reauth\?next=%2Faccount%2Fsecurity"/);
    const password = await owner.request("POST", "/account/security/password", {
      form: { currentPassword: PASSWORD, newPassword: "another long password" },
    });
    assert.equal(password.status, 401);
    assert.equal((await phone.get("/api/me")).status, 200, "nothing changed");
    const rules = (await (await owner.get("/api/ip-rules")).json()) as { rules: unknown[] };
    assert.equal(rules.rules.length, 0);

    assert.equal((await owner.get("/account/reauth?next=%2Faccount%2Fsessions")).status, 200);
    const wrong = await owner.request("POST", "/account/reauth", {
      form: { next: "/account/sessions", password: "not my password" },
    });
    assert.equal(wrong.status, 401);
    const right = await owner.request("POST", "/account/reauth", {
      form: { next: "/account/sessions", password: PASSWORD },
    });
    assert.equal(right.status, 303);
    assert.equal(right.headers.get("location"), "/account/sessions");
    const again = await owner.request("POST", "/account/sessions/revoke-others", { form: {} });
    assert.equal(again.status, 303);
    assert.equal((await phone.get("/api/me")).status, 401);
  });
});
