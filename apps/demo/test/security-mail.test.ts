import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// The reference app tells the owner about security changes through its mailer (the dev mailbox
// here): a password change, and the moment the account starts refusing unknown devices.

const PASSWORD = "correct horse battery";

describe("security mail in the reference app", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "off", LOCKOUT_MAX_FAILURES: "3" });
  });
  after(() => run.close());

  const mailTo = (to: string) =>
    (run.demo.mailbox?.messages() ?? []).filter((m) => m.to === to).map((m) => m.subject);

  it("mails the owner when the password changes, with a link to the security page", async () => {
    const email = "changer@example.com";
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const res = await owner.post("/api/password", {
      currentPassword: PASSWORD,
      newPassword: "another long password",
    });
    assert.equal(res.status, 204);
    await waitFor(() => mailTo(email).some((s) => /password was changed/.test(s)));
    const mail = run.demo.mailbox?.messages().find((m) => m.to === email);
    assert.ok(mail?.text.includes(`${run.baseUrl}/account/security`));
    assert.match(mail?.text ?? "", /Chrome/);
  });

  it("mails once when wrong passwords start the lock, however many follow", async () => {
    const email = "locked@example.com";
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const stranger = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await stranger.post("/api/signin", { email, password: `guess ${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 429, 429]);
    await waitFor(() => mailTo(email).some((s) => /paused/.test(s)));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(mailTo(email).filter((s) => /paused/.test(s)).length, 1);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), "the mail arrived");
}
