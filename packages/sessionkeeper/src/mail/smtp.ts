import type { Transporter } from "nodemailer";
import { checkMessage, type Mailer, type MailMessage } from "./mailer.js";

/** An SMTP mailer that can be closed (it keeps no pool, but close() ends any open connection). */
export interface SmtpMailer extends Mailer {
  close(): void;
}

/**
 * Sends mail over SMTP with nodemailer (an optional peer dependency, loaded on first use).
 * `url` is an SMTP URL such as `smtp://127.0.0.1:2525` or `smtps://user:pass@mail.example.com`.
 * @example
 * const mailer = process.env.SMTP_URL ? smtpMailer(process.env.SMTP_URL, { from: "Demo <no-reply@example.com>" }) : devMailbox();
 */
export function smtpMailer(url: string, options: { from?: string } = {}): SmtpMailer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("smtpMailer(url) needs an SMTP URL such as smtp://127.0.0.1:2525");
  }
  if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
    throw new TypeError("smtpMailer(url) needs an smtp:// or smtps:// URL");
  }
  const from = options.from ?? "sessionkeeper <no-reply@localhost>";
  if (typeof from !== "string" || /[\r\n]/.test(from))
    throw new TypeError("smtpMailer options.from must be one line");
  let transport: Promise<Transporter> | null = null;
  const open = () => {
    transport ??= import("nodemailer").then((nodemailer) => nodemailer.createTransport(url));
    return transport;
  };
  return {
    async send(message: MailMessage) {
      checkMessage(message);
      const smtp = await open();
      await smtp.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    },
    close() {
      transport?.then(
        (t) => t.close(),
        () => {},
      );
    },
  };
}
