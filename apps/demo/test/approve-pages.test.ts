import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

// The reference app's pages for a pending sign-in, over HTTP on a real SQLite file with a clock
// the test moves: the devices page lists it with Approve / This wasn't me (forms, POST, origin
// checked); outside the re-authentication window the POST is kept, the browser sent to "Confirm
// it's you", and nothing changes; the verify page carries only its hashed stream script and works
// without JavaScript through its Continue button; "this wasn't me" offers a password change.

const PASSWORD = "correct horse battery";
const HOUR = 3_600_000;

describe("pending sign-ins on the reference app's pages", () => {
  let run: RunningDemo;
  const clock = { now: Date.UTC(2026, 0, 5, 9) };

  before(async () => {
    run = await startDemo({ NEW_DEVICE_VERIFICATION: "new-device" }, { now: () => clock.now });
  });
  after(() => run.close());

  const form = (client: Client, path: string) =>
    client.request("POST", path, { form: {}, headers: { origin: run.baseUrl } });

  async function held(email: string): Promise<{ client: Client; id: string }> {
    const client = new Client(run.baseUrl, { "user-agent": UA.safariIphone });
    const res = await client.post("/api/signin", { email, password: PASSWORD });
    assert.equal(res.status, 202);
    const id = (client.cookies.get("sk_session") as string).split(".")[0] as string;
    return { client, id };
  }

  it("lists it, asks for a fresh proof, approves; the verify page continues without JavaScript", async () => {
    const email = "pages-approve@example.com";
    const owner = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    clock.now += 3 * HOUR; // the sign-up's proof is now outside the 2-hour window
    const waiting = await held(email);

    // The verify page: its own hashed script only, the stream and continue URL, a Continue button.
    const verify = await waiting.client.get("/signin/verify");
    assert.equal(verify.status, 200);
    const csp = verify.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'; connect-src 'self'$/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const page = await verify.text();
    assert.match(
      page,
      /<meta name="sessionkeeper-pending" content="\/api\/events" data-continue="\/signin\/verify\/continue" data-signin="\/signin">/,
    );
    assert.match(page, /<form method="get" action="\/signin\/verify\/continue"/);
    assert.doesNotMatch(page, /\son[a-z]+=/i, "no inline handlers");
    const notYet = await waiting.client.get("/signin/verify/continue");
    assert.equal(notYet.status, 200);
    assert.match(await notYet.text(), /Not approved yet/);

    // The devices page of the trusted device lists it, marked as waiting, with both forms.
    const devices = await (await owner.get("/account/sessions")).text();
    assert.match(devices, /Waiting for approval/);
    assert.match(devices, new RegExp(`data-session-id="${waiting.id}" data-pending`));
    assert.match(
      devices,
      new RegExp(`<form method="post" action="/account/sessions/${waiting.id}/approve">`),
    );
    assert.match(devices, new RegExp(`action="/account/sessions/${waiting.id}/deny"`));

    // Outside the window: the answer is kept and the browser sent to confirm it's you, with the
    // challenge; nothing changed yet.
    const late = await form(owner, `/account/sessions/${waiting.id}/approve`);
    assert.equal(late.status, 303);
    assert.match(late.headers.get("www-authenticate") ?? "", /insufficient_user_authentication/);
    assert.equal(
      late.headers.get("location"),
      `/account/reauth?next=${encodeURIComponent(`/account/sessions/${waiting.id}/approve`)}`,
    );
    assert.match(
      await (await waiting.client.get("/signin/verify/continue")).text(),
      /Not approved yet/,
    );
    // A cross-site form post is refused before anything else.
    const forged = await owner.request("POST", `/account/sessions/${waiting.id}/approve`, {
      form: {},
      headers: { origin: "https://evil.example" },
    });
    assert.equal(forged.status, 403);

    assert.equal((await owner.post("/api/reauth", { password: PASSWORD })).status, 200);
    const approved = await form(owner, `/account/sessions/${waiting.id}/approve`);
    assert.equal(approved.status, 303);
    assert.equal(approved.headers.get("location"), "/account/sessions?done=approved");
    assert.match(
      await (await owner.get("/account/sessions?done=approved")).text(),
      /Sign-in approved/,
    );

    // Without JavaScript: the Continue button completes the sign-in with a new token.
    const before = waiting.client.cookies.get("sk_session");
    const went = await waiting.client.get("/signin/verify/continue");
    assert.equal(went.status, 303);
    assert.equal(went.headers.get("location"), "/account/sessions");
    assert.notEqual(waiting.client.cookies.get("sk_session"), before);
    assert.equal((await waiting.client.get("/api/me")).status, 200);

    // The history names it: approved from a signed-in device.
    const history = await (await owner.get("/account/history")).text();
    // One entry tells the sign-in's story: held, approved from the trusted device, confirmed.
    assert.match(history, /Approved from one of your signed-in devices/);
  });

  it("this wasn't me: the pending sign-in ends, the page offers a password change", async () => {
    const email = "pages-deny@example.com";
    const owner = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
    assert.equal((await owner.post("/api/signup", { email, password: PASSWORD })).status, 201);
    const waiting = await held(email);
    const list = (await (await owner.get("/api/sessions")).json()) as {
      sessions: Array<{ id: string; status: string }>;
    };
    assert.deepEqual(
      list.sessions.filter((s) => s.status === "pending").map((s) => s.id),
      [waiting.id],
    );
    const denied = await form(owner, `/account/sessions/${waiting.id}/deny`);
    assert.equal(denied.status, 303);
    assert.equal(denied.headers.get("location"), "/account/sessions?done=denied");
    const page = await (await owner.get("/account/sessions?done=denied")).text();
    assert.match(page, /That sign-in was refused/);
    assert.match(page, /<a href="\/account\/security">Change your password<\/a>/);
    assert.doesNotMatch(page, /data-pending/);
    // The waiting browser has nothing left: back to sign-in.
    const gone = await waiting.client.get("/signin/verify/continue");
    assert.equal(gone.status, 303);
    assert.equal(gone.headers.get("location"), "/signin");
    // Answered once: a second answer changes nothing.
    const again = await form(owner, `/account/sessions/${waiting.id}/approve`);
    assert.equal(again.headers.get("location"), "/account/sessions?done=already-answered");
  });
});
