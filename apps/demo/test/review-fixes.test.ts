// Defects from the outside security review, each over real HTTP against the reference app:
// the open redirect after sign-in, control and invisible characters in addresses, and account
// enumeration at sign-up.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { safeNextPath } from "../src/next-path.js";
import { normalizeEmail } from "../src/users.js";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const PASSWORD = "correct horse battery";
const FALLBACK = "/account/sessions";

interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

async function mailbox(run: RunningDemo): Promise<Mail[]> {
  const res = await fetch(`${run.baseUrl}/dev/mailbox.json`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: Mail[] }).messages;
}

// Known ways to make a "local" path leave the site, from open-redirect cheat sheets.
const REDIRECT_BYPASSES = [
  "//evil.example",
  "//evil.example/phish",
  "///evil.example",
  "/\\evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "/.//evil.example/phish",
  "/..//evil.example/phish",
  "/./..//evil.example",
  "/a/../..//evil.example",
  "/a/..//evil.example",
  "/.///evil.example",
  "/%2e%2e//evil.example",
  "/%2E%2E//evil.example",
  "/%2e//evil.example",
  "/.%2e//evil.example",
  "/./\\evil.example",
  "/%2F/evil.example",
  "/%2f%2fevil.example",
  "/.%2F/evil.example",
  "/%5Cevil.example",
  "/%5c/evil.example",
  "/%2e%2e%2f/evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  "/\t\t/evil.example",
  "/.\t//evil.example",
  "/%09/evil.example",
  "/%0a/evil.example",
  "/%0D%0A/evil.example",
  "/%00/evil.example",
  "/\u0000/evil.example",
  "/\u202e/evil.example",
  "/\u200b/evil.example",
  " //evil.example",
  "\t//evil.example",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "java\tscript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "https://evil.example/",
  "http:evil.example",
  "https:/evil.example",
  "HTTPS://evil.example",
  "//evil.example@local.invalid",
  "evil.example",
  "",
  "?next=//evil.example",
  "#//evil.example",
  `/${"a".repeat(600)}`,
];

describe("review 1: open redirect after sign-in", () => {
  it("safeNextPath falls back to the devices page for every known bypass", () => {
    for (const bad of REDIRECT_BYPASSES)
      assert.equal(safeNextPath(bad), FALLBACK, `${JSON.stringify(bad)} must fall back`);
    for (const bad of [undefined, null, 42, ["/account/history"], { x: 1 }])
      assert.equal(safeNextPath(bad), FALLBACK);
  });

  it("safeNextPath keeps same-site paths, resolved, with their query and fragment", () => {
    assert.equal(safeNextPath("/account/history?x=1"), "/account/history?x=1");
    assert.equal(safeNextPath("/account/security#password"), "/account/security#password");
    assert.equal(safeNextPath("/account/./history"), "/account/history");
    assert.equal(safeNextPath("/a/../account/history"), "/account/history");
    assert.equal(safeNextPath("/search?q=a%2Fb"), "/search?q=a%2Fb", "an encoded slash in a query");
    for (const bad of REDIRECT_BYPASSES) {
      const out = safeNextPath(bad);
      assert.ok(/^\/(?![/\\])/.test(out), `${JSON.stringify(bad)} → ${JSON.stringify(out)}`);
    }
  });

  describe("over HTTP", () => {
    let run: RunningDemo;
    before(async () => {
      run = await startDemo();
    });
    after(() => run.close());

    it("GET /signin?next=/.//evil.example/phish when signed in redirects to the devices page", async () => {
      const client = new Client(run.baseUrl);
      const res = await client.post("/api/signup", {
        email: "next1@example.com",
        password: PASSWORD,
      });
      assert.equal(res.status, 201);
      for (const next of [
        "/.//evil.example/phish",
        "/..//evil.example/phish",
        "/%2e%2e//evil.example",
      ]) {
        const page = await client.get(`/signin?next=${encodeURIComponent(next)}`);
        assert.equal(page.status, 303);
        assert.equal(page.headers.get("location"), FALLBACK, `next=${next}`);
      }
      // A same-site path still works.
      const ok = await client.get(`/signin?next=${encodeURIComponent("/account/history")}`);
      assert.equal(ok.headers.get("location"), "/account/history");
    });

    it("the sign-in form with next=/..//evil.example/phish redirects to the devices page", async () => {
      const owner = new Client(run.baseUrl);
      const made = await owner.post("/api/signup", {
        email: "next2@example.com",
        password: PASSWORD,
      });
      assert.equal(made.status, 201);
      for (const next of ["/..//evil.example/phish", "/.//evil.example/phish"]) {
        const browser = new Client(run.baseUrl);
        const res = await browser.request("POST", "/signin", {
          form: { email: "next2@example.com", password: PASSWORD, next },
        });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), FALLBACK, `next=${next}`);
      }
      // The form renders the cleaned value, never the hostile one.
      const form = await new Client(run.baseUrl).get(
        `/signin?next=${encodeURIComponent("/..//evil.example/phish")}`,
      );
      assert.equal(form.status, 200);
      assert.ok(!(await form.text()).includes("evil.example"));
    });
  });
});

