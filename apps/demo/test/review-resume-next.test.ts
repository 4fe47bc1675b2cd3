// Review finding: the re-authentication page resumed a kept form post to `next`, a path the link
// to the page chose, and the JSON account API ignored `sk_resume`. A victim who had a form kept
// and followed an attacker's link to /account/reauth?next=/api/sessions/<pending>/approve
// approved the attacker's held sign-in by typing their own password. Now the page resumes only
// to the kept post's own path (from the server), and the account API refuses a resume (409).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const PASSWORD = "correct horse battery";
const clock = { now: Date.UTC(2026, 0, 5, 9) };
let run: RunningDemo;
before(async () => {
  run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" }, { now: () => clock.now });
});
after(() => run?.close());

const AUTO_FORM = /<form method="post" action="([^"]+)" data-sk-resume data-auto>/;

it("a link to /account/reauth?next=<approve the attacker> resumes the victim's own kept form, and approves nothing", async () => {
  const victim = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
  const signedUp = await victim.post("/api/signup", { email: "v@example.com", password: PASSWORD });
  assert.equal(signedUp.status, 201);
  clock.now += 3 * 3_600_000; // the victim's proof is now older than the 2-hour window

  // The attacker knows the password; their new device is held for verification.
  const attacker = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
  const held = await attacker.post("/api/signin", { email: "v@example.com", password: PASSWORD });
  assert.equal(held.status, 202);
  const pendingId = (attacker.cookies.get("sk_session") as string).split(".")[0];

  // The victim submits a security form outside the window: it is kept for after the proof.
  const kept = await victim.request("POST", "/account/security/ip-rules", {
    form: { cidr: "127.0.0.1" },
  });
  assert.equal(kept.status, 303);

  // The victim follows the attacker's link and confirms with the password.
  const next = `/api/sessions/${pendingId}/approve`;
  const page = await (await victim.get(`/account/reauth?next=${encodeURIComponent(next)}`)).text();
  assert.ok(!page.includes(`${next}?sk_resume=1`), "the page offers no resume to the link's path");
  const confirmed = await victim.request("POST", "/account/reauth", {
    form: { next, password: PASSWORD },
  });
  const action = AUTO_FORM.exec(await confirmed.text())?.[1]?.replace(/&amp;/g, "&");
  assert.equal(action, "/account/security/ip-rules?sk_resume=1", "resumes the kept form itself");
  const completed = await victim.request("POST", action as string, { form: {} });
  assert.equal(completed.status, 303);
  const rules = (await (await victim.get("/api/ip-rules")).json()) as { rules: unknown[] };
  assert.equal(rules.rules.length, 1, "the kept form completed once");

  // Even posted by hand inside the fresh window, a "resume" to the JSON API does nothing.
  const forced = await victim.request("POST", `${next}?sk_resume=1`, { form: {} });
  assert.equal(forced.status, 409);
  assert.deepEqual(await forced.json(), { error: "nothing_to_resume" });
  const cont = await attacker.get("/signin/verify/continue");
  assert.notEqual(cont.headers.get("location"), "/account/sessions");
  assert.equal((await attacker.get("/api/me")).status, 401, "the attacker is still held");
});
