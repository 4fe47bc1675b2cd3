import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Review finding 8: POST /api/signin/verify gives one answer per state, matching its cookie.

const PASSWORD = "correct horse battery";
const MINUTE = 60_000;

interface Mail {
  to: string;
  text: string;
}

async function lastMailTo(run: RunningDemo, to: string): Promise<Mail> {
  const res = await fetch(`${run.baseUrl}/dev/mailbox.json`);
  const found = ((await res.json()) as { messages: Mail[] }).messages.find((m) => m.to === to);
  assert.ok(found, `a message to ${to}`);
  return found;
}

function codeOf(mail: Mail): string {
  const match = /\b(\d{6,8})\b/.exec(mail.text);
  assert.ok(match, "a code in the mail");
  return match[1] as string;
}

function approveToken(mail: Mail): string {
  const match = /\/signin\/approve\?token=([A-Za-z0-9._~-]+)/.exec(mail.text);
  assert.ok(match, "an approve link in the mail");
  return match[1] as string;
}

describe("review 8: the verify endpoint answers one thing per state", () => {
  let run: RunningDemo;
  let clock = Date.now();
  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" }, { now: () => clock });
  });
  after(() => run.close());

  async function pendingSignIn(email: string): Promise<Client> {
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    assert.equal((await phone.post("/api/signin", { email, password: PASSWORD })).status, 202);
    return phone;
  }

  it("approved by link, then the right code: 200 with the active session it set", async () => {
    const email = "approved-then-code@example.com";
    const phone = await pendingSignIn(email);
    const mail = await lastMailTo(run, email);
    const approved = await fetch(`${run.baseUrl}/signin/approve`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: approveToken(mail) }).toString(),
    });
    assert.equal(approved.status, 200);
    const res = await phone.post("/api/signin/verify", { code: codeOf(mail) });
    assert.equal(res.status, 200);
    const { session } = (await res.json()) as { session: { status: string } };
    assert.equal(session.status, "active");
    assert.equal((await phone.get("/api/me")).status, 200, "the cookie it set is the active one");
  });

  it("approved by link, then a wrong code: still 200, the approval stands", async () => {
    const email = "approved-then-typo@example.com";
    const phone = await pendingSignIn(email);
    const mail = await lastMailTo(run, email);
    await fetch(`${run.baseUrl}/signin/approve`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: approveToken(mail) }).toString(),
    });
    const res = await phone.post("/api/signin/verify", { code: "00000000" });
    assert.equal(res.status, 200);
    assert.equal((await phone.get("/api/me")).status, 200);
  });

  it("an expired code: 400 verification_expired and the pending cookie cleared", async () => {
    const email = "expired@example.com";
    const phone = await pendingSignIn(email);
    const code = codeOf(await lastMailTo(run, email));
    clock += 60 * MINUTE;
    const res = await phone.post("/api/signin/verify", { code });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: "verification_expired" });
    assert.equal(phone.cookies.has("sk_session"), false, "the pending cookie was cleared");
    assert.equal((await phone.get("/api/me")).status, 401);
  });
});
