import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Who and when: every signed-in page names the account, and times read in the reader's own time
// zone (a hashed script; UTC without JavaScript).

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;

describe("the account in the header, and times in the reader's zone", () => {
  let run: RunningDemo;
  let browser: Browser | null = null;
  before(async () => {
    run = await startDemo();
  });
  after(async () => {
    await browser?.close();
    await run.close();
  });

  it("names the account on the devices, history and security pages; UTC times without JavaScript", async () => {
    const client = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    const email = "who@example.com";
    assert.equal((await client.post("/api/signup", { email, password: PASSWORD })).status, 201);
    for (const path of ["/account/sessions", "/account/history", "/account/security"]) {
      const body = await (await client.get(path)).text();
      assert.match(body, /Signed in as <strong>who@example\.com<\/strong>/, path);
    }
    const devices = await client.get("/account/sessions");
    const body = await devices.text();
    assert.match(body, /<time datetime="[^"]+Z" title="[^"]+ UTC" data-absolute>[^<]+ UTC<\/time>/);
    assert.match(
      devices.headers.get("content-security-policy") ?? "",
      /script-src 'sha256-[^']+' 'sha256-[^']+'; connect-src 'self'/,
    );
  });

  it("shows the signed-in time in the browser's zone (Europe/Berlin) and locale", {
    skip,
  }, async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    const context = await browser.newContext({ timezoneId: "Europe/Berlin", locale: "de-DE" });
    const page = await context.newPage();
    await page.goto(`${run.baseUrl}/signup`);
    await page.getByLabel("Email").fill("berlin@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/account\/sessions/);
    const time = page.locator("time[data-absolute]").first();
    const iso = (await time.getAttribute("datetime")) as string;
    const expected = new Intl.DateTimeFormat("de-DE", {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: "Europe/Berlin",
    }).format(new Date(iso));
    assert.equal(await time.innerText(), expected);
    assert.equal(await time.getAttribute("title"), expected);
    await context.close();
  });
});
