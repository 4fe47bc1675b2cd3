import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Smtp, startSmtp } from "../../../packages/sessionkeeper/test/protection/harness.js";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const PASSWORD = "correct horse battery";

interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

async function mailbox(run: RunningDemo): Promise<Mail[]> {
  const res = await fetch(`${run.baseUrl}/dev/mailbox.json`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: Mail[] }).messages;
}

/** The newest message to `to` (the dev mailbox lists newest first). */
async function lastMailTo(run: RunningDemo, to: string): Promise<Mail> {
  const found = (await mailbox(run)).find((m) => m.to === to);
  assert.ok(found, `a message to ${to}`);
  return found;
}

function codeOf(mail: { text: string }): string {
  const match = /\b(\d{6,8})\b/.exec(mail.text);
  assert.ok(match, "a code in the mail");
  return match[1] as string;
}

function linkOf(mail: { text: string }, path: string): string {
  const match = new RegExp(`https?://[^\\s"'<>]+${path}\\?token=[A-Za-z0-9._~-]+`).exec(mail.text);
  assert.ok(match, `a ${path} link in the mail`);
  return match[0];
}

async function signUp(run: RunningDemo, email: string): Promise<Client> {
  const client = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
  assert.equal((await client.post("/api/signup", { email, password: PASSWORD })).status, 201);
  return client;
}

describe("new-device verification through the reference app (dev mailbox)", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" });
  });
  after(() => run.close());

  it("holds a new device: the pending cookie is powerless, a wrong code is refused, the right one activates and rotates", async () => {
    const email = "verify@example.com";
    await signUp(run, email);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    const held = await phone.post("/api/signin", { email, password: PASSWORD });
    assert.equal(held.status, 202);
    assert.deepEqual(await held.json(), { status: "verification_required" });
    const pending = phone.cookies.get("sk_session") as string;
    assert.ok(pending, "a pending cookie was set");
    assert.equal((await phone.get("/api/me")).status, 401);
    assert.equal((await phone.get("/api/sessions")).status, 401);
    assert.equal((await phone.post("/api/sessions/revoke-others")).status, 401);

    const mail = await lastMailTo(run, email);
    const code = codeOf(mail);
    assert.ok(
      !mail.text.includes(pending.split(".")[1] as string),
      "the session secret is never mailed",
    );
    const wrong = String((Number(code) + 1) % 10 ** code.length).padStart(code.length, "0");
    const bad = await phone.post("/api/signin/verify", { code: wrong });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "invalid_code" });
    const good = await phone.post("/api/signin/verify", { code });
    assert.equal(good.status, 200);
    const { session } = (await good.json()) as { session: { status: string; current: boolean } };
    assert.equal(session.status, "active");
    const active = phone.cookies.get("sk_session") as string;
    assert.notEqual(active, pending, "token rotated on verification");
    assert.equal((await phone.get("/api/me")).status, 200);
    const stale = new Client(run.baseUrl);
    stale.cookies.set("sk_session", pending);
    assert.equal((await stale.get("/api/me")).status, 401, "the pending cookie is dead");
    // The code is single-use.
    assert.equal((await stale.post("/api/signin/verify", { code })).status, 401);

    // Now a known device: after signing out it signs in again without a code.
    assert.equal((await phone.post("/api/signout")).status, 204);
    assert.equal((await phone.post("/api/signin", { email, password: PASSWORD })).status, 200);
  });

  it("a held sign-in without remember-me keeps the choice when the code activates it", async () => {
    const email = "held-forgetful@example.com";
    await signUp(run, email);
    const library = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    const held = await library.post("/api/signin", {
      email,
      password: PASSWORD,
      rememberMe: false,
    });
    assert.equal(held.status, 202);
    const pendingLine = held.headers.getSetCookie().find((c) => c.startsWith("sk_session=")) ?? "";
    assert.doesNotMatch(pendingLine, /max-age|expires/i, "the pending cookie too");
    const good = await library.post("/api/signin/verify", {
      code: codeOf(await lastMailTo(run, email)),
    });
    assert.equal(good.status, 200);
    const activeLine = good.headers.getSetCookie().find((c) => c.startsWith("sk_session=")) ?? "";
    assert.ok(activeLine, "a new token");
    assert.doesNotMatch(activeLine, /max-age|expires/i);
    const { session } = (await good.json()) as { session: { rememberMe: boolean } };
    assert.equal(session.rememberMe, false);
  });

  it("approve link: GET changes nothing, POST approves, the pending device continues with a new token", async () => {
    const email = "approve@example.com";
    await signUp(run, email);
    const pc = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    assert.equal((await pc.post("/api/signin", { email, password: PASSWORD })).status, 202);
    const pending = pc.cookies.get("sk_session") as string;
    const link = linkOf(await lastMailTo(run, email), "/signin/approve");
    const page = await fetch(link);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form method="post"/);
    assert.equal((await pc.get("/api/me")).status, 401, "a GET of the link approves nothing");
    const token = new URL(link).searchParams.get("token") as string;
    const post = await fetch(`${run.baseUrl}/signin/approve`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(post.status, 200);
    assert.equal((await pc.get("/api/me")).status, 200, "the pending device is now signed in");
    assert.notEqual(pc.cookies.get("sk_session"), pending, "with a new token");
  });

  it("not-me link ends the pending session as locked_out (not_me), and its GET changed nothing", async () => {
    const email = "notme@example.com";
    const owner = await signUp(run, email);
    const thief = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    assert.equal((await thief.post("/api/signin", { email, password: PASSWORD })).status, 202);
    const link = linkOf(await lastMailTo(run, email), "/signin/not-me");
    assert.equal((await fetch(link)).status, 200);
    const code = codeOf(await lastMailTo(run, email));
    const token = new URL(link).searchParams.get("token") as string;
    const post = await fetch(`${run.baseUrl}/signin/not-me`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(post.status, 200);
    // The code no longer works either: the pending session is gone.
    assert.notEqual((await thief.post("/api/signin/verify", { code })).status, 200);
    assert.equal((await thief.get("/api/me")).status, 401);
    const { events } = (await (await owner.get("/api/history")).json()) as {
      events: { type: string; reason: string | null }[];
    };
    assert.ok(events.some((e) => e.type === "session_locked" && e.reason === "not_me"));
  });
});

