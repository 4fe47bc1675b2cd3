import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// "Sign out of all other sessions" asks first: a confirmation page without JavaScript (pages
// tests), a modal dialog on the devices page with it — opened by the page's hashed script.

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;

describe("the dialog before signing out every other session", () => {
  let run: RunningDemo;
  let browser: Browser | null = null;
  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "off" });
  });
  after(async () => {
    await browser?.close();
    await run.close();
  });

  it("asks in a dialog; Cancel changes nothing, the dialog's button signs the others out", {
    skip,
  }, async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${run.baseUrl}/signup`);
    await page.getByLabel("Email").fill("dialog@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/account\/sessions/);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    const signedIn = await phone.post("/api/signin", {
      email: "dialog@example.com",
      password: PASSWORD,
    });
    assert.equal(signedIn.status, 200);
    await page.reload();

    const dialog = page.locator("dialog#sk-confirm-others");
    assert.equal(await dialog.isVisible(), false, "closed until asked");
    await page.getByRole("button", { name: "Sign out of all other sessions" }).click();
    await dialog.waitFor({ state: "visible" });
    assert.match(new URL(page.url()).pathname, /^\/account\/sessions$/, "no page change");
    assert.match((await dialog.innerText()) ?? "", /Sign out of 1 other session\?/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await phone.get("/api/me")).status, 200, "Cancel signs nobody out");

    await page.getByRole("button", { name: "Sign out of all other sessions" }).click();
    await dialog.getByRole("button", { name: "Sign out of 1 other session" }).click();
    await page.waitForURL(/done=signed-out-others/);
    assert.match(await page.locator("[role=status]").innerText(), /Signed out 1 other session/);
    assert.equal((await phone.get("/api/me")).status, 401, "the other session is over");
    assert.deepEqual(errors, [], "no script error (the CSP admits the page script)");
  });
});
