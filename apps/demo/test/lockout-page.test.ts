// The sign-in page of the reference app while the account is locked out: the refusal says in words
// when to try again, and the owner's known device still gets in.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const PASSWORD = "correct horse battery";

describe("the sign-in page during a lockout (LOCKOUT_MAX_FAILURES 3, window 15m)", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo({ LOCKOUT_MAX_FAILURES: "3", NEW_DEVICE_VERIFICATION: "off" });
  });
  after(() => run.close());

  const form = (client: Client, email: string, password: string) =>
    client.request("POST", "/signin", { form: { email, password, next: "/account/sessions" } });

  it("tells an unknown device how many minutes to wait, and lets the owner's known device in", async () => {
    const email = "paged@example.com";
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);

    const attacker = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    for (let i = 0; i < 3; i++)
      assert.equal((await form(attacker, email, `wrong ${i} password`)).status, 401);

    const refused = await form(attacker, email, PASSWORD);
    assert.equal(refused.status, 429);
    // The window started at the first failure, a moment ago (seconds on a loaded machine).
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter > 840 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    const page = await refused.text();
    assert.match(page, /Too many failed attempts\. Try again in 15 minutes\./);
    assert.doesNotMatch(page, /Try again later/);

    // Signed out but still on the device the account was created on: a known device.
    assert.equal((await owner.post("/signout")).status, 303);
    const ownerIn = await form(owner, email, PASSWORD);
    assert.equal(ownerIn.status, 303, "the owner's known device is not locked out");
    assert.equal(ownerIn.headers.get("location"), "/account/sessions");
  });
});