describe("lockout through the reference app", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo({ LOCKOUT_MAX_FAILURES: "3", NEW_DEVICE_VERIFICATION: "off" });
  });
  after(() => run.close());

  it("answers identically for unknown e-mail and wrong password", async () => {
    await signUp(run, "same@example.com");
    const c = new Client(run.baseUrl);
    const wrong = await c.post("/api/signin", {
      email: "same@example.com",
      password: "nope nope nope",
    });
    const unknown = await c.post("/api/signin", {
      email: "ghost@example.com",
      password: "nope nope nope",
    });
    assert.equal(wrong.status, unknown.status);
    assert.deepEqual(await wrong.json(), await unknown.json());
    assert.equal(wrong.headers.get("retry-after"), unknown.headers.get("retry-after"));
  });

  it("locks the account after N failures: 429 with Retry-After even with the right password, whatever X-Forwarded-For says", async () => {
    const email = "locked@example.com";
    await signUp(run, email);
    const attacker = new Client(run.baseUrl);
    for (let i = 0; i < 3; i++) {
      // A spoofed X-Forwarded-For per attempt: without TRUST_PROXY it neither dodges nor moves the count.
      const res = await attacker.post(
        "/api/signin",
        { email, password: `wrong-${i}-password` },
        { headers: { "x-forwarded-for": `198.51.100.${i + 1}` } },
      );
      assert.equal(res.status, 401);
    }
    const locked = await attacker.post(
      "/api/signin",
      { email, password: PASSWORD },
      { headers: { "x-forwarded-for": "203.0.113.9" } },
    );
    assert.equal(locked.status, 429);
    assert.deepEqual(await locked.json(), { error: "locked_out" });
    const retryAfter = Number(locked.headers.get("retry-after"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, "Retry-After in seconds");
    assert.equal(attacker.cookies.size, 0, "no session was issued");
  });
});

