import { describeDevice, describeLocation } from "../device-words.js";
import type { SessionSnapshot } from "../events.js";
import { html, type SafeHtml } from "../html.js";
import type { MailMessage } from "../mail/mailer.js";
import type { LoginEvent } from "../types.js";

/** What a mail tells about a sign-in. Every field may come from the request: escaped in HTML. */
export interface SignInDetails {
  device: string;
  userAgent: string;
  ip: string;
  location: string;
  at: Date;
}

/** The details of a session's sign-in, as mail and link pages show them. */
export function signInDetails(record: SessionSnapshot): SignInDetails {
  return {
    device: describeDevice(record),
    userAgent: record.userAgent.length > 0 ? record.userAgent : "(none)",
    ip: record.ip,
    location: describeLocation(
      { city: record.city, region: record.region, country: record.country },
      record.ip,
    ),
    at: new Date(record.createdAt),
  };
}

/**
 * The details of one request as an event recorded it (a failed sign-in, the password change):
 * the same block as a sign-in's, from the event's device, IP and place.
 */
export function requestDetails(
  facts: Pick<
    LoginEvent,
    | "userAgent"
    | "browserName"
    | "browserVersion"
    | "osName"
    | "osVersion"
    | "country"
    | "region"
    | "city"
  > & { ip: string | null; name?: string | null; deviceModel?: string | null },
  at: number,
): SignInDetails {
  const ip = facts.ip ?? "(unknown)";
  return {
    device: describeDevice(facts),
    userAgent: facts.userAgent ? facts.userAgent : "(none)",
    ip,
    location: describeLocation(
      { city: facts.city, region: facts.region, country: facts.country },
      ip,
    ),
    at: new Date(at),
  };
}

/** The verification mail: the code, an approve link and a "this wasn't me" link. */
export function verificationMail(input: {
  appName: string;
  to: string;
  code: string;
  minutes: number;
  approveUrl: string;
  notMeUrl: string;
  details: SignInDetails;
}): MailMessage {
  const { appName, code, minutes, approveUrl, notMeUrl, details } = input;
  const subject = `Confirm a new sign-in to ${appName}`;
  const text = [
    `Someone signed in to ${appName} with your password from a device or network we don't recognise.`,
    "",
    `Your confirmation code: ${code}`,
    `It works once, for ${minutes} minutes.`,
    "",
    ...detailLines(details),
    "",
    `If this was you, enter the code or approve the sign-in here:`,
    approveUrl,
    "",
    `If this wasn't you, end that sign-in here and change your password:`,
    notMeUrl,
  ].join("\n");
  const body = html`<p>Someone signed in to <strong>${appName}</strong> with your password from a device or network we don't recognise.</p>
<p>Your confirmation code:</p>
<p style="font-size:28px;font-weight:bold;letter-spacing:4px;font-family:monospace">${code}</p>
<p>It works once, for ${minutes} minutes.</p>
${detailTable(details)}
<p><a href="${approveUrl}">Yes, this was me: approve the sign-in</a></p>
<p><a href="${notMeUrl}">This wasn't me: end that sign-in</a></p>`;
  return { to: input.to, subject, text, html: document(subject, body) };
}

/** The re-authentication mail: a code that proves it is you before a sensitive action. */
export function reauthMail(input: {
  appName: string;
  to: string;
  code: string;
  minutes: number;
  details: SignInDetails;
}): MailMessage {
  const { appName, code, minutes, details } = input;
  const subject = `Your ${appName} confirmation code`;
  const text = [
    `You asked to confirm it is you before a sensitive change to your ${appName} account.`,
    "",
    `Your confirmation code: ${code}`,
    `It works once, for ${minutes} minutes, on the device that asked for it.`,
    "",
    ...detailLines(details),
    "",
    "If you did not ask for it, change your password: someone may be signed in as you.",
  ].join("\n");
  const body = html`<p>You asked to confirm it is you before a sensitive change to your <strong>${appName}</strong> account.</p>
<p>Your confirmation code:</p>
<p style="font-size:28px;font-weight:bold;letter-spacing:4px;font-family:monospace">${code}</p>
<p>It works once, for ${minutes} minutes, on the device that asked for it.</p>
${detailTable(details)}
<p>If you did not ask for it, change your password: someone may be signed in as you.</p>`;
  return { to: input.to, subject, text, html: document(subject, body) };
}

/** The sign-in alert: what signed in, and a "this wasn't me" link that ends that session. */
export function alertMail(input: {
  appName: string;
  to: string;
  notMeUrl: string;
  details: SignInDetails;
  newDevice: boolean;
}): MailMessage {
  const { appName, notMeUrl, details } = input;
  const subject = input.newDevice
    ? `New sign-in to ${appName} from a new device`
    : `New sign-in to ${appName}`;
  const lead = input.newDevice
    ? `Your ${appName} account was just signed in to from a new device.`
    : `Your ${appName} account was just signed in to.`;
  const text = [
    lead,
    "",
    ...detailLines(details),
    "",
    "If this was you, there is nothing to do.",
    "If this wasn't you, end that session here, then change your password:",
    notMeUrl,
  ].join("\n");
  const body = html`<p>${lead}</p>
${detailTable(details)}
<p>If this was you, there is nothing to do.</p>
<p><a href="${notMeUrl}">This wasn't me: end that session</a>, then change your password.</p>`;
  return { to: input.to, subject, text, html: document(subject, body) };
}

