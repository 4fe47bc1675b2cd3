import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { bindDevice } from "./dbsc-kit.js";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// axe-core, run inside Debian's Chromium, finds no serious or critical violation on any page of
// the reference app, signed in and out, in light and dark mode, at phone and desktop widths. The
// script is injected through CDP-level evaluation, so the pages' CSP stays as strict as ever.

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

describe("accessibility (axe-core in Chromium)", { skip }, () => {
  let run: RunningDemo;
  let browser: Browser;
  let cookie: string;
  let pendingCookie: string;

  before(async () => {
    // New-device verification on: the devices page also shows a sign-in waiting for approval.
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    const email = "axe@example.com";
    const me = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    assert.equal((await me.post("/api/signup", { email, password: PASSWORD })).status, 201);
    // A second device, so the devices page and its confirmation have another card.
    const other = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    assert.equal((await other.post("/api/signin", { email, password: PASSWORD })).status, 202);
    const otherId = (other.cookies.get("sk_session") as string).split(".")[0];
    assert.equal((await me.post(`/api/sessions/${otherId}/approve`)).status, 204);
    const activated = await other.get("/signin/verify/continue");
    assert.equal(activated.status, 303);
    // Activation offers device binding; bound (DBSC), its card also says "Protected by this
    // device's security chip".
    assert.equal(await bindDevice(other, activated), 200);
    await other.post("/api/signin", { email, password: "a wrong one" });
    // A third, still waiting: its card on the devices page, and its own verify page.
    const waiting = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    assert.equal((await waiting.post("/api/signin", { email, password: PASSWORD })).status, 202);
    pendingCookie = waiting.cookies.get("sk_session") as string;
    cookie = me.cookies.get("sk_session") as string;
    // A stored passkey, so the security page lists one and the confirm page offers it.
    const info = {
      cookieHeader: `sk_session=${cookie}`,
      ip: "127.0.0.1",
      userAgent: UA.chromeMac,
      secure: false,
    };
    const record = (await run.demo.keeper.validate(info))?.record;
    assert.ok(record);
    await run.demo.keeper.addPasskey(record, info, {
      id: "axe-credential",
      userId: record.userId,
      name: "Work laptop",
      publicKey: "pQECAyYgASFYIA",
      counter: 0,
      transports: ["internal"],
      createdAt: Date.now(),
      lastUsedAt: null,
    });
    // The "wasn't me" link of the new-device alert mail, and its page after the button.
    let notMe: string | undefined;
    for (let i = 0; i < 50 && !notMe; i++) {
      // Alert mail is sent after the sign-in answered: wait for it.
      const { messages } = (await (await fetch(`${run.baseUrl}/dev/mailbox.json`)).json()) as {
        messages: Array<{ text: string }>;
      };
      notMe = /\/signin\/not-me\?token=[^\s]+/.exec(messages.map((m) => m.text).join("\n"))?.[0];
      if (!notMe) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(notMe, "an alert mail with a not-me link");
    pages.push([notMe, false], ["/signin/not-me?token=expired", false]);
    const token = new URL(notMe, run.baseUrl).searchParams.get("token") as string;
    const ended = await new Client(run.baseUrl).request("POST", "/signin/not-me", {
      form: { token },
    });
    endedPage = await ended.text();
  });
  let endedPage = "";
  after(async () => {
    await browser?.close();
    await run?.close();
  });

  const pages: Array<[string, boolean | "pending"]> = [
    ["/signin/verify", "pending"],
    ["/signin", false],
    ["/signin?ended=revoked_by_user", false],
    ["/signup", false],
    ["/no/such/page", false],
    ["/dev/mailbox", false],
    ["/account/sessions", true],
    ["/account/history", true],
    ["/account/history?type=failures", true],
    ["/account/sessions/revoke-others", true],
    ["/account/security", true],
    ["/account/reauth?next=%2Faccount%2Fsecurity", true],
  ];

  async function audit(context: BrowserContext, path: string): Promise<Violation[]> {
    const page = await context.newPage();
    await page.goto(`${run.baseUrl}${path}`);
    // evaluate() runs in the page through the DevTools protocol: not subject to the page's CSP.
    await page.evaluate(AXE);
    const violations = (await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } })
        .axe;
      return (await axe.run()).violations;
    })) as Violation[];
    await page.close();
    return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  }

  for (const scheme of ["light", "dark"] as const)
    for (const [width, height] of [
      [390, 844],
      [1280, 800],
    ] as const)
      it(`no serious or critical violation on any page (${scheme}, ${width}px)`, async () => {
        const found: string[] = [];
        for (const [path, signedIn] of pages) {
          const context = await browser.newContext({
            colorScheme: scheme,
            viewport: { width, height },
          });
          if (signedIn) {
            const value = signedIn === "pending" ? pendingCookie : cookie;
            await context.addCookies([{ name: "sk_session", value, url: run.baseUrl }]);
          }
          for (const v of await audit(context, path))
            found.push(
              `${path}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
            );
          await context.close();
        }
        // The page after "End that sign-in" (a POST answer), set as the content of a blank tab.
        const context = await browser.newContext({
          colorScheme: scheme,
          viewport: { width, height },
        });
        const page = await context.newPage();
        await page.goto(`${run.baseUrl}/no/such/page`);
        await page.setContent(endedPage);
        await page.evaluate(AXE);
        const violations = (await page.evaluate(async () => {
          const axe = (
            globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }
          ).axe;
          return (await axe.run()).violations;
        })) as Violation[];
        for (const v of violations.filter((x) => x.impact === "serious" || x.impact === "critical"))
          found.push(`not-me result: ${v.id} (${v.impact}) ${v.help}`);
        await context.close();
        assert.deepEqual(found, []);
      });
});
