// `sessionkeeper/mail`: the mailer interface, SMTP through nodemailer, and the dev mailbox.

export type { DevMailbox } from "../ui/dev-mailbox.js";
export { devMailbox, renderMailboxPage } from "../ui/dev-mailbox.js";
export type { Mailer, MailMessage } from "./mailer.js";
export type { SmtpMailer } from "./smtp.js";
export { smtpMailer } from "./smtp.js";
