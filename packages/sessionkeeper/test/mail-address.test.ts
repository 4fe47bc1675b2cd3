// The mail layer refuses recipients with control, invisible or bidi characters, or that are not
// well-formed text, before anything reaches the SMTP server (a real smtp-server, no mocks).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { devMailbox, smtpMailer } from "../src/mail/index.js";
import { type Smtp, startSmtp } from "./protection/harness.js";

const BAD_RECIPIENTS: [string, string][] = [
  ["NUL", "ann\u0000@example.test"],
  ["BEL", "ann\u0007@example.test"],
  ["ESC", "ann\u001b@example.test"],
  ["tab", "ann\t@example.test"],
  ["DEL", "ann\u007f@example.test"],
  ["C1 NEL", "ann\u0085@example.test"],
  ["C1 CSI", "ann\u009b@example.test"],
  ["LRE", "ann\u202a@example.test"],
  ["RLE", "ann\u202b@example.test"],
  ["PDF", "ann\u202c@example.test"],
  ["LRO", "ann\u202d@example.test"],
  ["RLO", "ann\u202e@example.test"],
  ["LRI", "ann\u2066@example.test"],
  ["RLI", "ann\u2067@example.test"],
  ["FSI", "ann\u2068@example.test"],
  ["PDI", "ann\u2069@example.test"],
  ["ZWSP", "ann\u200b@example.test"],
  ["ZWNJ", "ann\u200c@example.test"],
  ["ZWJ", "ann\u200d@example.test"],
  ["WJ", "ann\u2060@example.test"],
  ["BOM", "ann\ufeff@example.test"],
  ["lone high surrogate", "ann\ud800@example.test"],
  ["lone low surrogate", "ann\udc00@example.test"],
  ["replacement character (invalid UTF-8 decoded)", "ann\ufffd@example.test"],
];

const message = (to: string) => ({ to, subject: "Hello", text: "plain", html: "<p>html</p>" });

describe("mail recipients with control, invisible or bidi characters", () => {
  let smtp: Smtp;
  before(async () => {
    smtp = await startSmtp();
  });
  after(() => smtp.close());

  it("smtpMailer refuses each with a TypeError naming the problem, and nothing reaches the SMTP server", async () => {
    const mailer = smtpMailer(smtp.url);
    try {
      for (const [name, to] of BAD_RECIPIENTS) {
        const before = smtp.inbox.length;
        await assert.rejects(
          mailer.send(message(to)),
          (error: unknown) =>
            error instanceof TypeError &&
            /mail message\.to .*control, invisible or bidi/.test(error.message),
          name,
        );
        assert.equal(smtp.inbox.length, before, `${name}: nothing was sent`);
      }
      // Ordinary and international addresses still go out.
      await mailer.send(message("ann@example.test"));
      assert.match(JSON.stringify(smtp.last().to), /ann@example\.test/);
    } finally {
      mailer.close();
    }
  });

  it("the dev mailbox refuses them too", async () => {
    const mailbox = devMailbox();
    for (const [name, to] of BAD_RECIPIENTS)
      await assert.rejects(mailbox.send(message(to)), TypeError, name);
    assert.deepEqual(mailbox.messages(), []);
    await mailbox.send(message("jürgen@bücher.example"));
    assert.equal(mailbox.messages().length, 1);
  });
});

// A mail library reads a list, a group or a display name in `to` and sends to every address in it:
// "ann@example.test, eve@evil.test" would mail a victim's code to the attacker too.
const NOT_ONE_ADDRESS: [string, string][] = [
  ["comma list", "ann@example.test, eve@evil.test"],
  ["comma without space", "ann@example.test,eve@evil.test"],
  ["semicolon list", "ann@example.test;eve@evil.test"],
  ["group", "friends: ann@example.test, eve@evil.test;"],
  ["display name", "Ann <eve@evil.test>"],
  ["route in brackets", "<eve@evil.test>"],
  ["comment", "ann@example.test (eve@evil.test)"],
  ["quoted local part", '"ann,eve"@example.test'],
  ["space", "ann @example.test"],
  ["no at sign", "ann.example.test"],
  ["two at signs", "ann@eve@evil.test"],
];

describe("mail recipients that are not exactly one bare address", () => {
  let smtp: Smtp;
  before(async () => {
    smtp = await startSmtp();
  });
  after(() => smtp.close());

  it("smtpMailer and the dev mailbox refuse lists, groups, names and comments; nothing is sent", async () => {
    const mailer = smtpMailer(smtp.url);
    const mailbox = devMailbox();
    try {
      for (const [name, to] of NOT_ONE_ADDRESS) {
        await assert.rejects(
          mailer.send(message(to)),
          (error: unknown) => error instanceof TypeError && /one bare address/.test(error.message),
          name,
        );
        await assert.rejects(mailbox.send(message(to)), TypeError, name);
      }
      assert.equal(smtp.inbox.length, 0, "nothing reached the SMTP server");
      assert.deepEqual(mailbox.messages(), []);
      await mailer.send(message("ann+tag@example.test"));
      await mailer.send(message("o'brien@example.test"));
      assert.equal(smtp.inbox.length, 2, "plain addresses, an apostrophe included, still go out");
      assert.match(JSON.stringify(smtp.last().to), /o'brien@example\.test/);
    } finally {
      mailer.close();
    }
  });
});
