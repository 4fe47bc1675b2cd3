import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
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
      // No passkey registered: the challenge does not offer one.
      factors: ["password", "email_code"],
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

  it("HTML forms outside the window are kept, and complete once after confirming it's you", async () => {
    clock.now = Date.now();
    const email = "sudo-5@example.com";
    const owner = await account(email);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", { email, password: PASSWORD });
    clock.now += 2 * HOUR;

    // The app's form is kept and the browser sent to confirm; nothing changed yet.
    const rule = await owner.request("POST", "/account/security/ip-rules", {
      form: { cidr: "127.0.0.0/8" },
    });
    assert.equal(rule.status, 303);
    assert.equal(
      rule.headers.get("location"),
      "/account/reauth?next=%2Faccount%2Fsecurity%2Fip-rules",
    );
    assert.match(rule.headers.get("www-authenticate") ?? "", /insufficient_user_authentication/);
    const resumeCookie = rule.headers
      .getSetCookie()
      .find((c) => c.startsWith("sk_session_resume="));
    assert.ok(resumeCookie, "the browser holds the key to its kept post");
    assert.match(resumeCookie, /HttpOnly/);
    assert.match(resumeCookie, /SameSite=Strict/);
    assert.match(resumeCookie, /Max-Age=300/);
    const listRules = async () =>
      ((await (await owner.get("/api/ip-rules")).json()) as { rules: Array<{ cidr: string }> })
        .rules;
    assert.equal((await listRules()).length, 0);
    // The database holds the post encrypted, never the typed value.
    const db = new Database(join(run.dir, "app.db"), { readonly: true });
    const rows = db
      .prepare("select path, data from sk_reauth_state where kind = 'kept_post'")
      .all() as Array<{
      path: string;
      data: string;
    }>;
    db.close();
    assert.ok(rows.some((r) => r.path === "/account/security/ip-rules"));
    assert.ok(
      rows.every(
        (r) =>
          !r.data.includes("127.0.0") &&
          !Buffer.from(r.data, "base64url").toString("latin1").includes("127.0.0"),
      ),
    );

    // Resuming before the proof does nothing: the browser is sent to confirm again.
    const early = await owner.request("POST", "/account/security/ip-rules?sk_resume=1", {
      form: {},
    });
    assert.equal(early.status, 303);
    assert.equal((await listRules()).length, 0);

    const page = await owner.get("/account/reauth?next=%2Faccount%2Fsecurity%2Fip-rules");
    assert.equal(page.status, 200);
    assert.match(
      await page.text(),
      /action="\/account\/security\/ip-rules\?sk_resume=1" data-sk-resume hidden/,
    );
    const wrong = await owner.request("POST", "/account/reauth", {
      form: { next: "/account/security/ip-rules", password: "not my password" },
    });
    assert.equal(wrong.status, 401);
    const right = await owner.request("POST", "/account/reauth", {
      form: { next: "/account/security/ip-rules", password: PASSWORD },
    });
    assert.equal(right.status, 200);
    const body = await right.text();
    assert.match(
      body,
      /<form method="post" action="\/account\/security\/ip-rules\?sk_resume=1" data-sk-resume data-auto>/,
    );
    assert.match(right.headers.get("content-security-policy") ?? "", /script-src 'sha256-/);

    // Another session cannot use this browser's key, even with the cookie copied and a fresh proof.
    assert.equal((await phone.post("/api/reauth", { password: PASSWORD })).status, 200);
    phone.cookies.set("sk_session_resume", owner.cookies.get("sk_session_resume") as string);
    const stolen = await phone.request("POST", "/account/security/ip-rules?sk_resume=1", {
      form: {},
    });
    assert.equal(stolen.status, 409);
    assert.equal((await listRules()).length, 0);

    // The kept action completes once, and goes where it would have gone.
    const done = await owner.request("POST", "/account/security/ip-rules?sk_resume=1", {
      form: {},
    });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "/account/security?done=rule-added");
    assert.deepEqual(
      (await listRules()).map((r) => r.cidr),
      ["127.0.0.0/8"],
    );
    assert.equal(owner.cookies.has("sk_session_resume"), false, "the key is dropped");
    // A replay of the resume does nothing.
    owner.cookies.set("sk_session_resume", resumeCookie.split(";")[0]?.split("=")[1] as string);
    const replay = await owner.request("POST", "/account/security/ip-rules?sk_resume=1", {
      form: {},
    });
    assert.equal(replay.status, 409);
    assert.equal((await listRules()).length, 1);

    // Inside the window forms act at once.
    const again = await owner.request("POST", "/account/sessions/revoke-others", { form: {} });
    assert.equal(again.status, 303);
    assert.equal((await phone.get("/api/me")).status, 401);
  });

  it("the devices page keeps 'sign out all other sessions' and completes it once after confirming", async () => {
    clock.now = Date.now();
    const email = "sudo-6@example.com";
    const owner = await account(email);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", { email, password: PASSWORD });
    clock.now += 2 * HOUR;

    // Outside the window the action is kept and the browser sent to confirm; nothing changed.
    const kept = await owner.request("POST", "/account/sessions/revoke-others", { form: {} });
    assert.equal(kept.status, 303);
    assert.equal(
      kept.headers.get("location"),
      "/account/reauth?next=%2Faccount%2Fsessions%2Frevoke-others",
    );
    assert.ok(
      owner.cookies.has("sk_session_resume"),
      "the browser holds the key to its kept action",
    );
    const resumeValue = owner.cookies.get("sk_session_resume") as string;
    assert.equal((await phone.get("/api/me")).status, 200);

    // Resuming before the proof does nothing but send the browser to confirm again.
    const early = await owner.request("POST", "/account/sessions/revoke-others?sk_resume=1", {
      form: {},
    });
    assert.equal(early.status, 303);
    assert.match(early.headers.get("location") ?? "", /^\/account\/reauth\?next=/);
    assert.equal((await phone.get("/api/me")).status, 200);

    const right = await owner.request("POST", "/account/reauth", {
      form: { next: "/account/sessions/revoke-others", password: PASSWORD },
    });
    assert.equal(right.status, 200);
    assert.match(
      await right.text(),
      /action="\/account\/sessions\/revoke-others\?sk_resume=1" data-sk-resume data-auto/,
    );
    // The phone cannot run the owner's kept action with the owner's key.
    assert.equal((await phone.post("/api/reauth", { password: PASSWORD })).status, 200);
    phone.cookies.set("sk_session_resume", resumeValue);
    const stolen = await phone.request("POST", "/account/sessions/revoke-others?sk_resume=1", {
      form: {},
    });
    assert.equal(stolen.status, 303);
    assert.match(stolen.headers.get("location") ?? "", /done=already-done/);
    assert.equal((await owner.get("/api/me")).status, 200);

    // The kept action runs once and lands on the devices page with its notice.
    const done = await owner.request("POST", "/account/sessions/revoke-others?sk_resume=1", {
      form: {},
    });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "/account/sessions?done=signed-out-others&count=1");
    assert.equal((await phone.get("/api/me")).status, 401);
    // A replay with the old key does nothing more.
    owner.cookies.set("sk_session_resume", resumeValue);
    const replay = await owner.request("POST", "/account/sessions/revoke-others?sk_resume=1", {
      form: {},
    });
    assert.equal(replay.status, 303);
    assert.match(replay.headers.get("location") ?? "", /done=already-done/);
    assert.equal((await owner.get("/api/me")).status, 200);
  });
});
