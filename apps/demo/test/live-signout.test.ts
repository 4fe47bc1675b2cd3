import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
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

// A tab signed out from another browser, through another instance, leaves for the sign-in page by
// itself and says why: two reference-app processes on PostgreSQL and a Redis this test owns,
// Debian's Chromium on instance A, the revoking client on instance B.

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const skip =
  (await postgresSkip()) ||
  (await redisServerSkip()) ||
  (!existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false);

describe("live sign-out across instances, in Chromium", { skip }, () => {
  let schema: PgSchema;
  let redis: OwnRedis;
  let a: Instance;
  let b: Instance;
  let browser: Browser;

  before(async () => {
    schema = await freshPgSchema();
    redis = await startOwnRedis();
    const env = {
      DATABASE_URL: withSearchPath(schema.url, schema.name),
      REDIS_URL: redis.url,
    };
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
    });
  });
  after(async () => {
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await schema?.drop();
  });

  it("leaves the devices page for the sign-in page with the reason, within a second", async () => {
    const email = "live-tab@example.com";
    assert.equal(
      (await new Client(a.url).post("/api/signup", { email, password: PASSWORD })).status,
      201,
    );
    const context = await browser.newContext({ userAgent: UA.chromeMac });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${a.url}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/account\/sessions/);
    // Give the page's stream a moment to open on A before the other browser acts.
    await new Promise((r) => setTimeout(r, 300));

    const other = new Client(b.url, { "user-agent": UA.firefoxWindows });
    assert.equal((await other.post("/api/signin", { email, password: PASSWORD })).status, 200);
    const list = (await (await other.get("/api/sessions")).json()) as {
      sessions: Array<{ id: string; current: boolean }>;
    };
    const tab = list.sessions.find((s) => !s.current);
    assert.ok(tab, "the tab's session is listed on B");
    const revoked = await other.delete(`/api/sessions/${tab.id}`);
    assert.equal(revoked.status, 204);
    const t0 = performance.now();
    await page.waitForURL(/\/signin\?ended=revoked_by_user/, { timeout: 5000 });
    const delay = performance.now() - t0;
    console.log(`live sign-out: the tab on instance A left ${delay.toFixed(0)} ms after B's 204`);
    assert.ok(delay < 1000, `left within a second (took ${delay.toFixed(0)} ms)`);
    assert.match(
      await page.locator("main").innerText(),
      /You were signed out from another device\./,
    );
    assert.deepEqual(cspErrors, [], "the hashed script runs under the page's CSP");
    await context.close();
  });

  it("a password change on the other instance sends the tab away, saying why", async () => {
    const email = "live-password@example.com";
    const owner = new Client(b.url, { "user-agent": UA.firefoxWindows });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const context = await browser.newContext({ userAgent: UA.chromeMac });
    const page = await context.newPage();
    await page.goto(`${a.url}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/account\/sessions/);
    await new Promise((r) => setTimeout(r, 300));
    // A password change on B ends every other session of the user.
    const changed = await owner.post("/api/password", {
      currentPassword: PASSWORD,
      newPassword: "a brand new password",
    });
    assert.equal(changed.status, 204);
    await page.waitForURL(/\/signin\?ended=password_changed/, { timeout: 5000 });
    assert.match(await page.locator("main").innerText(), /Your password was changed/);
    await context.close();
  });
});
