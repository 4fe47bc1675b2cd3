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

// Never in a recipient: C0 and C1 controls (NUL and the rest), format characters (bidi overrides
// and isolates U+202A–202E and U+2066–2069, zero-width U+200B–200D, U+2060, U+FEFF, the soft
// hyphen), lone surrogates (a `u` regexp sees them as \p{Cs} code points), private-use and
// unassigned code points (all of \p{C}), and U+FFFD, which is what invalid UTF-8 became when it
// was decoded. They hide or reorder what a person reads (the address shown is not the one mail
// goes to), or are not text an SMTP server should see.
const BAD_ADDRESS_CHARACTER = /[\p{C}\uFFFD]/u;

// Exactly one address, local@domain, with none of the characters that make a header a list
// ("a@x.org, b@y.org", "a@x.org; b@y.org"), a group ("g: a@x.org;"), a display name or route
// ("Ann <a@x.org>") or a comment: a mail library would send to every address it finds.
// An apostrophe stays allowed: it is common in real local parts (o'brien@example.com) and no
// mail library reads it as a separator.
const ONE_BARE_ADDRESS = /^[^\s@<>",;:()[\]\\]+@[^\s@<>"',;:()[\]\\]+$/;

/**
 * Throws a TypeError when `to` is not one bare address, or holds a control, invisible or bidi character, a lone surrogate
 * or U+FFFD. Apps should refuse such addresses when they are entered; this is the last check
 * before anything is sent.
 */
export function checkRecipient(to: string): void {
  if (BAD_ADDRESS_CHARACTER.test(to)) {
    throw new TypeError(
      "mail message.to must not contain control, invisible or bidi characters, or invalid text (refused before sending)",
    );
  }
  if (!ONE_BARE_ADDRESS.test(to)) {
    throw new TypeError(
      'mail message.to must be one bare address such as "ann@example.com" (no list, name or comment; refused before sending)',
    );
  }
}

/**
 * Throws a TypeError for a message that is not four strings, has a line break in a header, or a
 * recipient that {@link checkRecipient} refuses.
 */
export function checkMessage(message: MailMessage): void {
  for (const field of ["to", "subject", "text", "html"] as const) {
    if (typeof message?.[field] !== "string")
      throw new TypeError(`mail message.${field} must be a string`);
  }
  if (LINE_BREAK.test(message.to) || LINE_BREAK.test(message.subject)) {
    throw new TypeError("mail message.to and .subject must be one line");
  }
  checkRecipient(message.to);
}
