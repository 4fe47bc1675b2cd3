// New-device verification end to end over HTTP: the code and links are read from mail received
// by a real SMTP server.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  Client,
  eventRows,
  readMail,
  type Smtp,
  sessionRow,
  snapshot,
  startApp,
  startSmtp,
  type TestApp,
} from "./harness.js";

const PASSWORD = "correct horse battery staple";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function sessionIdOf(client: Client): string {
  const value = client.cookie("sk_session");
  assert.ok(value, "the client holds a session cookie");
  return value.split(".")[0] as string;
}

/** Signs in from a device the account has never completed a sign-in on: held, code mailed. */
async function signInPending(
  app: TestApp,
  smtp: Smtp,
  email: string,
  client = new Client(app.url),
) {
  const before = smtp.inbox.length;
  const reply = await client.post("/api/signin", { email, password: PASSWORD });
  assert.equal(reply.status, 202);
  assert.deepEqual(reply.json, { status: "verification_required" });
  assert.equal(smtp.inbox.length, before + 1, "one verification mail was sent");
  const mail = smtp.last();
  return { client, mail, ...readMail(mail) };
}

describe("new-device verification (policy new-device)", () => {
  let smtp: Smtp;
  let app: TestApp;
  const emitted: string[] = [];

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({
      smtp,
      keeper: { onEvent: (e) => void emitted.push(`${e.type}:${e.reason}`) },
      guard: { verification: "new-device" },
    });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it("holds a new device: the pending cookie is powerless, a wrong code is refused, the right one activates and rotates", async () => {
    app.addUser("ann@example.test", PASSWORD);
    const { client, mail, code } = await signInPending(app, smtp, "ann@example.test");
    assert.equal(mail.to && !Array.isArray(mail.to) ? mail.to.text : "", "ann@example.test");
    assert.match(mail.subject ?? "", /Confirm a new sign-in to Test App/);
    assert.ok(code, "the mail holds a code");
    assert.ok(
      typeof mail.html === "string" && mail.html.includes(code),
      "the HTML part holds the code too",
    );

    const pendingCookie = client.cookie("sk_session") as string;
    assert.equal(
      (await client.get("/api/me")).status,
      401,
      "a pending session authenticates nothing",
    );
    assert.equal((await client.get("/api/history")).status, 401);

    const wrong = code.slice(0, -1) + String((Number(code.at(-1)) + 1) % 10);
    const refused = await client.post("/api/signin/verify", { code: wrong });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json, { error: "invalid_code" });
    assert.equal((await client.get("/api/me")).status, 401);

    const verified = await client.post("/api/signin/verify", { code });
    assert.equal(verified.status, 200);
    assert.equal(verified.json.status, "active");
    const activeCookie = client.cookie("sk_session") as string;
    assert.notEqual(activeCookie, pendingCookie, "the token was rotated");
    assert.equal(
      activeCookie.split(".")[0],
      pendingCookie.split(".")[0],
      "same session, new secret",
    );
    assert.equal((await client.get("/api/me")).status, 200);

    const stale = new Client(app.url);
    stale.jar.set("sk_session", pendingCookie);
    assert.equal(
      (await stale.get("/api/me")).status,
      401,
      "the pending cookie died with the rotation",
    );
    assert.equal(
      (await stale.post("/api/signin/verify", { code })).status,
      401,
      "and cannot verify again",
    );

    const types = (await client.get("/api/history")).json.events.map(
      (e: { type: string; reason: string | null }) => `${e.type}:${e.reason}`,
    );
    for (const expected of [
      "verification_sent:new_device",
      "verification_failed:invalid_code",
      "session_activated:code",
    ]) {
      assert.ok(types.includes(expected), `history has ${expected}`);
      assert.ok(emitted.includes(expected), `onEvent heard ${expected}`);
    }
    // Neither the code nor a link secret is stored: only their SHA-256 hashes.
    const row = app.sqlite.db
      .prepare("SELECT * FROM sk_verifications WHERE session_id = ?")
      .get(pendingCookie.split(".")[0]) as Record<string, unknown>;
    assert.equal(row.code_hash, sha256(code));
    assert.ok(!Object.values(row).includes(code));
    const stored = JSON.stringify(snapshot(app.sqlite));
    const { approveToken, notMeToken } = readMail(mail);
    for (const token of [approveToken, notMeToken]) {
      const secret = token?.split(".")[1] as string;
      assert.ok(secret && !stored.includes(secret), "a link secret is not stored");
      assert.ok(stored.includes(sha256(secret)), "its hash is");
    }
  });

  it("lets a known device sign in again without a code or alert", async () => {
    app.addUser("bob@example.test", PASSWORD);
    const { client, code } = await signInPending(app, smtp, "bob@example.test");
    assert.equal((await client.post("/api/signin/verify", { code })).status, 200);
    assert.equal(
      (await client.post("/api/signin/verify", { code })).status,
      401,
      "a used code does nothing",
    );

    const mails = smtp.inbox.length;
    const again = await client.post("/api/signin", {
      email: "bob@example.test",
      password: PASSWORD,
    });
    assert.equal(again.status, 200);
    assert.equal(again.json.session.status, "active");
    assert.equal(smtp.inbox.length, mails, "no code and no alert for a known device");
    assert.equal((await client.get("/api/me")).status, 200);

    // The device is known for Bob only: another account on the same browser is still held.
    app.addUser("bob2@example.test", PASSWORD);
    assert.equal(
      (await client.post("/api/signin", { email: "bob2@example.test", password: PASSWORD })).status,
      202,
    );
  });

  it("a GET of either link changes nothing; 'this wasn't me' ends the pending session as locked_out (not_me)", async () => {
    app.addUser("cat@example.test", PASSWORD);
    const { client, code, approveToken, notMeToken } = await signInPending(
      app,
      smtp,
      "cat@example.test",
    );
    assert.ok(approveToken && notMeToken && code);
    assert.notEqual(
      approveToken,
      client.cookie("sk_session"),
      "a link token is not the session token",
    );
    const pendingId = sessionIdOf(client);

    const mailbox = new Client(app.url, { localAddress: "127.0.0.5" });
    const beforeGet = snapshot(app.sqlite);
    for (const path of [
      `/signin/not-me?token=${encodeURIComponent(notMeToken)}`,
      `/signin/approve?token=${encodeURIComponent(approveToken)}`,
    ]) {
      const page = await mailbox.get(path);
      assert.equal(page.status, 200);
      assert.match(page.text, /<form method="post" action="\/signin\/(not-me|approve)">/);
      assert.match(page.text, /<button type="submit"/);
      assert.equal(page.headers["cache-control"], "no-store");
      assert.equal(page.headers["referrer-policy"], "no-referrer");
    }
    assert.deepEqual(snapshot(app.sqlite), beforeGet, "GET of a link wrote nothing");
    assert.equal(sessionRow(app.sqlite, pendingId)?.status, "pending");

    const denied = await mailbox.postForm("/signin/not-me", { token: notMeToken });
    assert.equal(denied.status, 200);
    assert.match(denied.text, /That sign-in has been ended/);
    assert.deepEqual(sessionRow(app.sqlite, pendingId), {
      status: "locked_out",
      end_reason: "not_me",
    });
    assert.equal(
      (await client.post("/api/signin/verify", { code })).status,
      401,
      "the ended session cannot verify",
    );
    assert.equal(
      (await mailbox.postForm("/signin/not-me", { token: notMeToken })).status,
      400,
      "the link works once",
    );
    assert.equal(
      (await mailbox.postForm("/signin/approve", { token: approveToken })).status,
      400,
      "approve is dead too",
    );
    const events = eventRows(app.sqlite).filter((e) => e.session_id === pendingId);
    assert.ok(events.some((e) => e.type === "session_locked" && e.reason === "not_me"));
  });

  it("the approve link's POST approves; the pending device then continues with a new token", async () => {
    app.addUser("dan@example.test", PASSWORD);
    const { client, approveToken, notMeToken } = await signInPending(app, smtp, "dan@example.test");
    assert.ok(approveToken && notMeToken);
    const pendingCookie = client.cookie("sk_session");
    const waiting = await client.post("/api/signin/continue");
    assert.equal(waiting.status, 202, "nothing approved yet");

    const phone = new Client(app.url, { localAddress: "127.0.0.6" });
    assert.equal(
      (await phone.get(`/signin/approve?token=${encodeURIComponent(approveToken)}`)).status,
      200,
    );
    assert.equal(
      (await client.post("/api/signin/continue")).status,
      202,
      "the GET approved nothing",
    );
    assert.equal(
      (await phone.postForm("/signin/not-me", { token: approveToken })).status,
      400,
      "an approve token cannot deny",
    );
    const approved = await phone.postForm("/signin/approve", { token: approveToken });
    assert.equal(approved.status, 200);
    assert.match(approved.text, /Sign-in approved/);
    assert.equal(
      phone.cookie("sk_session"),
      undefined,
      "approving by link signs the mail reader in nowhere",
    );
    assert.equal(
      (await phone.postForm("/signin/approve", { token: approveToken })).status,
      400,
      "single use",
    );

    const continued = await client.post("/api/signin/continue");
    assert.equal(continued.status, 200);
    assert.equal(continued.json.status, "active");
    assert.notEqual(client.cookie("sk_session"), pendingCookie, "rotated on activation");
    assert.equal((await client.get("/api/me")).status, 200);
  });

  it("too many wrong codes lock the pending session out", async () => {
    app.addUser("eve@example.test", PASSWORD);
    const { client, code } = await signInPending(app, smtp, "eve@example.test");
    assert.ok(code);
    const pendingId = sessionIdOf(client);
    const zeros = "0".repeat(code.length);
    const wrong = code === zeros ? "1".repeat(code.length) : zeros;
    for (let i = 1; i < 5; i++)
      assert.equal((await client.post("/api/signin/verify", { code: wrong })).status, 400);
    const last = await client.post("/api/signin/verify", { code: wrong });
    assert.equal(last.status, 403);
    assert.deepEqual(last.json, { error: "locked_out" });
    assert.deepEqual(sessionRow(app.sqlite, pendingId), {
      status: "locked_out",
      end_reason: "verification_failed",
    });
    assert.equal(
      (await client.post("/api/signin/verify", { code })).status,
      401,
      "the right code is too late",
    );
    assert.equal(client.cookie("sk_session"), undefined, "the cookie was cleared");
  });

  it("a device cookie planted in the owner's browser never becomes a known device (review finding 5)", async () => {
    app.addUser("hal@example.test", PASSWORD);
    // The attacker picks a value (or one the server once issued to the attacker's own browser)
    // and plants it in the owner's browser, then waits for the owner to sign in and verify.
    const attacker = new Client(app.url, { localAddress: "127.0.0.9" });
    const planted = "P".repeat(43);
    const owner = new Client(app.url, { localAddress: "127.0.0.8" });
    owner.jar.set("sk_device", planted);
    const { code } = await signInPending(app, smtp, "hal@example.test", owner);
    assert.equal((await owner.post("/api/signin/verify", { code })).status, 200);
    assert.notEqual(owner.cookie("sk_device"), planted, "the server replaced the planted value");
    // With the stolen password and the planted value, the attacker's sign-in is still held.
    attacker.jar.set("sk_device", planted);
    await signInPending(app, smtp, "hal@example.test", attacker);
    // The owner's browser, with the device cookie the server issued, is known.
    const again = new Client(app.url, { localAddress: "127.0.0.8" });
    again.jar.set("sk_device", owner.cookie("sk_device") as string);
    const back = await again.post("/api/signin", { email: "hal@example.test", password: PASSWORD });
    assert.equal(back.status, 200);
  });

  it("an expired code is refused and the pending session ends", async () => {
    app.addUser("fay@example.test", PASSWORD);
    const { client, code } = await signInPending(app, smtp, "fay@example.test");
    const pendingId = sessionIdOf(client);
    app.clock.advance(10 * 60_000 + 1);
    const late = await client.post("/api/signin/verify", { code });
    assert.equal(late.status, 400);
    assert.deepEqual(late.json, { error: "verification_expired" });
    assert.deepEqual(sessionRow(app.sqlite, pendingId), {
      status: "expired",
      end_reason: "verification_expired",
    });
  });
});

