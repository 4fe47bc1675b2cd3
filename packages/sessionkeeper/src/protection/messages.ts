import { describeDevice, describeLocation } from "../device-words.js";
import type { SessionSnapshot } from "../events.js";
import { html, type SafeHtml } from "../html.js";
import type { MailMessage } from "../mail/mailer.js";

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
