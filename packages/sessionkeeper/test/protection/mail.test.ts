// Mail: SMTP through nodemailer to a real smtp-server, the dev mailbox and its page, and what the
// guard does when mail cannot be sent.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { devMailbox, renderMailboxPage, smtpMailer } from "../../src/mail/index.js";
import { unreachablePort } from "../many/services.js";
import { Client, eventRows, type Smtp, startApp, startSmtp } from "./harness.js";

const HOSTILE = `"><img src=x onerror=alert(1)><script>alert(2)</script>`;
const PASSWORD = "correct horse battery staple";

describe("smtpMailer", () => {
  let smtp: Smtp;
  before(async () => {
    smtp = await startSmtp();
  });
  after(async () => {
    await smtp.close();
  });

  it("delivers the text and HTML parts over SMTP", async () => {
    const mailer = smtpMailer(smtp.url, { from: "Demo <no-reply@example.test>" });
    try {
      await mailer.send({
        to: "ann@example.test",
        subject: "Hello",
        text: "plain body",
        html: "<p>html body</p>",
      });
      const mail = smtp.last();
      assert.equal(mail.subject, "Hello");
      assert.equal(mail.text?.trim(), "plain body");
      assert.equal(mail.html, "<p>html body</p>");
      assert.equal(mail.from?.text, '"Demo" <no-reply@example.test>');
    } finally {
      mailer.close();
    }
  });

  it("refuses a header with a line break and a URL that is not SMTP", async () => {
    const mailer = smtpMailer(smtp.url);
    try {
      const count = smtp.inbox.length;
      await assert.rejects(
        mailer.send({
          to: "a@example.test\r\nBcc: b@example.test",
          subject: "x",
          text: "",
          html: "",
        }),
        TypeError,
      );
      await assert.rejects(
        mailer.send({
          to: "a@example.test",
          subject: "x\nBcc: b@example.test",
          text: "",
          html: "",
        }),
        TypeError,
      );
      assert.equal(smtp.inbox.length, count, "nothing was sent");
    } finally {
      mailer.close();
    }
    assert.throws(() => smtpMailer("http://example.test"), TypeError);
    assert.throws(() => smtpMailer("not a url"), TypeError);
  });
});

describe("devMailbox", () => {
  it("keeps messages newest first, bounded, as copies", async () => {
    const mailbox = devMailbox({ limit: 2 });
    for (const n of [1, 2, 3])
      await mailbox.send({ to: `u${n}@example.test`, subject: `s${n}`, text: "t", html: "h" });
    const messages = mailbox.messages();
    assert.deepEqual(
      messages.map((m) => m.subject),
      ["s3", "s2"],
    );
    assert.ok(messages[0]?.sentAt instanceof Date);
    (messages[0] as { subject: string }).subject = "changed";
    assert.equal(mailbox.messages()[0]?.subject, "s3");
    const json = JSON.parse(JSON.stringify({ messages: mailbox.messages() }));
    assert.deepEqual(Object.keys(json.messages[0]).sort(), [
      "html",
      "sentAt",
      "subject",
      "text",
      "to",
    ]);
    mailbox.clear();
    assert.deepEqual(mailbox.messages(), []);
  });

  it("renders the mailbox page escaped, with the links of the text part clickable", async () => {
    const mailbox = devMailbox();
    // The mailbox itself refuses a recipient that is not one bare address ...
    await assert.rejects(
      mailbox.send({ to: `${HOSTILE}@example.test`, subject: "s", text: "t", html: "h" }),
      /one bare address/,
    );
    await mailbox.send({
      to: "o'brien@example.test",
      subject: HOSTILE,
      text: `Approve: http://127.0.0.1:3000/signin/approve?token=abc.def&x="><script>\n${HOSTILE}`,
      html: `<p>${HOSTILE}</p>`,
    });
    const [sent] = mailbox.messages();
    assert.ok(sent);
    assert.equal(sent.to, "o'brien@example.test");
    // ... and the page escapes every field anyway, the recipient included.
    const page = renderMailboxPage([sent, { ...sent, to: `${HOSTILE}@example.test` }]);
    assert.equal(page.status, 200);
    assert.equal(page.headers["cache-control"], "no-store");
    assert.ok(!page.body.includes("<script>"), "no script element anywhere");
    assert.ok(!page.body.includes("<img src=x"));
    assert.ok(page.body.includes("&lt;script&gt;alert(2)&lt;/script&gt;"));
    // The link ends where a quote starts; the rest stays escaped text.
    assert.ok(
      page.body.includes(
        '<a href="http://127.0.0.1:3000/signin/approve?token=abc.def&amp;x=">http://127.0.0.1:3000/signin/approve?token=abc.def&amp;x=</a>&quot;&gt;&lt;script&gt;',
      ),
    );
    assert.match(
      page.body,
      /<iframe sandbox [^>]*srcdoc="&lt;p&gt;/,
      "the HTML part only inside a sandboxed frame, escaped",
    );
    assert.match(renderMailboxPage([]).body, /No messages yet/);
  });
});

describe("the guard when mail cannot be sent", () => {
  let closedPort: number;
  let release: () => Promise<void>;
  before(async () => {
    // Held for the whole suite: a port merely free now could be taken by a test running beside it.
    const port = await unreachablePort();
    closedPort = port.port;
    release = port.close;
  });
  after(() => release());

  it("refuses a held sign-in with 503 mail_unavailable and ends the pending session; an alert failure does not block", async () => {
    const unreachable = {
      url: `smtp://127.0.0.1:${closedPort}`,
      inbox: [],
      last: () => assert.fail("no mail"),
      close: async () => {},
    } satisfies Smtp;
    const held = await startApp({ smtp: unreachable, guard: { verification: "new-device" } });
    const alerted = await startApp({
      smtp: unreachable,
      guard: { verification: "off", alerts: "every" },
    });
    try {
      held.addUser("ann@example.test", PASSWORD);
      const client = new Client(held.url);
      const reply = await client.post("/api/signin", {
        email: "ann@example.test",
        password: PASSWORD,
      });
      assert.equal(reply.status, 503);
      assert.deepEqual(reply.json, { error: "mail_unavailable" });
      assert.equal(client.cookie("sk_session"), undefined);
      const rows = held.sqlite.db.prepare("SELECT status, end_reason FROM sk_sessions").all();
      assert.deepEqual(rows, [{ status: "revoked", end_reason: "mail_failed" }]);

      alerted.addUser("bob@example.test", PASSWORD);
      const bob = new Client(alerted.url);
      assert.equal(
        (await bob.post("/api/signin", { email: "bob@example.test", password: PASSWORD })).status,
        200,
      );
      assert.equal((await bob.get("/api/me")).status, 200);
      assert.ok(eventRows(alerted.sqlite).some((e) => e.type === "alert_failed"));
    } finally {
      await held.close();
      await alerted.close();
    }
  });
});
