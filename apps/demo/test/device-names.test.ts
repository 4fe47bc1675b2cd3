import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Real device names, in Debian's Chromium: the browser is told (through the DevTools protocol) to
// be Chrome 131 on Windows 11 and to send the matching User-Agent Client Hints, exactly as that
// browser would once a page asked for them. Its User-Agent alone says "Windows NT 10.0", so only
// the hints can give "Windows 11". Then a rename, seen on the devices page, the history, the JSON,
// the security mail and the words of a live sign-out.

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "Debian chromium is not installed (apt-get install chromium)"
    : false;

const WINDOWS_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const METADATA = {
  brands: [
    { brand: "Google Chrome", version: "131" },
    { brand: "Chromium", version: "131" },
    { brand: "Not_A Brand", version: "24" },
  ],
  fullVersionList: [
    { brand: "Google Chrome", version: "131.0.6778.86" },
    { brand: "Chromium", version: "131.0.6778.86" },
    { brand: "Not_A Brand", version: "24.0.0.0" },
  ],
  platform: "Windows",
  platformVersion: "15.0.0",
  architecture: "x86",
  model: "",
  mobile: false,
  bitness: "64",
  wow64: false,
};

describe("device names in Chromium (client hints, rename)", { skip }, () => {
  let run: RunningDemo;
  let browser: Browser;

  before(async () => {
    run = await startDemo();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
  });
  after(async () => {
    await browser?.close();
    await run?.close();
  });

  /** A page of a context that is Chrome 131 on Windows 11, hints and all. */
  async function windows11Page(): Promise<{
    page: Page;
    signInHeaders: () => Record<string, string>;
  }> {
    const context = await browser.newContext({ userAgent: WINDOWS_CHROME });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Emulation.setUserAgentOverride", {
      userAgent: WINDOWS_CHROME,
      userAgentMetadata: METADATA,
    });
    let headers: Record<string, string> = {};
    page.on("request", async (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname === "/signin")
        headers = await request.allHeaders();
    });
    return { page, signInHeaders: () => headers };
  }

  async function signInOn(page: Page, email: string): Promise<void> {
    // The sign-in page asks for the hints (Accept-CH); the form's POST then carries them.
    await page.goto(`${run.baseUrl}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/account\/sessions/);
  }

  const currentTitle = (page: Page) =>
    page
      .locator("li[data-current] h3.title")
      .innerText()
      .then((t) => t.replace(/\s+/g, " "));

  it("names the browser from its hints, renames it everywhere, and says how often it signed in", async () => {
    const email = "names@example.com";
    // Another device of the same account: Firefox on Windows, through the JSON API.
    const other = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    assert.equal((await other.post("/api/signup", { email, password: PASSWORD })).status, 201);

    const { page, signInHeaders } = await windows11Page();
    const signin = await page.goto(`${run.baseUrl}/signin`);
    assert.equal(
      signin?.headers()["accept-ch"],
      "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, Sec-CH-UA-Full-Version-List",
    );
    await signInOn(page, email);
    const sent = signInHeaders();
    assert.equal(sent["sec-ch-ua-platform"], '"Windows"');
    assert.equal(
      sent["sec-ch-ua-platform-version"],
      '"15.0.0"',
      "Chromium sent the asked-for hints",
    );
    assert.match(sent["sec-ch-ua-full-version-list"] ?? "", /"Google Chrome";v="131\.0\.6778\.86"/);
    assert.equal(await currentTitle(page), "Chrome 131 on Windows 11 This device");

    // Rename through the page's form (a details element: no script needed).
    await page.locator("li[data-current] summary").click();
    await page.locator("li[data-current]").getByLabel("Device name").fill("Work laptop");
    await page.locator("li[data-current]").getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/done=renamed/);
    assert.equal(
      await page.getByRole("status").innerText(),
      "Renamed to Work laptop (Chrome 131 on Windows 11).",
    );
    assert.equal(await currentTitle(page), "Work laptop (Chrome 131 on Windows 11) This device");

    // The JSON gains `name`; the other device names itself through PATCH.
    const cookie = (await page.context().cookies()).find((c) => c.name === "sk_session");
    const mine = new Client(run.baseUrl);
    mine.cookies.set("sk_session", cookie?.value ?? "");
    const { sessions } = (await (await mine.get("/api/sessions")).json()) as {
      sessions: Array<{ current: boolean; name: string | null; os: { version: string } }>;
    };
    const current = sessions.find((s) => s.current);
    assert.deepEqual([current?.name, current?.os.version], ["Work laptop", "11"]);
    const otherId = sessions.find((s) => !s.current) as unknown as { id: string };
    const renamed = await other.request("PATCH", `/api/sessions/${otherId.id}`, {
      json: { name: "Home PC" },
    });
    assert.equal(renamed.status, 200);
    assert.equal(((await renamed.json()) as { session: { name: string } }).session.name, "Home PC");

    // The history names the sign-in by the new name.
    await page.goto(`${run.baseUrl}/account/history`);
    assert.match(
      await page.locator("main").innerText(),
      /Work laptop \(Chrome 131 on Windows 11\)/,
    );

    // The other device changes the password: this tab leaves at once, naming the device by its
    // name, and the security mail names it too.
    await page.goto(`${run.baseUrl}/account/sessions`);
    // The live stream's words (an app's own page may show them), read here beside the tab.
    const stream = await fetch(`${run.baseUrl}/api/events`, {
      headers: { cookie: `sk_session=${cookie?.value}` },
    });
    assert.equal(stream.status, 200);
    await new Promise((r) => setTimeout(r, 300)); // the page's stream opens
    const changed = await other.post("/api/password", {
      currentPassword: PASSWORD,
      newPassword: `${PASSWORD} 2`,
    });
    assert.equal(changed.status, 204);
    const ended = await endedEvent(stream);
    assert.equal(
      ended.message,
      "Your password was changed from Home PC (Firefox on Windows), so this device was signed out.",
    );
    // The tab leaves at once; the sign-in page shows fixed words for the reason (its URL can be
    // crafted, so it never carries a device's name).
    await page.waitForURL(/\/signin\?ended=password_changed/, { timeout: 5000 });
    const mail = await waitForMail(run.baseUrl, /password/i);
    assert.match(mail.text, /Device: Home PC \(Firefox 133 on Windows 10\)/);

    // Signing in again in the same browser: its sessions are tied by the device cookie.
    await page.goto(`${run.baseUrl}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(`${PASSWORD} 2`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/account\/sessions/);
    const month = new Intl.DateTimeFormat("en-US", {
      timeZone: "UTC",
      month: "long",
      year: "numeric",
    }).format(Date.now());
    assert.match(
      await page.locator("li[data-current]").innerText(),
      new RegExp(`This browser has signed in 2 times since ${month}\\.`),
    );
    // A new session: its name starts empty, so the hints name it again.
    assert.equal(await currentTitle(page), "Chrome 131 on Windows 11 This device");
    await page.context().close();
  });
});

/** Reads a server-sent event stream until its `ended` event; its data. */
async function endedEvent(response: Response): Promise<{ reason: string; message: string }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const match = /event: ended\ndata: (.*)\n/.exec(text);
    if (match) {
      await reader.cancel();
      return JSON.parse(match[1] as string);
    }
  }
  throw new Error(`no ended event in ${JSON.stringify(text)}`);
}

async function waitForMail(
  baseUrl: string,
  subject: RegExp,
): Promise<{ subject: string; text: string }> {
  for (let i = 0; i < 50; i++) {
    const { messages } = (await (await fetch(`${baseUrl}/dev/mailbox.json`)).json()) as {
      messages: Array<{ subject: string; text: string }>;
    };
    const found = messages.find((m) => subject.test(m.subject));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail with a subject like ${subject}`);
}
