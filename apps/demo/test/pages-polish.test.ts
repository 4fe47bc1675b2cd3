import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// Pages of one piece: the header matches whether someone is signed in, unknown URLs get a page
// (JSON only under /api/), the tab has an icon, and the password form names the account for
// password managers. A signed-out page never runs the live-stream script.

const PASSWORD = "correct horse battery";

describe("reference app pages of one piece", () => {
  let run: RunningDemo;
  before(async () => {
    run = await startDemo();
  });
  after(() => run.close());

  it("a signed-out header offers sign-in, never 'Sign out', and runs no script but the passkey one on the sign-in page", async () => {
    const res = await new Client(run.baseUrl).get("/signup");
    const body = await res.text();
    assert.match(body, /href="\/signin">Sign in<\/a>/);
    assert.doesNotMatch(body, />Sign out</);
    assert.doesNotMatch(body, /<script/);
    assert.doesNotMatch(res.headers.get("content-security-policy") ?? "", /script-src/);
    assert.match(body, /<link rel="icon" href="data:image\/svg\+xml,/);
    // The sign-in page offers a passkey: that one script, by its hash, and never the live stream
    // (a signed-out page that streamed would reload for ever).
    const signIn = await new Client(run.baseUrl).get("/signin");
    const page = await signIn.text();
    assert.doesNotMatch(page, />Sign out</);
    assert.equal(page.match(/<script>/g)?.length, 1);
    assert.match(page, /data-passkey="get" data-options="\/api\/signin\/passkey\/options"/);
    assert.doesNotMatch(page, /\/api\/events/);
    const csp = signIn.headers.get("content-security-policy") ?? "";
    assert.equal(csp.match(/'sha256-/g)?.length, 2, "the stylesheet's hash and the script's");
  });

  it("a signed-in page has the account links, the live script by hash, and a username for password managers", async () => {
    const client = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
    const email = "polish@example.com";
    assert.equal((await client.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const res = await client.get("/account/security");
    const body = await res.text();
    assert.match(body, />Sign out</);
    assert.match(body, /<script>/);
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'sha256-[^']+'/);
    assert.match(
      body,
      /<input name="username" type="email" autocomplete="username" value="polish@example.com" hidden readonly>/,
    );
  });

  it("an unknown URL gets an HTML 404 page; under /api/ a JSON one", async () => {
    const client = new Client(run.baseUrl);
    const page = await client.get("/no/such/page");
    assert.equal(page.status, 404);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    const body = await page.text();
    assert.match(body, /<h1>Page not found<\/h1>/);
    assert.match(body, /href="\/signin">Go to sign-in/);
    const api = await client.get("/api/no-such-thing");
    assert.equal(api.status, 404);
    assert.deepEqual(await api.json(), { error: "not_found", path: "/api/no-such-thing" });
  });

  it("the sign-in page says why a session ended from a known code only, never from the URL's text", async () => {
    const client = new Client(run.baseUrl);
    const known = await (await client.get("/signin?ended=password_changed")).text();
    assert.match(known, /Your password was changed, so this device was signed out\./);
    const crafted = await (await client.get("/signin?ended=%3Cb%3Epay%20here%3C%2Fb%3E")).text();
    assert.doesNotMatch(crafted, /pay here/);
    assert.doesNotMatch(crafted, /<p class="notice" role="status">/);
  });
});