// Each hides or reorders what a person reads, or is not text at all.
const HOSTILE_ADDRESSES: [string, string][] = [
  ["NUL", "ann\u0000@example.com"],
  ["BEL", "ann\u0007@example.com"],
  ["ESC", "ann\u001b[31m@example.com"],
  ["DEL", "ann\u007f@example.com"],
  ["C1 NEL", "ann\u0085@example.com"],
  ["C1 CSI", "ann\u009b@example.com"],
  ["LRE", "ann\u202a@example.com"],
  ["RLE", "ann\u202b@example.com"],
  ["PDF", "ann\u202c@example.com"],
  ["LRO", "ann\u202d@example.com"],
  ["RLO", "moc.elpmaxe@\u202eann@example.com"],
  ["LRI", "ann\u2066@example.com"],
  ["RLI", "ann\u2067@example.com"],
  ["FSI", "ann\u2068@example.com"],
  ["PDI", "ann\u2069@example.com"],
  ["ZWSP", "ann\u200b@example.com"],
  ["ZWNJ", "ann\u200c@example.com"],
  ["ZWJ", "ann\u200d@example.com"],
  ["WJ", "ann\u2060@example.com"],
  ["BOM inside", "ann\ufeff@example.com"],
  ["BOM in front", "\ufeffann@example.com"],
  ["soft hyphen", "an\u00adn@example.com"],
  ["lone high surrogate", "ann\ud800@example.com"],
  ["lone low surrogate", "ann\udc00@example.com"],
  ["replacement character (invalid UTF-8 decoded)", "ann\ufffd@example.com"],
  ["trailing NUL", "ann@example.com\u0000"],
  // Not one address: a mail library would send to each address in a list, group or name.
  ["comma list", "ann@example.com,eve@evil.example"],
  ["comma before the only @", "ann,eve@evil.example"],
  ["semicolon before the only @", "ann;eve@evil.example"],
  ["semicolon list", "ann@example.com;eve@evil.example"],
  ["group", "g:ann@example.com;"],
  ["display name", "ann<eve@evil.example>"],
  ["comment", "ann@example.com(eve@evil.example)"],
  ["quoted local part", '"ann,eve"@example.com'],
];