/** Why a security mail is sent (also the `reason` of its `alert_sent` history entry). */
export type SecurityNotice =
  | "password_changed"
  | "passkey_added"
  | "passkey_removed"
  | "allow_list_added"
  | "allow_list_removed"
  | "lockout"
  | "password_guessing"
  | "not_me";

/**
 * A security mail: what happened to the account, the device(s) involved, and a link to the
 * security page. `details` lists the device that acted (the changer, the guessers, the session
 * reported as "not me"); for a lockout, `minutes` is how long unknown devices are refused.
 */
export function securityMail(input: {
  appName: string;
  to: string;
  notice: SecurityNotice;
  details: SignInDetails[];
  securityUrl: string;
  minutes?: number;
  attempts?: number;
  /** What changed: the passkey's name, the allowed address or range. */
  item?: string;
}): MailMessage {
  const { appName, details, securityUrl } = input;
  const words = securityWords(input);
  const text = [
    ...words.lead,
    "",
    ...details.flatMap((d, i) => [...(i > 0 ? [""] : []), ...detailLines(d)]),
    "",
    words.next,
    securityUrl,
  ].join("\n");
  const body = html`${words.lead.map((line) => html`<p>${line}</p>`)}
${details.map((d) => detailTable(d))}
<p>${words.next} <a href="${securityUrl}">Open your ${appName} security page</a>.</p>`;
  return { to: input.to, subject: words.subject, text, html: document(words.subject, body) };
}

function securityWords(input: {
  appName: string;
  notice: SecurityNotice;
  minutes?: number;
  attempts?: number;
  item?: string;
}): { subject: string; lead: string[]; next: string } {
  const app = input.appName;
  const item = input.item ? ` "${input.item}"` : "";
  switch (input.notice) {
    case "passkey_added":
      return {
        subject: `A passkey was added to your ${app} account`,
        lead: [
          `A passkey${item} was just added to your ${app} account: it can now confirm it's you instead of your password.`,
          "It was added from this device:",
        ],
        next: "If you did not add it, someone holds a session of your account: remove the passkey, sign out the devices you don't know and change your password.",
      };
    case "passkey_removed":
      return {
        subject: `A passkey was removed from your ${app} account`,
        lead: [
          `The passkey${item} was just removed from your ${app} account.`,
          "It was removed from this device:",
        ],
        next: "If you did not remove it, someone holds a session of your account: sign out the devices you don't know and change your password.",
      };
    case "allow_list_added":
      return {
        subject: `Sign-ins to ${app} are now limited to allowed addresses`,
        lead: [
          `The address${item} was just added to your ${app} account's allow list. While the list has addresses, sign-ins from any other address are refused.`,
          "It was added from this device:",
        ],
        next: "If you did not add it, someone holds a session of your account and may be shutting you out: remove it from a signed-in device, sign out the devices you don't know and change your password.",
      };
    case "allow_list_removed":
      return {
        subject: `An address was removed from your ${app} allow list`,
        lead: [
          `The address${item} was just removed from your ${app} account's allow list.`,
          "It was removed from this device:",
        ],
        next: "If you did not remove it, someone holds a session of your account: review your devices and security settings now.",
      };
    case "password_changed":
      return {
        subject: `Your ${app} password was changed`,
        lead: [
          `The password of your ${app} account was just changed, and every other device was signed out.`,
          "It was changed from this device:",
        ],
        next: "If you did not change it, someone else may hold your account: review your devices and security settings now, or contact support.",
      };
    case "lockout":
      return {
        subject: `Sign-ins to ${app} from unknown devices are paused`,
        lead: [
          `Someone tried to sign in to your ${app} account with a wrong password ${input.attempts ?? "several"} times.`,
          `For the next ${input.minutes ?? 15} minutes, sign-ins from devices that have not signed in to your account before are refused. Devices you have signed in on can still sign in.`,
          "The attempts came from:",
        ],
        next: "If this was you, wait and try again. If not, your password held; if it is used anywhere else, change it.",
      };
    case "password_guessing":
      return {
        subject: `A ${app} session was ended after wrong passwords`,
        lead: [
          `A signed-in session of your ${app} account entered a wrong current password several times, so it was ended.`,
          "That session was on:",
        ],
        next: "If that was not you, someone had that session: change your password.",
      };
    case "not_me":
      return {
        subject: `A sign-in to ${app} you did not make was ended`,
        lead: [
          `You reported that a sign-in to your ${app} account wasn't you. That session was ended and cannot be used again.`,
          "The sign-in you reported:",
        ],
        next: "Whoever made it knew your password: change your password now.",
      };
  }
}

function detailLines(d: SignInDetails): string[] {
  return [
    `Device: ${d.device}`,
    `Browser string: ${d.userAgent}`,
    `IP address: ${d.ip}`,
    `Location: ${d.location}`,
    `Time: ${d.at.toUTCString()}`,
  ];
}

function detailTable(d: SignInDetails): SafeHtml {
  const rows: Array<[string, string]> = [
    ["Device", d.device],
    ["Browser string", d.userAgent],
    ["IP address", d.ip],
    ["Location", d.location],
    ["Time", d.at.toUTCString()],
  ];
  return html`<table cellpadding="4" style="border-collapse:collapse">${rows.map(
    ([label, value]) =>
      html`<tr><th align="left" style="color:#555">${label}</th><td>${value}</td></tr>`,
  )}</table>`;
}

function document(title: string, body: SafeHtml): string {
  return html`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;line-height:1.5">${body}</body></html>`.toString();
}
