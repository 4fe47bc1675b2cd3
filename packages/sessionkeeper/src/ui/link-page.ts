import { html } from "../html.js";
import type { LinkResult, LinkView } from "../protection/results.js";
import { type HtmlPage, htmlPage } from "./html-page.js";

/**
 * The page a mail link opens (GET): what signed in and one button that POSTs the choice to
 * `action`. It changes nothing itself, since mail scanners prefetch links. With `details` null
 * the link is invalid, expired or used, and the page says so (status 400) without a form.
 */
export function renderLinkPage(input: LinkView): HtmlPage {
  const { kind, appName, details } = input;
  if (!details) {
    return htmlPage(
      "This link no longer works",
      html`<p class="lede">It is invalid, has expired or was already used. Sign in again if you need to.</p>`,
      400,
      { appName },
    );
  }
  const approve = kind === "approve";
  const heading = approve ? "Approve this sign-in?" : "Wasn't you?";
  const explain = approve
    ? "Approve only if you just signed in yourself. The device that signed in will then continue."
    : "Ending this sign-in signs that device out at once. Then change your password: whoever signed in knows it.";
  const content = html`<p class="lede">${explain}</p>
<div class="panel"><dl class="facts">
<dt>Account</dt><dd>${appName}</dd>
<dt>Device</dt><dd>${details.device}</dd>
<dt>Browser string</dt><dd class="ua">${details.userAgent}</dd>
<dt>IP address</dt><dd>${details.ip}</dd>
<dt>Location</dt><dd>${details.location}</dd>
<dt>Time</dt><dd>${details.at.toUTCString()}</dd>
</dl></div>
<form method="post" action="${input.action}">
<input type="hidden" name="token" value="${input.token}">
<button type="submit" class="${approve ? "primary" : "danger"}">${approve ? "Approve sign-in" : "End that sign-in"}</button>
</form>`;
  return htmlPage(heading, content, 200, { appName });
}

/**
 * The page after the button was pressed: done, or why not (status 400). `securityPath`: the
 * app's page to change the password, linked from "Change your password now".
 */
export function renderLinkResultPage(
  result: LinkResult,
  options: { appName: string; securityPath?: string },
): HtmlPage {
  const { appName } = options;
  if (!result.ok) {
    return htmlPage(
      "This link no longer works",
      html`<p class="lede">It is invalid, has expired or was already used. Nothing was changed.</p>`,
      result.httpStatus,
      { appName },
    );
  }
  if (result.action === "approved") {
    return htmlPage(
      "Sign-in approved",
      html`<p class="lede">Go back to the device where you signed in: it continues from there.</p>`,
      200,
      { appName },
    );
  }
  const change = options.securityPath
    ? html`<a href="${options.securityPath}">Change your password now</a>`
    : "Change your password now";
  return htmlPage(
    "That sign-in has been ended",
    html`<p class="lede">The device was signed out and the attempt is in your login history.</p>
<p>${change}: whoever signed in knows it.</p>`,
    200,
    { appName },
  );
}
