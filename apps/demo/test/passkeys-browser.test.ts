import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, type CDPSession, chromium, type Page } from "playwright-core";
import { type RunningDemo, startDemo } from "./harness.js";

// Passkeys in Debian's Chromium through a CDP virtual authenticator (a platform authenticator
// with a resident key and user verification): registered on the security page, used on the
// "confirm it's you" page to complete a kept form post, and refused by the server when the
// authenticator does not verify the user.

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const HOUR = 3_600_000;
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;

describe("passkeys in Chromium (virtual authenticator)", { skip }, () => {
  let run: RunningDemo;
  let browser: Browser;
  const clock = { now: Date.now() };

  before(async () => {
    run = await startDemo(
      { REAUTH_WINDOW: "1h", LOCKOUT_MAX_FAILURES: "50" },
      { now: () => clock.now, host: "localhost" },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
    });
  });
  after(async () => {
    await browser?.close();
    await run?.close();
  });

  async function signedUpPage(email: string): Promise<{ page: Page; cdp: CDPSession; id: string }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${run.baseUrl}/signup`);
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit].primary");
    await page.waitForURL(/\/account\/sessions$/);
    return { page, cdp, id: authenticatorId };
  }

  async function addPasskey(page: Page, name: string): Promise<void> {
    await page.goto(`${run.baseUrl}/account/security`);
    await page.fill("#passkeyName", name);
    await page.click("text=Add a passkey");
    await page.waitForURL(/done=passkey-added/);
  }

  async function events(email: string) {
    const user = await run.demo.users.findByEmail(email);
    return run.demo.keeper.listEvents(user?.id as string, { limit: 100 });
  }

  it("registers a passkey on the security page, then completes a kept form with it", async () => {
    clock.now = Date.now();
    const email = "passkey-1@example.com";
    const { page } = await signedUpPage(email);
    await addPasskey(page, "Test laptop");
    assert.match(await page.locator("#pk-heading + p + ul").innerText(), /Test laptop/);
    assert.ok((await events(email)).some((e) => e.type === "passkey_added"));

    // Outside the window: the form is kept, the browser asked to confirm, and the passkey does it.
    clock.now += 2 * HOUR;
    await page.fill("#cidr", "127.0.0.0/8");
    await page.click("#cidr + button");
    await page.waitForURL(/\/account\/reauth\?next=%2Faccount%2Fsecurity%2Fip-rules$/);
    await page.click("text=Use a passkey");
    await page.waitForURL(/\/account\/security\?done=rule-added$/);
    assert.match(await page.locator(".rules").last().innerText(), /127\.0\.0\.0\/8/);
    const me = (await (await page.request.get(`${run.baseUrl}/api/me`)).json()) as {
      session: { authFactor: string; authenticatedAt: string };
    };
    assert.equal(me.session.authFactor, "passkey");
    assert.equal(me.session.authenticatedAt, new Date(clock.now).toISOString());
    const history = await events(email);
    assert.ok(history.some((e) => e.type === "reauthenticated" && e.reason === "passkey"));
    assert.equal(history.filter((e) => e.type === "reauthenticated").length, 1);

    // The JSON API: listed, renamed; the challenge now offers the passkey.
    const api = (method: string, path: string, data?: unknown) =>
      page.request.fetch(`${run.baseUrl}${path}`, {
        method,
        headers: { origin: run.baseUrl },
        ...(data !== undefined ? { data } : {}),
      });
    const listed = (await (await api("GET", "/api/passkeys")).json()) as {
      passkeys: Array<{ id: string; name: string; lastUsedAt: string | null }>;
    };
    assert.equal(listed.passkeys.length, 1);
    const [key] = listed.passkeys as [{ id: string; name: string; lastUsedAt: string | null }];
    assert.equal(key.lastUsedAt, new Date(clock.now).toISOString());
    const renamed = await api("PATCH", `/api/passkeys/${encodeURIComponent(key.id)}`, {
      name: "Work laptop",
    });
    assert.equal(renamed.status(), 200);
    assert.equal(
      ((await renamed.json()) as { passkey: { name: string } }).passkey.name,
      "Work laptop",
    );
    assert.equal((await api("PATCH", "/api/passkeys/not-mine", { name: "x" })).status(), 404);
    // The name goes into pages and the owner's mail: the device names' rule refuses a direction
    // override (it would make "Work laptop" read as something else) and line separators.
    for (const name of ["\u202epotpal kroW", "Work\u2028laptop", "x".repeat(65)])
      assert.equal(
        (await api("PATCH", `/api/passkeys/${encodeURIComponent(key.id)}`, { name })).status(),
        400,
        JSON.stringify(name),
      );
    clock.now += 2 * HOUR;
    const refused = await api("DELETE", `/api/passkeys/${encodeURIComponent(key.id)}`);
    assert.equal(refused.status(), 401);
    assert.deepEqual(await refused.json(), {
      error: "reauthentication_required",
      maxAge: 3600,
      factors: ["password", "email_code", "passkey"],
    });

    // Removing it on the page: kept, confirmed with the passkey itself, then removed once.
    await page.goto(`${run.baseUrl}/account/security`);
    await page.click("text=Remove Work laptop");
    await page.waitForURL(/\/account\/reauth\?next=/);
    await page.click("text=Use a passkey");
    await page.waitForURL(/\/account\/security\?done=passkey-removed$/);
    assert.match(await page.locator("#pk-heading + p + p").innerText(), /No passkeys yet/);
    assert.ok((await events(email)).some((e) => e.type === "passkey_removed"));
  });

  it("signs in with a passkey on the sign-in page, from a device never seen, without a code, while guessers have the account locked", async () => {
    clock.now = Date.now();
    const email = "passkey-3@example.com";
    const { page } = await signedUpPage(email);
    await addPasskey(page, "Laptop");
    // Strangers guess the password until the account refuses unknown devices (50 here).
    for (let i = 0; i < 50; i++)
      await fetch(`${run.baseUrl}/api/signin`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: run.baseUrl },
        body: JSON.stringify({ email, password: `guess ${i}` }),
      });
    // A browser with no cookies at all: an unknown device. The right password is refused now…
    await page.context().clearCookies();
    const refused = await page.request.post(`${run.baseUrl}/api/signin`, {
      headers: { origin: run.baseUrl },
      data: { email, password: PASSWORD },
    });
    assert.equal(refused.status(), 429, "the lockout holds unknown devices");
    // …but the owner's passkey is proof no guesser has: it signs in, and is not held for a code.
    await page.goto(`${run.baseUrl}/signin?next=%2Faccount%2Fsecurity`);
    await page.click("text=Sign in with a passkey");
    await page.waitForURL(/\/account\/security$/);
    const me = (await (await page.request.get(`${run.baseUrl}/api/me`)).json()) as {
      user: { email: string };
      session: { authFactor: string; status: string };
    };
    assert.equal(me.user.email, email);
    assert.equal(me.session.authFactor, "passkey");
    assert.equal(me.session.status, "active");
    const history = await events(email);
    assert.ok(!history.some((e) => e.type === "verification_sent"), "no code was needed");

    // The same ceremony by hand: a bad signature is refused and counted, a good answer signs in
    // once, and replaying it finds its challenge spent. Without the ceremony cookie: refused.
    // From a page with no live stream: signing in again ends the session this page belongs to.
    await page.goto(`${run.baseUrl}/healthz`);
    const answers = (await page.evaluate(`(async (base) => {
      const b2a = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const a2b = (x) => btoa(String.fromCharCode(...new Uint8Array(x))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
      const post = (url, body) => fetch(base + url, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      const assertion = async () => {
        const { options } = await (await post("/api/signin/passkey/options", {})).json();
        const c = await navigator.credentials.get({ publicKey: {
          challenge: b2a(options.challenge), rpId: options.rpId, userVerification: "required",
        } });
        const r = c.response;
        return { id: c.id, rawId: a2b(c.rawId), type: c.type, clientExtensionResults: {},
          response: { clientDataJSON: a2b(r.clientDataJSON), authenticatorData: a2b(r.authenticatorData),
            signature: a2b(r.signature), userHandle: a2b(r.userHandle) } };
      };
      const bad = await assertion();
      const sig = b2a(bad.response.signature);
      sig[sig.length - 1] ^= 1;
      bad.response.signature = a2b(sig);
      const tampered = (await post("/api/signin/passkey", { passkey: bad })).status;
      const good = await assertion();
      const first = (await post("/api/signin/passkey", { passkey: good })).status;
      const replayed = await post("/api/signin/passkey", { passkey: good });
      return { tampered, first, replayed: [replayed.status, await replayed.json()], good };
    })(${JSON.stringify(run.baseUrl)})`)) as {
      tampered: number;
      first: number;
      replayed: [number, unknown];
      good: unknown;
    };
    assert.equal(answers.tampered, 401);
    assert.equal(answers.first, 200);
    assert.deepEqual(answers.replayed, [400, { error: "challenge_expired" }]);
    // A client without the browser's ceremony cookie gets nothing from the same answer.
    const stranger = await fetch(`${run.baseUrl}/api/signin/passkey`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: run.baseUrl },
      body: JSON.stringify({ passkey: answers.good }),
    });
    assert.equal(stranger.status, 400);
    const after = await events(email);
    assert.ok(
      after.some((e) => e.type === "sign_in_failed" && e.reason === "invalid_credentials"),
      "the bad signature was counted like a wrong password",
    );
  });

  it("refuses an assertion without user verification, and counts it as a failure", async () => {
    clock.now = Date.now();
    const email = "passkey-2@example.com";
    const { page, cdp, id } = await signedUpPage(email);
    await addPasskey(page, "Phone");
    clock.now += 2 * HOUR;
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId: id, isUserVerified: false });

    // The browser's own answer, posted as the page script posts it: the server must refuse it.
    // A string, not a function: tsx's helpers do not exist in the page.
    const answer = (await page.evaluate(`(async (base) => {
      const b2a = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const a2b = (x) => btoa(String.fromCharCode(...new Uint8Array(x))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
      const post = (url, body) => fetch(base + url, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      const { options } = await (await post("/api/reauth/passkey/options", {})).json();
      // Ask the authenticator without requiring verification: it then signs with UV unset.
      const credential = await navigator.credentials.get({ publicKey: {
        challenge: b2a(options.challenge),
        rpId: options.rpId,
        userVerification: "discouraged",
        allowCredentials: options.allowCredentials.map((c) => ({ type: "public-key", id: b2a(c.id) })),
      } });
      const r = credential.response;
      const flags = new Uint8Array(r.authenticatorData)[32];
      const res = await post("/api/reauth", { passkey: {
        id: credential.id, rawId: a2b(credential.rawId), type: credential.type, clientExtensionResults: {},
        response: {
          clientDataJSON: a2b(r.clientDataJSON),
          authenticatorData: a2b(r.authenticatorData),
          signature: a2b(r.signature),
        },
      } });
      return { status: res.status, body: await res.json(), uvFlag: (flags & 0x04) !== 0 };
    })(${JSON.stringify(run.baseUrl)})`)) as { status: number; body: unknown; uvFlag: boolean };
    assert.equal(answer.uvFlag, false, "the authenticator did not verify the user");
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, { error: "invalid_passkey" });
    const me = (await (await page.request.get(`${run.baseUrl}/api/me`)).json()) as {
      session: { authFactor: string };
    };
    assert.equal(me.session.authFactor, "password", "no proof was recorded");
    assert.ok(
      (await events(email)).some(
        (e) => e.type === "sign_in_failed" && e.reason === "failed_passkey",
      ),
    );

    // The page's own button, with the authenticator still not verifying: no proof either.
    await page.goto(`${run.baseUrl}/account/reauth?next=%2Faccount%2Fsecurity`);
    await page.click("text=Use a passkey");
    await page.waitForFunction(() =>
      /Try again/.test(document.querySelector("[data-passkey-status]")?.textContent ?? ""),
    );
    assert.match(page.url(), /\/account\/reauth/);

    // Verified again: the same passkey works.
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId: id, isUserVerified: true });
    await page.click("text=Use a passkey");
    await page.waitForURL(/\/account\/security$/);
  });
});