describe("review 9: control, invisible and bidi characters in addresses", () => {
  it("normalizeEmail refuses every one and still takes ordinary and international addresses", () => {
    for (const [name, address] of HOSTILE_ADDRESSES)
      assert.equal(normalizeEmail(address), null, name);
    assert.equal(normalizeEmail(" Ann@Example.COM "), "ann@example.com");
    assert.equal(normalizeEmail("jürgen@bücher.example"), "jürgen@bücher.example");
    assert.equal(normalizeEmail("用户@例子.广告"), "用户@例子.广告");
  });

  describe("over HTTP", () => {
    let run: RunningDemo;
    before(async () => {
      run = await startDemo({ SIGNIN_ALERTS: "every" });
    });
    after(() => run.close());

    it("sign-up answers 400 invalid_email for each, creates nothing and mails nothing", async () => {
      for (const [name, email] of HOSTILE_ADDRESSES) {
        const client = new Client(run.baseUrl);
        const res = await client.post("/api/signup", { email, password: PASSWORD });
        assert.equal(res.status, 400, name);
        assert.deepEqual(await res.json(), { error: "invalid_email" }, name);
        assert.equal(client.cookies.get("sk_session"), undefined, `${name}: no session`);
        // And no account: signing in with it fails like any unknown address.
        const signIn = await new Client(run.baseUrl).post("/api/signin", {
          email,
          password: PASSWORD,
        });
        assert.equal(signIn.status, 401, `${name}: no account`);
      }
      assert.deepEqual(await mailbox(run), [], "nothing was mailed");
    });

    it("invalid UTF-8 in the body is refused the same way, in JSON and in the form", async () => {
      const raw = Buffer.concat([
        Buffer.from('{"email":"ann'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from(`@example.com","password":"${PASSWORD}"}`),
      ]);
      const res = await fetch(`${run.baseUrl}/api/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: raw,
      });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: "invalid_email" });
      const form = await fetch(`${run.baseUrl}/signup`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `email=ann%FF%FE%E2%80%AE%40example.com&password=${encodeURIComponent(PASSWORD)}`,
        redirect: "manual",
      });
      assert.equal(form.status, 400);
      assert.match(await form.text(), /Enter a valid e-mail address/);
      const bidi = await new Client(run.baseUrl).request("POST", "/signup", {
        form: { email: "ann\u202e@example.com", password: PASSWORD },
      });
      assert.equal(bidi.status, 400);
      assert.deepEqual(await mailbox(run), [], "nothing was mailed");
    });
  });
});

describe("review 6: account enumeration at sign-up", () => {
  let run: RunningDemo;
  // Each client "comes from" its own address through X-Forwarded-For, trusted only from loopback.
  const from = (ip: string, ua: string = UA.chromeMac) =>
    new Client(run.baseUrl, { "x-forwarded-for": ip, "user-agent": ua });
  before(async () => {
    run = await startDemo({ TRUST_PROXY: "loopback", LOCKOUT_MAX_FAILURES: "3" });
  });
  after(() => run.close());

  it("answers 409 for a taken address, counts it per IP: 429 with Retry-After once over, whatever the address", async () => {
    const owner = from("203.0.113.10");
    const made = await owner.post("/api/signup", {
      email: "owner@example.com",
      password: PASSWORD,
    });
    assert.equal(made.status, 201, "a new address signs up and in at once (the contract)");

    const prober = from("198.51.100.7", UA.hostile);
    for (const email of ["owner@example.com", " OWNER@Example.com ", "Owner@EXAMPLE.com"]) {
      const res = await prober.post("/api/signup", { email, password: PASSWORD });
      assert.equal(res.status, 409, email);
      assert.deepEqual(await res.json(), { error: "email_taken" });
    }
    // Over the limit: every sign-up from that IP is 429, a new address and a taken one alike.
    for (const email of ["fresh@example.com", "owner@example.com"]) {
      const res = await prober.post("/api/signup", { email, password: PASSWORD });
      assert.equal(res.status, 429, email);
      assert.deepEqual(await res.json(), { error: "too_many_attempts" });
      const retry = Number(res.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= 15 * 60, `Retry-After ${retry}`);
    }
    assert.equal(
      (
        await from("192.0.2.1").post("/api/signin", {
          email: "fresh@example.com",
          password: PASSWORD,
        })
      ).status,
      401,
      "the refused sign-up created no account",
    );
    // The HTML form is throttled too.
    const form = await prober.request("POST", "/signup", {
      form: { email: "fresh2@example.com", password: PASSWORD },
    });
    assert.equal(form.status, 429);
    assert.ok(Number(form.headers.get("retry-after")) >= 1);

    // The count is per client IP: another address is not affected.
    const other = from("192.0.2.44");
    assert.equal(
      (await other.post("/api/signup", { email: "fresh@example.com", password: PASSWORD })).status,
      201,
    );
  });

  it("mails the owner once per window, with the request's values escaped", async () => {
    const mails = (await mailbox(run)).filter((m) => m.to === "owner@example.com");
    assert.equal(mails.length, 1, "one mail for three attempts");
    const mail = mails[0] as Mail;
    assert.match(mail.subject, /tried to create .*account with your address/);
    assert.match(mail.text, /198\.51\.100\.7/);
    assert.ok(!mail.html.includes("<script>") && !mail.html.includes("<img src=x"));
    assert.ok(
      mail.html.includes("&lt;script&gt;alert(2)&lt;/script&gt;"),
      "the User-Agent escaped",
    );

    // Another IP, same window: still 409, still counted, no second mail.
    const second = from("203.0.113.99");
    assert.equal(
      (await second.post("/api/signup", { email: "owner@example.com", password: PASSWORD })).status,
      409,
    );
    assert.equal((await mailbox(run)).filter((m) => m.to === "owner@example.com").length, 1);
  });

  it("the taken-address answer is the same for the form: 409 with the message", async () => {
    const res = await from("203.0.113.150").request("POST", "/signup", {
      form: { email: "owner@example.com", password: PASSWORD },
    });
    assert.equal(res.status, 409);
    assert.match(await res.text(), /already exists/);
  });
});

describe("verification codes are 8 digits by default", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" });
  });
  after(() => run.close());

  it("mails an 8-digit code to a new device, and the code activates it", async () => {
    const email = "digits@example.com";
    const made = await new Client(run.baseUrl, { "user-agent": UA.chromeMac }).post("/api/signup", {
      email,
      password: PASSWORD,
    });
    assert.equal(made.status, 201);
    const phone = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    assert.equal((await phone.post("/api/signin", { email, password: PASSWORD })).status, 202);
    const mail = (await mailbox(run)).find((m) => m.to === email);
    assert.ok(mail, "a verification mail");
    const code = /confirmation code: (\d+)/.exec(mail.text)?.[1];
    assert.equal(code?.length, 8, `code ${code}`);
    assert.equal((await phone.post("/api/signin/verify", { code })).status, 200);
  });
});
