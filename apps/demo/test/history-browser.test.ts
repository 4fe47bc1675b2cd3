// The login history in Chromium, as a person lives it: five wrong passwords from a phone, the
// right one held for confirmation, approved by the emailed link, then signed out from the laptop.
// The history must read as three entries, not a dozen cards. The same seeded account is then
// photographed: devices, history and security pages, light and dark, phone and desktop. The
// pictures go to docs/screenshots only with UPDATE_SCREENSHOTS=1 (so a test run leaves the tree
// clean); otherwise to a temp dir, removed afterwards.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { openDbipGeo } from "../src/geo.js";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "../../../docs/screenshots");
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;
const PASSWORD = "correct horse battery";
const EMAIL = "ada@example.com";
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

// Each device "comes from" a public address (trusted from loopback), so pages show DB-IP places.
const LAPTOP = { ua: UA.chromeMac, ip: "81.2.69.160" }; // London
const PHONE = { ua: UA.safariIphone, ip: "1.1.1.1" }; // Sydney
const PC = { ua: UA.firefoxWindows, ip: "2a00:1450:4001:82a::200e" }; // Frankfurt
const PIXEL = { ua: ANDROID, ip: "81.2.69.192" }; // London

describe("login history in Chromium", { skip }, () => {
  let run: RunningDemo;
  let browser: Browser;
  let laptop: { context: BrowserContext; page: Page };

  before(async () => {
    const geo = await openDbipGeo();
    run = await startDemo(
      {
        TRUST_PROXY: "loopback",
        NEW_DEVICE_VERIFICATION: "new-device",
        LOCKOUT_MAX_FAILURES: "10",
      },
      geo ? { geo } : {},
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    laptop = await device(LAPTOP);
  });
  after(async () => {
    await browser?.close();
    await run?.close();
  });

  async function device(
    d: { ua: string; ip: string },
    options: { colorScheme?: "light" | "dark"; width?: number; height?: number } = {},
  ): Promise<{ context: BrowserContext; page: Page }> {
    const phone = (options.width ?? 1280) < 600;
    const context = await browser.newContext({
      userAgent: d.ua,
      extraHTTPHeaders: { "x-forwarded-for": d.ip },
      viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
      colorScheme: options.colorScheme ?? "light",
      timezoneId: "Europe/Berlin",
      locale: "en-GB",
      ...(phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
    });
    return { context, page: await context.newPage() };
  }

  async function mailText(): Promise<string> {
    // Newest first.
    const messages = run.demo.mailbox?.messages() ?? [];
    return messages.find((m) => m.to === EMAIL)?.text ?? "";
  }

  /** Signs a device in through the API and confirms it with the mailed code (the seeding path). */
  async function confirmedDevice(d: { ua: string; ip: string }): Promise<void> {
    const client = new Client(run.baseUrl, { "user-agent": d.ua, "x-forwarded-for": d.ip });
    assert.equal(
      (await client.post("/api/signin", { email: EMAIL, password: PASSWORD })).status,
      202,
    );
    const code = /confirmation code: (\d{6,8})/.exec(await mailText())?.[1];
    assert.ok(code, "the mail has a code");
    assert.equal((await client.post("/api/signin/verify", { code })).status, 200);
  }

  it("reads a held sign-in, five failures and a revoke as three grouped entries", async () => {
    // The laptop makes the account through the form.
    await laptop.page.goto(`${run.baseUrl}/signup`);
    await laptop.page.getByLabel("Email").fill(EMAIL);
    await laptop.page.getByLabel("Password").fill(PASSWORD);
    await laptop.page.getByRole("button", { name: "Create account" }).click();
    await laptop.page.waitForURL(/\/account\/sessions/);

    // Five wrong passwords from the phone, then the right one: held for confirmation.
    const phone = await device(PHONE);
    for (let i = 0; i < 5; i++) {
      await phone.page.goto(`${run.baseUrl}/signin`);
      await phone.page.getByLabel("Email").fill(EMAIL);
      await phone.page.getByLabel("Password").fill(`wrong guess ${i}`);
      await phone.page.getByRole("button", { name: "Sign in", exact: true }).click();
      await phone.page.waitForLoadState("load");
    }
    await phone.page.goto(`${run.baseUrl}/signin`);
    await phone.page.getByLabel("Email").fill(EMAIL);
    await phone.page.getByLabel("Password").fill(PASSWORD);
    await phone.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await phone.page.waitForURL(/\/signin\/verify$/);

    // The owner opens the emailed link (in the mail app: another browser) and approves.
    const link = /https?:\/\/\S+\/signin\/approve\?token=[A-Za-z0-9_.-]+/.exec(
      await mailText(),
    )?.[0];
    assert.ok(link, "the mail has an approve link");
    const mailApp = await device(LAPTOP);
    await mailApp.page.goto(link);
    await mailApp.page.locator("form[method=post] button[type=submit]").first().click();
    await mailApp.page.waitForLoadState("load");
    await mailApp.context.close();
    // The waiting page moves on by itself once approved (the live channel).
    await phone.page.waitForURL(/\/account\/sessions/);

    // The laptop signs the phone out from the devices page.
    await laptop.page.goto(`${run.baseUrl}/account/sessions`);
    const phoneCard = laptop.page.locator("[data-session-id]", { hasText: "Safari" });
    await phoneCard.getByRole("button", { name: /Sign out/ }).click();
    await laptop.page.waitForLoadState("load");
    await phone.context.close();

    await laptop.page.goto(`${run.baseUrl}/account/history`);
    const entries = laptop.page.locator("ol.cards > li");
    assert.deepEqual(
      await entries.evaluateAll((els) => els.map((e) => e.getAttribute("data-entry"))),
      ["sign_in", "failures", "sign_in"],
    );
    const held = await entries.nth(0).innerText();
    assert.match(held, /Signed in from Safari 17 on iOS 17\.5/);
    assert.match(held, /Signed in, held until confirmed/);
    assert.match(held, /Code emailed to confirm the sign-in/);
    assert.match(held, /Confirmed by the emailed link/);
    assert.match(held, /Signed out from Chrome on macOS/);
    assert.match(held, /Sydney/);
    const failures = await entries.nth(1).innerText();
    // Clock times in the browser's zone (Europe/Berlin), shown by the page's own script.
    assert.match(
      failures,
      /5 failed attempts from Safari on iOS[\s\S]*(between \d\d:\d\d and|at) \d\d:\d\d · Wrong password/,
    );
    // Clock times are the browser's (Europe/Berlin), set by the page's hashed script.
    const clocks = await entries
      .nth(1)
      .locator("time[data-clock]")
      .evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute("datetime")]));
    assert.ok(clocks.length > 0);
    const berlin = new Intl.DateTimeFormat("en-GB", {
      timeStyle: "short",
      timeZone: "Europe/Berlin",
    });
    for (const [text, at] of clocks) assert.equal(text, berlin.format(new Date(at as string)));
    const signUp = await entries.nth(2).innerText();
    assert.match(signUp, /Signed in from Chrome 131 on macOS 10\.15\s+This device/);

    // The filters are links: no script needed.
    await laptop.page.getByRole("link", { name: "Failed attempts" }).click();
    await laptop.page.waitForURL(/type=failures/);
    assert.deepEqual(
      await laptop.page
        .locator("ol.cards > li")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-entry"))),
      ["failures"],
    );
    await laptop.page.getByRole("link", { name: "Sign-ins" }).click();
    await laptop.page.waitForURL(/type=sign_ins/);
    assert.equal(await laptop.page.locator("ol.cards > li").count(), 2);
  });

  it("photographs the devices, history and security pages: light and dark, phone and desktop", async () => {
    // More devices, as an account that is used: a Windows PC and a Pixel, both confirmed.
    await confirmedDevice(PC);
    await confirmedDevice(PIXEL);
    const cookie = (await laptop.context.cookies()).filter((c) => c.name.startsWith("sk_"));
    const update = process.env.UPDATE_SCREENSHOTS === "1";
    const dir = update ? SCREENSHOTS : mkdtempSync(join(tmpdir(), "sk-shots-"));
    mkdirSync(dir, { recursive: true });
    try {
      const written: string[] = [];
      for (const scheme of ["light", "dark"] as const)
        for (const [form, width, height] of [
          ["phone", 390, 844],
          ["desktop", 1280, 800],
        ] as const) {
          const { context, page } = await device(LAPTOP, { colorScheme: scheme, width, height });
          await context.addCookies(cookie);
          for (const name of ["devices", "history", "security"]) {
            const path = name === "devices" ? "/account/sessions" : `/account/${name}`;
            await page.goto(`${run.baseUrl}${path}`);
            assert.equal(new URL(page.url()).pathname, path, "still signed in");
            const file = join(dir, `${name}-${scheme}-${form}.png`);
            await page.screenshot({ path: file, fullPage: true });
            written.push(file);
          }
          await context.close();
        }
      assert.equal(written.filter((f) => existsSync(f)).length, 12);
    } finally {
      if (!update) rmSync(dir, { recursive: true, force: true });
    }
  });
});
