import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { LIVE_SCRIPT, LOCAL_TIME_SCRIPT } from "../../../packages/sessionkeeper/src/live/script.js";
import { openDbipGeo } from "../src/geo.js";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const CHROMIUM = "/usr/bin/chromium";
const DOCS = join(dirname(fileURLToPath(import.meta.url)), "../../../docs");
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;
const PASSWORD = "correct horse battery";

// Each browser "comes from" a public address via X-Forwarded-For, which the app trusts only from
// loopback (TRUST_PROXY=loopback), so the devices page shows real DB-IP locations.
const DEVICES = {
  laptop: { ua: UA.chromeMac, ip: "81.2.69.160" }, // London
  pc: { ua: UA.firefoxWindows, ip: "2a00:1450:4001:82a::200e" }, // Frankfurt
  phone: { ua: UA.safariIphone, ip: "1.1.1.1" }, // Sydney
};

describe("devices page in Chromium", { skip }, () => {
  let run: RunningDemo;
  let browser: Browser;

  before(async () => {
    const geo = await openDbipGeo();
    run = await startDemo({ TRUST_PROXY: "loopback" }, geo ? { geo } : {});
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
  });
  after(async () => {
    await browser?.close();
    await run?.close();
  });

  async function device(d: {
    ua: string;
    ip: string;
  }): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
    const context = await browser.newContext({
      userAgent: d.ua,
      extraHTTPHeaders: { "x-forwarded-for": d.ip },
      viewport: { width: 1100, height: 900 },
    });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return { context, page, dialogs };
  }

  async function signInThroughForm(page: Page, email: string): Promise<void> {
    await page.goto(`${run.baseUrl}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/account\/sessions/);
  }

  it("shows both devices, marks this one, and signs the other out with its button", async () => {
    const email = "browser@example.com";
    const laptop = await device(DEVICES.laptop);
    const pc = await device(DEVICES.pc);
    const phone = await device(DEVICES.phone);
    // The laptop creates the account through the sign-up form; the others sign in through theirs.
    await laptop.page.goto(`${run.baseUrl}/signup`);
    await laptop.page.getByLabel("Email").fill(email);
    await laptop.page.getByLabel("Password").fill(PASSWORD);
    await laptop.page.getByRole("button", { name: "Create account" }).click();
    await laptop.page.waitForURL(/\/account\/sessions/);
    await signInThroughForm(pc.page, email);
    await signInThroughForm(phone.page, email);

    await laptop.page.reload();
    const entries = laptop.page.locator("[data-session-id]");
    assert.equal(await entries.count(), 3);
    const current = laptop.page.locator("[data-session-id][data-current]");
    assert.equal(await current.count(), 1);
    const currentText = await current.innerText();
    assert.match(currentText, /This device/);
    assert.match(currentText, /Chrome/);
    assert.match(currentText, /macOS/);
    assert.match(currentText, /London/);
    const pcEntry = laptop.page.locator("[data-session-id]", { hasText: "Firefox" });
    assert.equal(await pcEntry.count(), 1);
    assert.match(await pcEntry.innerText(), /Windows/);
    assert.doesNotMatch(await pcEntry.innerText(), /This device/);

    // The README's picture, rewritten only when asked (UPDATE_SCREENSHOTS=1): a test run leaves
    // the tree clean.
    if (process.env.UPDATE_SCREENSHOTS === "1") {
      mkdirSync(DOCS, { recursive: true });
      await laptop.page.screenshot({ path: join(DOCS, "devices.png"), fullPage: true });
    }

    await pcEntry.getByRole("button", { name: /Sign out/ }).click();
    await laptop.page.waitForLoadState("load");
    assert.match(await laptop.page.locator("body").innerText(), /Signed out Firefox/);
    assert.equal(await laptop.page.locator("[data-session-id]", { hasText: "Firefox" }).count(), 0);

    // The signed-out browser's next page load lands on the sign-in page.
    await pc.page.goto(`${run.baseUrl}/account/sessions`);
    assert.match(new URL(pc.page.url()).pathname, /^\/signin/);
    await pc.context.close();
    await phone.context.close();
    await laptop.context.close();
  });

  it("shows a hostile User-Agent as text on the devices and history pages, and no script runs", async () => {
    const email = "xss@example.com";
    assert.equal(
      (await new Client(run.baseUrl).post("/api/signup", { email, password: PASSWORD })).status,
      201,
    );
    const viewer = await device(DEVICES.laptop);
    const attacker = await device({ ua: UA.hostile, ip: "1.1.1.1" });
    await signInThroughForm(attacker.page, email);
    await signInThroughForm(viewer.page, email);
    for (const path of ["/account/sessions", "/account/history"]) {
      await viewer.page.goto(`${run.baseUrl}${path}`);
      const text = await viewer.page.locator("body").innerText();
      assert.ok(text.includes(UA.hostile), `${path} shows the User-Agent as text`);
      assert.equal(
        await viewer.page.locator("img[src='x']").count(),
        0,
        `${path} has no injected <img>`,
      );
      // The only scripts are the library's (live stream, local times), admitted by their hashes.
      const scripts = await viewer.page.locator("script").allTextContents();
      assert.deepEqual(
        scripts,
        [LIVE_SCRIPT, LOCAL_TIME_SCRIPT],
        `${path} has no <script> element but the library's`,
      );
    }
    assert.deepEqual(viewer.dialogs, [], "no dialog fired");
    assert.deepEqual(attacker.dialogs, [], "no dialog fired for the attacker either");
    await attacker.context.close();
    await viewer.context.close();
  });

  it("holds a new browser at the verify page until the mailed code is typed in", async () => {
    const held = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" });
    try {
      const email = "held@example.com";
      assert.equal(
        (await new Client(held.baseUrl).post("/api/signup", { email, password: PASSWORD })).status,
        201,
      );
      const { context, page } = await device(DEVICES.pc);
      await page.goto(`${held.baseUrl}/signin`);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL(/\/signin\/verify$/);
      // The pending cookie opens nothing else.
      await page.goto(`${held.baseUrl}/account/sessions`);
      assert.match(new URL(page.url()).pathname, /^\/signin/);
      await page.goto(`${held.baseUrl}/signin/verify`);
      await page.getByLabel("Code").fill("000000");
      await page.getByRole("button", { name: "Verify" }).click();
      assert.match(await page.locator("[role=alert]").innerText(), /not valid/);
      const mail = (await (await fetch(`${held.baseUrl}/dev/mailbox.json`)).json()) as {
        messages: { to: string; text: string }[];
      };
      const code = /\b(\d{6,8})\b/.exec(
        mail.messages.find((m) => m.to === email)?.text ?? "",
      )?.[1] as string;
      await page.getByLabel("Code").fill(code);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForURL(/\/account\/sessions/);
      assert.equal(await page.locator("[data-session-id][data-current]").count(), 1);
      await context.close();
    } finally {
      await held.close();
    }
  });
});
