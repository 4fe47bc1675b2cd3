import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Review finding 2: verification codes brute-forced by signing in again for a fresh code.
// Documented limit (docs/security.md): at most 2 × maxCodeAttempts (10 by default) wrong codes per
// account per hour over all its pending sessions, and at most 3 verification mails per hour.

const PASSWORD = "correct horse battery";
const MAX_GUESSES = 10;
const MAX_MAILS = 3;

interface Mail {
  to: string;
  text: string;
}

async function mailsTo(run: RunningDemo, to: string): Promise<Mail[]> {
  const res = await fetch(`${run.baseUrl}/dev/mailbox.json`);
  return ((await res.json()) as { messages: Mail[] }).messages.filter(
    (m) => m.to === to && /\b\d{8}\b/.test(m.text),
  );
}

function codeOf(mail: Mail): string {
  return (/\b(\d{8})\b/.exec(mail.text) as RegExpExecArray)[1] as string;
}

function wrongCodes(code: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    String((Number(code) + 1 + i) % 10 ** code.length).padStart(code.length, "0"),
  );
}

describe("review 2: verification codes cannot be brute-forced by signing in again", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device", LOCKOUT_MAX_FAILURES: "5" });
  });
  after(() => run.close());

  async function account(email: string): Promise<string> {
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const user = await run.demo.users.findByEmail(email);
    assert.ok(user);
    return user.id;
  }

  it("30 cycles of sign-in + 5 wrong codes give at most 10 checked guesses and 3 mails, then 429", async () => {
    const email = "guessed@example.com";
    const userId = await account(email);
    const attacker = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    let checked = 0;
    let refused429 = 0;
    for (let cycle = 0; cycle < 30; cycle++) {
      const signIn = await attacker.post("/api/signin", { email, password: PASSWORD });
      if (signIn.status === 429) {
        assert.deepEqual(await signIn.json(), { error: "too_many_attempts" });
        assert.ok(Number(signIn.headers.get("retry-after")) > 0, "Retry-After");
        refused429++;
        continue;
      }
      assert.equal(signIn.status, 202);
      const [latest] = await mailsTo(run, email);
      for (const guess of wrongCodes(codeOf(latest as Mail), 5)) {
        const res = await attacker.post("/api/signin/verify", { code: guess });
        if (res.status === 400 || res.status === 403) checked++;
        if (res.status === 429) {
          assert.ok(Number(res.headers.get("retry-after")) > 0, "Retry-After");
          break;
        }
        if (res.status !== 400) break;
      }
    }
    const events = await run.demo.keeper.listEvents(userId, { limit: 1000 });
    const guesses = events.filter(
      (e) => e.type === "verification_failed" && e.reason === "invalid_code",
    ).length;
    assert.ok(guesses <= MAX_GUESSES, `${guesses} codes were checked`);
    assert.ok(checked <= MAX_GUESSES, `${checked} guesses were answered`);
    assert.ok(refused429 > 0, "later sign-ins are refused with 429");
    const mails = (await mailsTo(run, email)).length;
    assert.ok(mails <= MAX_MAILS, `${mails} verification mails`);
  });

  it("once the account is over the limit, even the right code of another pending session is refused (429)", async () => {
    const email = "spread@example.com";
    await account(email);
    const devices = [UA.firefoxWindows, UA.safariIphone, UA.hostile].map(
      (ua) => new Client(run.baseUrl, { "user-agent": ua }),
    );
    const codes: string[] = [];
    for (const device of devices) {
      assert.equal((await device.post("/api/signin", { email, password: PASSWORD })).status, 202);
      codes.push(codeOf((await mailsTo(run, email))[0] as Mail));
    }
    // A fourth verification mail within the hour is refused.
    const fourth = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    const over = await fourth.post("/api/signin", { email, password: PASSWORD });
    assert.equal(over.status, 429);
    assert.equal((await mailsTo(run, email)).length, MAX_MAILS);
    // Ten wrong codes over the first two pending sessions.
    const [a, b, c] = devices as [Client, Client, Client];
    for (const guess of wrongCodes(codes[0] as string, 5))
      await a.post("/api/signin/verify", { code: guess });
    const statuses: number[] = [];
    for (const guess of wrongCodes(codes[1] as string, 5))
      statuses.push((await b.post("/api/signin/verify", { code: guess })).status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 429]);
    const right = await c.post("/api/signin/verify", { code: codes[2] });
    assert.equal(right.status, 429);
    assert.deepEqual(await right.json(), { error: "too_many_attempts" });
    assert.equal((await c.get("/api/me")).status, 401);
  });
});
