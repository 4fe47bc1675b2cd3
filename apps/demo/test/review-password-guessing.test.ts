import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Review finding 3: with a stolen cookie, the current-password check of POST /api/password could be
// guessed without limit. Wrong guesses now count with the account's sign-in failures, are recorded,
// and end the session after 5.

const PASSWORD = "correct horse battery";

describe("review 3: the current-password check is throttled", () => {
  let run: RunningDemo;
  before(async () => {
    // A lockout high enough that the per-session limit is what stops this session.
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "off", LOCKOUT_MAX_FAILURES: "50" });
  });
  after(() => run.close());

  it("60 wrong currentPassword guesses: recorded, the session ends after 5, the 61st (right) fails", async () => {
    const email = "stolen-cookie@example.com";
    const owner = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const thief = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    thief.cookies.set("sk_session", owner.cookies.get("sk_session") as string);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const res = await thief.post("/api/password", {
        currentPassword: `wrong guess ${i}`,
        newPassword: "a new password of mine",
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, 4), [403, 403, 403, 403]);
    assert.equal(
      statuses.filter((s) => s === 403).length <= 5,
      true,
      `${statuses.filter((s) => s === 403).length} guesses were checked`,
    );
    assert.ok(
      statuses.slice(5).every((s) => s === 401),
      "the session ended after 5 guesses",
    );
    const right = await thief.post("/api/password", {
      currentPassword: PASSWORD,
      newPassword: "a new password of mine",
    });
    assert.equal(right.status, 401);
    assert.equal((await owner.get("/api/me")).status, 401, "the stolen session is over");

    // The password is unchanged, and the guesses are in the history.
    const again = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await again.post("/api/signin", { email, password: PASSWORD })).status, 200);
    const user = await run.demo.users.findByEmail(email);
    const events = await run.demo.keeper.listEvents(user?.id as string, { limit: 1000 });
    const failed = events.filter(
      (e) => e.type === "sign_in_failed" && e.reason === "wrong_current_password",
    );
    assert.equal(failed.length, 5);
    assert.ok(events.some((e) => e.type === "session_locked" && e.reason === "password_guessing"));
  });

  it("wrong current passwords count with sign-in failures: a locked-out account gets 429 on both", async () => {
    const locked = await startDemo({ NEW_DEVICE_VERIFICATION: "off", LOCKOUT_MAX_FAILURES: "3" });
    try {
      const email = "counted@example.com";
      const owner = new Client(locked.baseUrl, { "user-agent": UA.chromeMac });
      assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
      for (let i = 0; i < 3; i++) {
        const res = await owner.post("/api/password", {
          currentPassword: `nope ${i}`,
          newPassword: "a new password of mine",
        });
        assert.equal(res.status, 403);
      }
      const res = await owner.post("/api/password", {
        currentPassword: PASSWORD,
        newPassword: "a new password of mine",
      });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      const other = new Client(locked.baseUrl);
      assert.equal((await other.post("/api/signin", { email, password: PASSWORD })).status, 429);
    } finally {
      await locked.close();
    }
  });
});
