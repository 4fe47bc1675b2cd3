// The owner's security mail, end to end over HTTP with a real SMTP server: one mail when the
// account starts refusing unknown devices, a mail for a password change, for a session ended for
// guessing the current password, and for a "this wasn't me" report — whose history entry shows
// the refused device, not the one that clicked the link.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ParsedMail } from "mailparser";
import {
  Client,
  eventRows,
  readMail,
  type Smtp,
  startApp,
  startSmtp,
  type TestApp,
} from "./harness.js";

const PASSWORD = "correct horse battery staple";
const HOSTILE_UA = `Refused/1.0 "><script>alert(1)</script>`;

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Security mail is sent after the answer: wait for the one whose subject matches. */
async function mailTo(smtp: Smtp, to: string, subject: RegExp, ms = 5000): Promise<ParsedMail> {
  const end = Date.now() + ms;
  for (;;) {
    const found = smtp.inbox.find(
      (m) => JSON.stringify(m.to).includes(to) && subject.test(m.subject ?? ""),
    );
    if (found) return found;
    if (Date.now() > end) throw new Error(`no mail to ${to} matching ${subject}`);
    await sleep(25);
  }
}

function countTo(smtp: Smtp, to: string, subject: RegExp): number {
  return smtp.inbox.filter(
    (m) => JSON.stringify(m.to).includes(to) && subject.test(m.subject ?? ""),
  ).length;
}

