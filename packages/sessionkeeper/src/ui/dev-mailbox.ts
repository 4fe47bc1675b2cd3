import { html } from "../html.js";
import { checkMessage, type Mailer, type MailMessage } from "../mail/mailer.js";
import { type HtmlPage, htmlPage } from "./html-page.js";

/** A message the dev mailbox kept. `sentAt` serialises to ISO text in JSON. */
export interface SentMail extends MailMessage {
  sentAt: Date;
}

/** A mailer that keeps messages in memory, for development without SMTP. Never use it in production. */
export interface DevMailbox extends Mailer {
  /** The kept messages, newest first (copies: changing them changes nothing here). */
  messages(): SentMail[];
  clear(): void;
}

/**
 * Keeps the last `limit` (default 100) messages in memory. Serve them at `/dev/mailbox` with
 * {@link renderMailboxPage} and `/dev/mailbox.json` as `{ messages: mailbox.messages() }`,
 * only when no SMTP is configured: the messages hold sign-in codes.
 */
export function devMailbox(options: { limit?: number } = {}): DevMailbox {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new TypeError("devMailbox options.limit must be an integer from 1 to 10000");
  const kept: SentMail[] = [];
  return {
    async send(message) {
      checkMessage(message);
      kept.unshift({
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        sentAt: new Date(),
      });
      if (kept.length > limit) kept.length = limit;
    },
    messages: () => kept.map((m) => ({ ...m, sentAt: new Date(m.sentAt) })),
    clear() {
      kept.length = 0;
    },
  };
}

// Links in the text part become clickable; only http(s), and the URL is escaped like all text.
const URL_PATTERN = /https?:\/\/[^\s<>"']+/g;

/**
 * The dev mailbox page: every message with its recipient, subject, time, text body (links
 * clickable) and HTML body in a sandboxed frame (no scripts). Everything is escaped.
 */
export function renderMailboxPage(
  messages: readonly SentMail[],
  options: { title?: string; appName?: string } = {},
): HtmlPage {
  const title = options.title ?? "Dev mailbox";
  const content = html`<p class="lede">Mail the app would have sent. Shown only because no SMTP server is configured.</p>
${messages.length === 0 ? html`<div class="empty"><strong>No messages yet</strong>Mail the app sends will appear here.</div>` : null}
${messages.map(
  (m) => html`<article class="panel" data-message>
<h2>${m.subject}</h2>
<dl class="facts"><dt>To</dt><dd>${m.to}</dd><dt>Sent</dt><dd><time datetime="${m.sentAt.toISOString()}">${m.sentAt.toISOString()}</time></dd></dl>
<pre>${linkify(m.text)}</pre>
<details><summary>HTML version</summary><iframe sandbox title="HTML version of ${m.subject}" srcdoc="${m.html}"></iframe></details>
</article>`,
)}`;
  return htmlPage(title, content, 200, { appName: options.appName ?? title, inlineStyles: true });
}

function linkify(text: string) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const index = match.index ?? 0;
    parts.push(text.slice(last, index), html`<a href="${match[0]}">${match[0]}</a>`);
    last = index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}