describe("per-IP lockout through the reference app", () => {
  it("counts failures from one address over all accounts (LOCKOUT_MAX_FAILURES_PER_IP)", async () => {
    const run = await startDemo({ LOCKOUT_MAX_FAILURES: "5", LOCKOUT_MAX_FAILURES_PER_IP: "3" });
    try {
      await signUp(run, "spray@example.com");
      const sprayer = new Client(run.baseUrl);
      for (const email of ["a@example.com", "b@example.com", "c@example.com"]) {
        assert.equal(
          (await sprayer.post("/api/signin", { email, password: "guess guess guess" })).status,
          401,
        );
      }
      // Each account saw one failure only, but this address is now locked out, right password or not.
      const res = await sprayer.post("/api/signin", {
        email: "spray@example.com",
        password: PASSWORD,
      });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) > 0);
    } finally {
      await run.close();
    }
  });
});

describe("IP rules through the reference app", () => {
  it("a global deny (IP_DENYLIST) refuses sign-in before credentials with 403 ip_denied", async () => {
    const run = await startDemo({ IP_DENYLIST: "127.0.0.0/8" });
    try {
      const c = new Client(run.baseUrl);
      const right = await c.post("/api/signin", {
        email: "anyone@example.com",
        password: PASSWORD,
      });
      assert.equal(right.status, 403);
      assert.deepEqual(await right.json(), { error: "ip_denied" });
    } finally {
      await run.close();
    }
  });

  it("an account's allow list refuses other IPs with 403 ip_not_allowed; /api/ip-rules lists, adds and deletes", async () => {
    const run = await startDemo({ NEW_DEVICE_VERIFICATION: "off" });
    try {
      const email = "allow@example.com";
      const owner = await signUp(run, email);
      const added = await owner.post("/api/ip-rules", { cidr: "10.0.0.0/8" });
      assert.equal(added.status, 201);
      const { rule } = (await added.json()) as { rule: { id: string; cidr: string } };
      assert.equal(rule.cidr, "10.0.0.0/8");
      assert.equal((await owner.post("/api/ip-rules", { cidr: "10.0.0.0/33" })).status, 400);
      const listed = (await (await owner.get("/api/ip-rules")).json()) as {
        rules: { id: string }[];
      };
      assert.deepEqual(
        listed.rules.map((r) => r.id),
        [rule.id],
      );
      const refused = await new Client(run.baseUrl).post("/api/signin", {
        email,
        password: PASSWORD,
      });
      assert.equal(refused.status, 403);
      assert.deepEqual(await refused.json(), { error: "ip_not_allowed" });
      assert.equal((await owner.delete(`/api/ip-rules/${rule.id}`)).status, 204);
      assert.equal(
        (await new Client(run.baseUrl).post("/api/signin", { email, password: PASSWORD })).status,
        200,
      );
    } finally {
      await run.close();
    }
  });
});

describe("sign-in alerts over real SMTP (SMTP_URL)", () => {
  let run: RunningDemo;
  let smtp: Smtp;
  before(async () => {
    smtp = await startSmtp();
    run = await startDemo({
      SMTP_URL: smtp.url,
      NEW_DEVICE_VERIFICATION: "off",
      SIGNIN_ALERTS: "new-device",
    });
  });
  after(async () => {
    await run.close();
    await smtp.close();
  });

  it("mails an alert for a new device with the hostile User-Agent escaped, and keeps no dev mailbox", async () => {
    const email = "alert@example.com";
    await signUp(run, email);
    const before = smtp.inbox.length;
    const hostile = new Client(run.baseUrl, { "user-agent": UA.hostile });
    assert.equal((await hostile.post("/api/signin", { email, password: PASSWORD })).status, 200);
    assert.equal(smtp.inbox.length, before + 1, "one alert arrived over SMTP");
    const mail = smtp.last();
    assert.equal((mail.to as { text: string }).text, email);
    const html = String(mail.html);
    assert.ok(
      !html.includes("<script>alert(2)</script>") && !html.includes("<img src=x"),
      "no raw markup from the User-Agent",
    );
    assert.ok(
      html.includes("&lt;script&gt;alert(2)&lt;/script&gt;"),
      "the User-Agent is shown escaped",
    );
    assert.equal(
      (await fetch(`${run.baseUrl}/dev/mailbox.json`)).status,
      404,
      "no dev mailbox when SMTP is configured",
    );
  });
});
