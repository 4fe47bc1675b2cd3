import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const SESSION_FIELDS = [
  "browser",
  "createdAt",
  "current",
  "device",
  "expiresAt",
  "id",
  "ip",
  "lastIp",
  "lastSeenAt",
  "location",
  "os",
  "rememberMe",
  "status",
];

describe("reference app JSON API", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo();
  });
  after(() => run.close());

  async function signedUp(email: string, ua = UA.chromeMac): Promise<Client> {
    const client = new Client(run.baseUrl, { "user-agent": ua });
    const res = await client.post("/api/signup", { email, password: "correct horse battery" });
    assert.equal(res.status, 201);
    return client;
  }

  it("signs up, answers /api/me, and lists the session with the contract's fields and no secret", async () => {
    const client = await signedUp("Fields@Example.com");
    const me = await client.get("/api/me");
    assert.equal(me.status, 200);
    const body = (await me.json()) as { user: { email: string }; session: { id: string } };
    assert.equal(body.user.email, "fields@example.com", "e-mail normalised");
    const list = await client.get("/api/sessions");
    assert.equal(list.status, 200);
    const text = await list.text();
    const { sessions } = JSON.parse(text) as { sessions: Record<string, unknown>[] };
    assert.equal(sessions.length, 1);
    const session = sessions[0] as Record<string, unknown>;
    for (const field of SESSION_FIELDS) assert.ok(field in session, `field ${field}`);
    assert.equal(session.current, true);
    assert.deepEqual(session.browser, { name: "Chrome", version: "131.0.0.0" });
    assert.deepEqual(session.os, { name: "macOS", version: "10.15.7" });
    // Neither the token, its secret half nor any hash may appear in the JSON.
    const token = client.cookies.get("sk_session") as string;
    const secret = token.split(".")[1] as string;
    assert.ok(!text.includes(secret), "secret not in JSON");
    assert.ok(!/[0-9a-f]{64}/.test(text), "no hash-shaped value in JSON");
    assert.ok(!("secretHash" in session) && !("token" in session));
  });

  it("signs in with the right password only, answering identically for unknown e-mail and wrong password", async () => {
    await signedUp("login@example.com");
    const other = new Client(run.baseUrl);
    const wrong = await other.post("/api/signin", {
      email: "login@example.com",
      password: "wrong password!",
    });
    const unknown = await other.post("/api/signin", {
      email: "nobody@example.com",
      password: "wrong password!",
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(await wrong.json(), await unknown.json());
    const ok = await other.post("/api/signin", {
      email: " LOGIN@example.com ",
      password: "correct horse battery",
    });
    assert.equal(ok.status, 200);
    const { session } = (await ok.json()) as { session: { current: boolean } };
    assert.equal(session.current, true);
  });

  it("revokes another device's session, which then gets 401; a second revoke is 404", async () => {
    const laptop = await signedUp("revoke@example.com");
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    assert.equal(
      (
        await phone.post("/api/signin", {
          email: "revoke@example.com",
          password: "correct horse battery",
        })
      ).status,
      200,
    );
    const { sessions } = (await (await laptop.get("/api/sessions")).json()) as {
      sessions: { id: string; current: boolean }[];
    };
    assert.equal(sessions.length, 2);
    assert.equal(sessions[0]?.current, true, "current first");
    const phoneId = sessions.find((s) => !s.current)?.id as string;
    assert.equal((await laptop.delete(`/api/sessions/${phoneId}`)).status, 204);
    assert.equal((await phone.get("/api/me")).status, 401);
    assert.equal((await laptop.delete(`/api/sessions/${phoneId}`)).status, 404);
    assert.equal((await laptop.get("/api/me")).status, 200);
  });

  it("answers 404 for another user's session id and leaves it alive (no IDOR)", async () => {
    const alice = await signedUp("alice@example.com");
    const mallory = await signedUp("mallory@example.com");
    const { sessions } = (await (await alice.get("/api/sessions")).json()) as {
      sessions: { id: string }[];
    };
    const aliceId = sessions[0]?.id as string;
    const res = await mallory.delete(`/api/sessions/${aliceId}`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: "not_found" });
    assert.equal((await alice.get("/api/me")).status, 200);
    const malloryList = (await (await mallory.get("/api/sessions")).json()) as {
      sessions: { id: string }[];
    };
    assert.ok(!malloryList.sessions.some((s) => s.id === aliceId));
  });

  it("revokes all other sessions and reports how many", async () => {
    const one = await signedUp("others@example.com");
    const two = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    const three = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    for (const c of [two, three])
      await c.post("/api/signin", {
        email: "others@example.com",
        password: "correct horse battery",
      });
    const res = await one.post("/api/sessions/revoke-others");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { revoked: 2 });
    assert.equal((await two.get("/api/me")).status, 401);
    assert.equal((await three.get("/api/me")).status, 401);
    assert.equal((await one.get("/api/me")).status, 200);
  });

  it("refuses a cross-origin unsafe request with 403 and changes nothing", async () => {
    const victim = await signedUp("csrf@example.com");
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    await phone.post("/api/signin", {
      email: "csrf@example.com",
      password: "correct horse battery",
    });
    const evil = await victim.post("/api/sessions/revoke-others", undefined, {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(evil.status, 403);
    const site = await victim.post("/api/sessions/revoke-others", undefined, {
      headers: { "sec-fetch-site": "cross-site" },
    });
    assert.equal(site.status, 403);
    assert.equal((await phone.get("/api/me")).status, 200, "the other session survived");
    // Sign-in is origin-checked too: another site cannot log a browser in to its own account.
    const login = await new Client(run.baseUrl).post(
      "/api/signin",
      { email: "csrf@example.com", password: "correct horse battery" },
      { headers: { origin: "https://evil.example" } },
    );
    assert.equal(login.status, 403);
    assert.equal(login.headers.getSetCookie().length, 0);
  });

  it("changes the password: rotates this token, ends every other session, old password stops working", async () => {
    const main = await signedUp("pw@example.com");
    const other = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    await other.post("/api/signin", { email: "pw@example.com", password: "correct horse battery" });
    const before = main.cookies.get("sk_session") as string;
    const stale = new Client(run.baseUrl);
    stale.cookies.set("sk_session", before);
    const bad = await main.post("/api/password", {
      currentPassword: "not it at all",
      newPassword: "another good one",
    });
    assert.equal(bad.status, 403);
    const res = await main.post("/api/password", {
      currentPassword: "correct horse battery",
      newPassword: "another good one",
    });
    assert.equal(res.status, 204);
    const after = main.cookies.get("sk_session") as string;
    assert.notEqual(after, before, "token rotated");
    assert.equal((await main.get("/api/me")).status, 200, "new token works");
    assert.equal((await stale.get("/api/me")).status, 401, "old token is dead");
    assert.equal((await other.get("/api/me")).status, 401, "other session ended");
    const oldPw = await new Client(run.baseUrl).post("/api/signin", {
      email: "pw@example.com",
      password: "correct horse battery",
    });
    assert.equal(oldPw.status, 401);
    const newPw = await new Client(run.baseUrl).post("/api/signin", {
      email: "pw@example.com",
      password: "another good one",
    });
    assert.equal(newPw.status, 200);
    type Step = { type: string; reason: string | null };
    const history = (await (await main.get("/api/history")).json()) as {
      events: Array<Step & { kind: string; timeline: Step[] }>;
    };
    // The other session's ending is the last step of its sign-in's story; the change is its own entry.
    assert.ok(
      history.events.some(
        (e) =>
          e.kind === "sign_in" &&
          e.timeline.some((s) => s.type === "session_revoked" && s.reason === "password_changed"),
      ),
    );
    assert.ok(history.events.some((e) => e.kind === "security" && e.type === "password_changed"));
  });

  it("signs out: 204, cookie cleared, the old cookie is refused", async () => {
    const client = await signedUp("out@example.com");
    const token = client.cookies.get("sk_session") as string;
    const res = await client.post("/api/signout");
    assert.equal(res.status, 204);
    assert.ok(
      res.headers.getSetCookie().some((c) => /^sk_session=;/.test(c) && /Max-Age=0/.test(c)),
    );
    const replay = new Client(run.baseUrl);
    replay.cookies.set("sk_session", token);
    assert.equal((await replay.get("/api/me")).status, 401);
  });

  it("keeps /healthz out of session handling and answers bad JSON with 400, not 500", async () => {
    const res = await fetch(`${run.baseUrl}/healthz`, {
      headers: { cookie: "sk_session=garbage" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.getSetCookie().length, 0);
    const bad = await fetch(`${run.baseUrl}/api/signin`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{bad",
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "invalid_request" });
  });

  it("rememberMe: false signs in with a cookie without Max-Age or Expires; absent or true, a lasting one", async () => {
    await signedUp("remember@example.com");
    const password = "correct horse battery";
    const signIn = async (extra: Record<string, unknown>) => {
      const browser = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
      const res = await browser.post("/api/signin", {
        email: "remember@example.com",
        password,
        ...extra,
      });
      const line = res.headers.getSetCookie().find((c) => c.startsWith("sk_session="));
      return { res, browser, line: line ?? "" };
    };
    const forgetful = await signIn({ rememberMe: false });
    assert.equal(forgetful.res.status, 200);
    assert.doesNotMatch(forgetful.line, /max-age|expires/i);
    const body = (await forgetful.res.json()) as { session: { rememberMe: boolean } };
    assert.equal(body.session.rememberMe, false);
    const listed = (await (await forgetful.browser.get("/api/sessions")).json()) as {
      sessions: Array<{ current: boolean; rememberMe: boolean }>;
    };
    assert.equal(listed.sessions.find((s) => s.current)?.rememberMe, false);
    const devices = await (await forgetful.browser.get("/account/sessions")).text();
    assert.match(devices, /Until the browser closes/);

    for (const extra of [{}, { rememberMe: true }]) {
      const kept = await signIn(extra);
      assert.equal(kept.res.status, 200);
      assert.match(kept.line, /Max-Age=\d+/, JSON.stringify(extra));
      assert.equal(
        ((await kept.res.json()) as { session: { rememberMe: boolean } }).session.rememberMe,
        true,
      );
    }
    // Hostile input is refused before the password is checked or a failure counted.
    for (const rememberMe of ["no", 0, null, { a: 1 }]) {
      const odd = await signIn({ rememberMe });
      assert.equal(odd.res.status, 400, JSON.stringify(rememberMe));
      assert.deepEqual(await odd.res.json(), { error: "invalid_remember_me" });
      assert.equal(odd.line, "", "no cookie");
    }
  });

  it("the sign-in form's Remember me box: ticked by default; unticked gives a cookie that ends with the browser", async () => {
    await signedUp("form-remember@example.com");
    const page = await (await new Client(run.baseUrl).get("/signin")).text();
    assert.match(
      page,
      /<input id="rememberMe" name="rememberMe" type="checkbox" value="on" checked>/,
    );
    const form = { email: "form-remember@example.com", password: "correct horse battery" };
    const unticked = await new Client(run.baseUrl).request("POST", "/signin", { form });
    assert.equal(unticked.status, 303);
    const line = unticked.headers.getSetCookie().find((c) => c.startsWith("sk_session="));
    assert.ok(line);
    assert.doesNotMatch(line, /max-age|expires/i);
    const ticked = await new Client(run.baseUrl).request("POST", "/signin", {
      form: { ...form, rememberMe: "on" },
    });
    assert.equal(ticked.status, 303);
    assert.match(
      ticked.headers.getSetCookie().find((c) => c.startsWith("sk_session=")) ?? "",
      /Max-Age=\d+/,
    );
    // A failed attempt shows the form again with the user's choice kept.
    const failed = await new Client(run.baseUrl).request("POST", "/signin", {
      form: { email: form.email, password: "wrong password!" },
    });
    assert.equal(failed.status, 401);
    assert.match(await failed.text(), /type="checkbox" value="on">/);
  });

  it("the sign-in form follows ?next= only to same-site paths", async () => {
    await signedUp("next@example.com");
    const cases: Array<[string, string]> = [
      ["/account/history", "/account/history"],
      ["//evil.example/x", "/account/sessions"],
      ["/\\evil.example", "/account/sessions"],
      ["https://evil.example/", "/account/sessions"],
      ["javascript:alert(1)", "/account/sessions"],
    ];
    for (const [next, expected] of cases) {
      const browser = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
      const res = await browser.request("POST", "/signin", {
        form: { email: "next@example.com", password: "correct horse battery", next },
      });
      assert.equal(res.status, 303, next);
      assert.equal(res.headers.get("location"), expected, next);
    }
  });
});