describe("verification policy new-ip", () => {
  let smtp: Smtp;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({ smtp, guard: { verification: "new-ip", alerts: "off" } });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it("holds an IP that never completed a sign-in, lets a known IP through on any device", async () => {
    app.addUser("gil@example.test", PASSWORD);
    const first = new Client(app.url, { localAddress: "127.0.0.2" });
    const { code } = await signInPending(app, smtp, "gil@example.test", first);
    assert.equal((await first.post("/api/signin/verify", { code })).status, 200);

    const sameIpNewBrowser = new Client(app.url, { localAddress: "127.0.0.2" });
    assert.equal(
      (
        await sameIpNewBrowser.post("/api/signin", {
          email: "gil@example.test",
          password: PASSWORD,
        })
      ).status,
      200,
    );

    const otherIp = new Client(app.url, { localAddress: "127.0.0.3" });
    otherIp.jar.set("sk_device", first.cookie("sk_device") as string);
    await signInPending(app, smtp, "gil@example.test", otherIp);
    const sent = eventRows(app.sqlite).filter((e) => e.type === "verification_sent");
    assert.deepEqual(
      sent.map((e) => [e.ip, e.reason]),
      [
        ["127.0.0.2", "new_ip"],
        ["127.0.0.3", "new_ip"],
      ],
    );
  });
});
