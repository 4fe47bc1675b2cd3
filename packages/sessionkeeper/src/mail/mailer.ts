/** One e-mail: a plain-text and an HTML body. Subject and recipient are plain strings (no CR/LF). */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What the guard sends mail through: SMTP in production, the dev mailbox without it. */
export interface Mailer {
  /** Resolves once the message is handed over (accepted by the SMTP server); rejects otherwise. */
  send(message: MailMessage): Promise<void>;
}

// A header value with a line break could smuggle in headers of its own.
const LINE_BREAK = /[\r\n]/;

/** Throws a TypeError for a message that is not four strings or has a line break in a header. */
export function checkMessage(message: MailMessage): void {
  for (const field of ["to", "subject", "text", "html"] as const) {
    if (typeof message?.[field] !== "string")
      throw new TypeError(`mail message.${field} must be a string`);
  }
  if (LINE_BREAK.test(message.to) || LINE_BREAK.test(message.subject)) {
    throw new TypeError("mail message.to and .subject must be one line");
  }
}
