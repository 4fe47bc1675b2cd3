import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  freshPgSchema,
  type OwnRedis,
  type PgSchema,
  postgresSkip,
  redisServerSkip,
  startOwnRedis,
  withSearchPath,
} from "../../../packages/sessionkeeper/test/many/services.js";
import { Client, UA } from "./harness.js";
import { type Instance, startInstance } from "./instances-kit.js";

// Approving a sign-in from a device you trust, in Chromium, across two reference-app processes
// on PostgreSQL and a Redis this test owns (new-device verification on). The waiting browser is
// on instance A at /signin/verify; the trusted browser is on instance B. Approval from B's devices
// page, "this wasn't me" from it, and the emailed link used on B: each time the page on A moves on
// by itself (measured), through the live channel's Redis broadcast, under the page's strict CSP.

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const skip =
  (await postgresSkip()) ||
  (await redisServerSkip()) ||
  (!existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false);

describe("approving a sign-in from a trusted device, in Chromium, across instances", {
  skip,
}, () => {
  let schema: PgSchema;
  let redis: OwnRedis;
  let a: Instance;
  let b: Instance;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    schema = await freshPgSchema();
    redis = await startOwnRedis();
    const env = {
      DATABASE_URL: withSearchPath(schema.url, schema.name),
      REDIS_URL: redis.url,
      NEW_DEVICE_VERIFICATION: "new-device",
    };
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
    });
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await schema?.drop();
  });

  async function newPage(userAgent: string): Promise<{ page: Page; cspErrors: string[] }> {
    const context = await browser.newContext({ userAgent });
    contexts.push(context);
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    return { page, cspErrors };
  }

  /** The trusted browser: signs up on B (a fresh proof) and stays on its devices page. */
  async function trusted(email: string): Promise<Page> {
    const { page } = await newPage(UA.firefoxWindows);
    await page.goto(`${b.url}/signup`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/account\/sessions/);
    return page;
  }

  /** The new browser: signs in on A, is held, and waits on the verify page with its stream open. */
  async function waiting(email: string): Promise<{ page: Page; cspErrors: string[] }> {
    const held = await newPage(UA.chromeMac);
    await held.page.goto(`${a.url}/signin`);
    await held.page.getByLabel("Email").fill(email);
    await held.page.getByLabel("Password").fill(PASSWORD);
    await held.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await held.page.waitForURL(/\/signin\/verify$/);
    // Let the page's stream open on A before anything is approved.
    await new Promise((r) => setTimeout(r, 300));
    return held;
  }

  /**
   * When the waiting page leaves by itself (its request for `leaves`, e.g. the continue URL), and
   * when it then shows `lands`, as `performance.now()` times.
   */
  async function movedOn(
    page: Page,
    leaves: RegExp,
    lands: RegExp,
  ): Promise<{ left: number; landed: number }> {
    await page.waitForRequest((r) => leaves.test(r.url()), { timeout: 5000 });
    const left = performance.now();
    await page.waitForURL(lands, { timeout: 5000 });
    return { left, landed: performance.now() };
  }

  /** The delays from `t0` (the approving answer), printed; an event before `t0` counts as 0. */
  function report(what: string, t0: number, at: { left: number; landed: number }): number {
    const left = Math.max(0, at.left - t0);
    const landed = Math.max(0, at.landed - t0);
    console.log(
      `approve-signin: ${what}: the waiting page on A left by itself ${left.toFixed(0)} ms after the answer, and had loaded its next page ${landed.toFixed(0)} ms after`,
    );
    return left;
  }

  it("Approve on B's devices page: the verify page on A continues by itself within a second", async () => {
    const email = "approve-tab@example.com";
    const owner = await trusted(email);
    const held = await waiting(email);

    await owner.reload();
    const card = owner.locator("li[data-pending]");
    await card.waitFor();
    const cardText = await card.innerText();
    assert.match(cardText, /Waiting for approval/);
    assert.match(cardText, /Chrome 131 on macOS/);
    assert.match(cardText, /127\.0\.0\.1/);
    assert.match(cardText, /Tried to sign in/);

    // Timed from the approving POST's answer (the approval is stored by then).
    let t0 = Number.POSITIVE_INFINITY;
    owner.on("response", (r) => {
      if (/\/approve$/.test(r.url())) t0 = performance.now();
    });
    const moved = movedOn(held.page, /\/signin\/verify\/continue$/, /\/account\/sessions$/);
    await owner.getByRole("button", { name: /^Approve/ }).click();
    await owner.waitForURL(/done=approved/);
    const delay = report("approved on B's devices page", t0, await moved);
    assert.ok(delay < 1000, `moved on within a second (took ${delay.toFixed(0)} ms)`);
    // Signed in for real on A now: the devices page shows this device.
    assert.match(await held.page.locator("main").innerText(), /This device/);
    assert.match(await owner.locator("main").innerText(), /Sign-in approved/);
    assert.equal(await owner.locator("li[data-pending]").count(), 0);
    assert.deepEqual(held.cspErrors, [], "the verify page's hashed script runs under its CSP");
  });

  it("This wasn't me on B: the verify page on A leaves saying why; history shows not_me", async () => {
    const email = "deny-tab@example.com";
    const owner = await trusted(email);
    const held = await waiting(email);
    await owner.reload();
    let t0 = Number.POSITIVE_INFINITY;
    owner.on("response", (r) => {
      if (/\/deny$/.test(r.url())) t0 = performance.now();
    });
    const moved = movedOn(held.page, /\/signin\?ended=not_me/, /\/signin\?ended=not_me/);
    await owner.getByRole("button", { name: /^This wasn't me/ }).click();
    await owner.waitForURL(/done=denied/);
    const delay = report("refused on B's devices page", t0, await moved);
    assert.ok(delay < 1000, `left within a second (took ${delay.toFixed(0)} ms)`);
    assert.match(
      await held.page.locator("main").innerText(),
      /This sign-in was refused by the account's owner\./,
    );
    // The trusted device is offered a password change.
    const change = owner.getByRole("link", { name: "Change your password" });
    assert.equal(await change.getAttribute("href"), "/account/security");
    // The history: the sign-in locked as not_me, recorded with the refusing device (Firefox).
    const history = (await (await owner.request.get(`${b.url}/api/history`)).json()) as {
      events: Array<{ type: string; reason: string | null; browser: { name: string | null } }>;
    };
    const locked = history.events.find((e) => e.type === "session_locked");
    assert.ok(locked, "a session_locked event");
    assert.equal(locked.reason, "not_me");
    assert.equal(locked.browser.name, "Firefox");
  });

  it("the emailed link used on B: the verify page on A continues by itself", async () => {
    const email = "link-tab@example.com";
    await trusted(email);
    const held = await waiting(email);
    // The mail was sent by A (its dev mailbox); the link is used through B.
    const mail = (await (await fetch(`${a.url}/dev/mailbox.json`)).json()) as {
      messages: Array<{ to: string; text: string }>;
    };
    const text = mail.messages.find((m) => m.to === email)?.text ?? "";
    const token = /\/signin\/approve\?token=([A-Za-z0-9._~-]+)/.exec(text)?.[1];
    assert.ok(token, "an approve link in the mail");
    const moved = movedOn(held.page, /\/signin\/verify\/continue$/, /\/account\/sessions$/);
    const posted = await new Client(b.url, { "user-agent": UA.safariIphone }).request(
      "POST",
      "/signin/approve",
      { form: { token: decodeURIComponent(token) } },
    );
    const t0 = performance.now();
    assert.equal(posted.status, 200);
    const delay = report("approved by the emailed link on B", t0, await moved);
    assert.ok(delay < 1000, `moved on within a second (took ${delay.toFixed(0)} ms)`);
  });
});