describe("security mail to the owner", () => {
  let smtp: Smtp;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({
      smtp,
      keeper: { trustProxy: "loopback" },
      guard: {
        verification: "off",
        alerts: "new-device",
        lockout: { maxFailures: 3, maxFailuresPerIp: 100 },
        addressOf: (userId) => [...app.users.values()].find((u) => u.id === userId)?.email,
      },
    });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it("mails once when the account starts refusing unknown devices, listing the guessing devices", async () => {
    const userId = app.addUser("lock@example.test", PASSWORD);
    const paused = /from unknown devices are paused/;
    const guess = (ip: string, ua: string) =>
      new Client(app.url, { userAgent: ua }).post(
        "/api/signin",
        { email: "lock@example.test", password: "wrong" },
        { "x-forwarded-for": ip },
      );
    await guess("203.0.113.5", "Guesser-A/1.0");
    await guess("203.0.113.6", "Guesser-B/2.0");
    assert.equal(countTo(smtp, "lock@example.test", paused), 0, "nothing before the limit");
    assert.equal((await guess("203.0.113.7", HOSTILE_UA)).status, 401, "the third is counted");
    const mail = await mailTo(smtp, "lock@example.test", paused);
    const text = mail.text ?? "";
    assert.match(text, /wrong password 3 times/);
    assert.match(text, /next 15 minutes/);
    for (const ip of ["203.0.113.5", "203.0.113.6", "203.0.113.7"])
      assert.ok(text.includes(`IP address: ${ip}`), `lists ${ip}`);
    assert.ok(text.includes("Guesser-A/1.0") && text.includes("Guesser-B/2.0"));
    assert.ok(text.includes(`${app.url}/account/security`), "links to the security page");
    const html = String(mail.html);
    assert.ok(!html.includes("<script>alert(1)"), "the User-Agent is escaped in HTML");
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Further guesses (refused now) do not mail again.
    for (let i = 0; i < 4; i++) assert.equal((await guess("203.0.113.8", "X")).status, 429);
    await sleep(200);
    assert.equal(countTo(smtp, "lock@example.test", paused), 1, "one mail per lock");
    assert.ok(
      eventRows(app.sqlite).some(
        (e) => e.type === "alert_sent" && e.reason === "lockout" && e.user_id === userId,
      ),
    );
  });

  it("mails when the password changes, with the device that changed it", async () => {
    app.addUser("pw@example.test", PASSWORD);
    const client = new Client(app.url, { userAgent: "Changer/3.0 (X11; Linux x86_64)" });
    const headers = { "x-forwarded-for": "198.51.100.20" };
    assert.equal(
      (await client.post("/api/signin", { email: "pw@example.test", password: PASSWORD }, headers))
        .status,
      200,
    );
    const changed = await client.post(
      "/api/password",
      { currentPassword: PASSWORD, newPassword: "another long password" },
      headers,
    );
    assert.equal(changed.status, 204);
    const mail = await mailTo(smtp, "pw@example.test", /password was changed/);
    assert.match(mail.text ?? "", /IP address: 198\.51\.100\.20/);
    assert.match(mail.text ?? "", /Changer\/3\.0/);
  });

  it("mails when a session is ended for guessing the current password", async () => {
    app.addUser("guess@example.test", PASSWORD);
    const stolen = new Client(app.url, { userAgent: "Stolen-Cookie/1.0" });
    const headers = { "x-forwarded-for": "198.51.100.30" };
    await stolen.post("/api/signin", { email: "guess@example.test", password: PASSWORD }, headers);
    let last = 0;
    for (let i = 0; i < 5 && last !== 401 && last !== 429; i++)
      last = (
        await stolen.post(
          "/api/password",
          { currentPassword: `guess ${i}`, newPassword: "x".repeat(12) },
          headers,
        )
      ).status;
    // Either the session ended (401) or the account's count held it first (429): mail for each.
    const ended = await mailTo(
      smtp,
      "guess@example.test",
      /ended after wrong passwords|from unknown devices are paused/,
    );
    assert.match(ended.text ?? "", /Stolen-Cookie\/1\.0/);
  });

  it("mails when an address is added to or removed from the allow list, with the device, and records both as security changes", async () => {
    const userId = app.addUser("allow@example.test", PASSWORD);
    const client = new Client(app.url, { userAgent: "Allow-Setter/4.0 (X11; Linux x86_64)" });
    const headers = { "x-forwarded-for": "198.51.100.40" };
    const signedIn = await client.post(
      "/api/signin",
      { email: "allow@example.test", password: PASSWORD },
      headers,
    );
    assert.equal(signedIn.status, 200);
    const sessionId = (client.cookie("sk_session") as string).split(".")[0];

    const added = await client.post("/api/ip-rules", { cidr: "198.51.100.0/24" }, headers);
    assert.equal(added.status, 201);
    const ruleId = (added.json as { rule: { id: string } }).rule.id;
    const limited = /now limited to allowed addresses/;
    const mail = await mailTo(smtp, "allow@example.test", limited);
    const text = mail.text ?? "";
    assert.match(text, /"198\.51\.100\.0\/24" was just added/);
    assert.match(text, /IP address: 198\.51\.100\.40/, "the device that added it");
    assert.match(text, /Allow-Setter\/4\.0/);

    // The same range again changes nothing: no second entry, no second mail.
    assert.equal(
      (await client.post("/api/ip-rules", { cidr: "198.51.100.0/24" }, headers)).status,
      201,
    );
    app.clock.advance(1000); // the history is newest first; the test's clock stands still
    const removed = await client.send("DELETE", `/api/ip-rules/${ruleId}`, undefined, headers);
    assert.equal(removed.status, 204);
    await mailTo(smtp, "allow@example.test", /was removed from your .* allow list/);
    await sleep(100);
    assert.equal(countTo(smtp, "allow@example.test", limited), 1, "one mail per change");

    const rows = eventRows(app.sqlite).filter(
      (e) => e.user_id === userId && e.type.startsWith("ip_allow_"),
    );
    assert.deepEqual(rows.map((e) => [e.type, e.reason, e.session_id, e.ip]).sort(), [
      ["ip_allow_added", "198.51.100.0/24", sessionId, "198.51.100.40"],
      ["ip_allow_removed", "198.51.100.0/24", sessionId, "198.51.100.40"],
    ]);
    const security = await app.keeper.historyPage(userId, { filter: "security" });
    assert.deepEqual(
      security.entries.map((e) => ("first" in e ? e.first.type : e.kind)),
      ["ip_allow_removed", "ip_allow_added"],
      "the history's security changes list both",
    );
  });

  it("mails when a passkey is added or removed, naming it", async () => {
    const userId = app.addUser("pk@example.test", PASSWORD);
    const client = new Client(app.url, { userAgent: "Passkey-Adder/5.0" });
    await client.post(
      "/api/signin",
      { email: "pk@example.test", password: PASSWORD },
      { "x-forwarded-for": "198.51.100.50" },
    );
    const info = {
      ip: "198.51.100.50",
      userAgent: "Passkey-Adder/5.0",
      cookieHeader: `sk_session=${client.cookie("sk_session")}`,
      secure: false,
    };
    const record = (await app.keeper.authenticate(info))?.record;
    assert.ok(record);
    await app.keeper.addPasskey(record, info, {
      id: "credential-1",
      userId,
      name: "Work laptop",
      publicKey: "AQID",
      counter: 0,
      transports: [],
      createdAt: app.clock.now,
      lastUsedAt: null,
    });
    const added = await mailTo(smtp, "pk@example.test", /passkey was added/);
    assert.match(added.text ?? "", /A passkey "Work laptop" was just added/);
    assert.match(added.text ?? "", /IP address: 198\.51\.100\.50/);
    app.clock.advance(1000);
    assert.ok(await app.keeper.removePasskey(record, info, "credential-1"));
    const removed = await mailTo(smtp, "pk@example.test", /passkey was removed/);
    assert.match(removed.text ?? "", /The passkey "Work laptop" was just removed/);
    const types = (await app.keeper.historyPage(userId, { filter: "security" })).entries.map((e) =>
      "first" in e ? e.first.type : e.kind,
    );
    assert.deepEqual(types, ["passkey_removed", "passkey_added"]);
  });

  it("mails a not-me report with the refused sign-in, and the history shows that device", async () => {
    const userId = app.addUser("nm@example.test", PASSWORD);
    const intruder = new Client(app.url, { userAgent: HOSTILE_UA });
    const signedIn = await intruder.post(
      "/api/signin",
      { email: "nm@example.test", password: PASSWORD },
      { "x-forwarded-for": "192.0.2.66" },
    );
    assert.equal(signedIn.status, 200);
    const sessionId = (intruder.cookie("sk_session") as string).split(".")[0];
    const alert = await mailTo(smtp, "nm@example.test", /New sign-in/);
    const { notMeToken } = readMail(alert);
    assert.ok(notMeToken);

    // The owner clicks "this wasn't me" on a phone, from another address.
    const owner = new Client(app.url, { userAgent: "Owner-Phone/9.0 (iPhone)" });
    const denied = await owner.postForm(
      "/signin/not-me",
      { token: notMeToken },
      { "x-forwarded-for": "198.51.100.99" },
    );
    assert.equal(denied.status, 200);

    const mail = await mailTo(smtp, "nm@example.test", /you did not make was ended/);
    const text = mail.text ?? "";
    assert.match(text, /IP address: 192\.0\.2\.66/, "the refused sign-in's address");
    assert.ok(!text.includes("198.51.100.99"), "not the clicker's");
    assert.ok(!String(mail.html).includes("<script>alert(1)"), "escaped");

    const ended = eventRows(app.sqlite).find(
      (e) => e.type === "session_locked" && e.reason === "not_me" && e.user_id === userId,
    );
    assert.ok(ended, "the ending is in the history");
    assert.equal(ended.ip, "192.0.2.66", "history shows the refused device's IP");
    assert.equal(ended.user_agent, HOSTILE_UA, "and its browser, not the owner's phone");
    assert.equal((await intruder.get("/api/me")).status, 401, `${sessionId} no longer works`);
  });
});
