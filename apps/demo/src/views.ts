import { html, type SafeHtml } from "sessionkeeper";
import type { PasskeyView } from "sessionkeeper/passkeys";

// The reference app's own forms. Every value is interpolated through `html`, which escapes it.

export function errorNotice(message: string | null): SafeHtml {
  return message ? html`<p class="notice error" role="alert">${message}</p>` : html``;
}

export function signInForm(options: {
  next: string;
  email?: string;
  /** The checkbox's state; ticked unless the user unticked it (the API's default too). */
  rememberMe?: boolean;
  error?: string | null;
  notice?: string | null;
}): SafeHtml {
  return html`
    ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : null}
    ${errorNotice(options.error ?? null)}
    <form method="post" action="/signin" class="stack">
      <input type="hidden" name="next" value="${options.next}">
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${options.email ?? ""}">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
      <label class="check"><input id="rememberMe" name="rememberMe" type="checkbox" value="on"${options.rememberMe === false ? html`` : html` checked`}> Remember me</label>
      <p class="hint">On a shared computer, untick it: you are signed out when the browser closes.</p>
      <button type="submit" class="primary">Sign in</button>
    </form>
    <form data-passkey="get" data-options="/api/signin/passkey/options" data-action="/api/signin/passkey" data-next="${options.next}" class="stack" hidden>
      <p>Or, with a passkey you added on the security page:</p>
      <button type="submit">Sign in with a passkey</button>
      <p class="hint" role="status" data-passkey-status></p>
    </form>
    <p>New here? <a href="/signup">Create an account</a></p>`;
}

/**
 * "Confirm it's you": the password (or a passkey, when the user has one and the browser can) again
 * before a dangerous action, then back to `next`. With `resume` (the kept post's own path, from
 * the server), a kept form post waits: after a passkey the script submits the hidden resume form,
 * which completes it.
 */
export function reauthForm(options: {
  next: string;
  email: string;
  error?: string | null;
  passkey?: boolean;
  resume?: string | null;
}): SafeHtml {
  return html`
    ${errorNotice(options.error ?? null)}
    <p class="lede">Before changing devices, your password, passkeys or your allowed addresses, confirm it's you.</p>
    ${
      options.passkey
        ? html`<form data-passkey="get" data-options="/api/reauth/passkey/options" data-action="/api/reauth" data-next="${options.next}" class="stack" hidden>
      <button type="submit" class="primary">Use a passkey</button>
      <p class="hint" role="status" data-passkey-status></p>
      <p>Or enter your password:</p>
    </form>`
        : null
    }
    ${options.resume ? html`<form method="post" action="${resumeAction(options.resume)}" data-sk-resume hidden></form>` : null}
    <form method="post" action="/account/reauth" class="stack">
      <input type="hidden" name="next" value="${options.next}">
      <input name="username" type="email" autocomplete="username" value="${options.email}" hidden readonly>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
      <button type="submit" class="primary">Confirm</button>
    </form>`;
}

/** Where a kept form post is completed: its own path, asking to resume. */
export function resumeAction(path: string): string {
  return `${path}?sk_resume=1`;
}

/**
 * After re-authenticating with a form post kept: the post completes by itself (the passkey script
 * submits the form on load), or with the button when JavaScript is off.
 */
export function continueForm(path: string): SafeHtml {
  return html`
    <p class="lede">Thanks, that's confirmed. Finishing what you asked for…</p>
    <form method="post" action="${resumeAction(path)}" data-sk-resume data-auto>
      <button type="submit" class="primary">Continue</button>
    </form>`;
}

export function signUpForm(options: { email?: string; error?: string | null }): SafeHtml {
  return html`
    ${errorNotice(options.error ?? null)}
    <form method="post" action="/signup" class="stack">
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${options.email ?? ""}">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="256">
      <p class="hint">At least 8 characters.</p>
      <button type="submit" class="primary">Create account</button>
    </form>
    <p>Already have an account? <a href="/signin">Sign in</a></p>`;
}

export function verifyForm(options: {
  error?: string | null;
  notice?: string | null;
  devMailbox?: boolean;
}): SafeHtml {
  return html`
    ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : null}
    ${errorNotice(options.error ?? null)}
    <p>We sent a sign-in code to your e-mail address, because this device or network is new to your account.
      Enter it here, use the link in the message, or approve this sign-in on a device where you're
      already signed in (Devices page): this page then continues by itself.</p>
    ${options.devMailbox ? html`<p class="hint">No mail server is configured: the message is in the <a href="/dev/mailbox">dev mailbox</a>.</p>` : ""}
    <form method="post" action="/signin/verify" class="stack">
      <label for="code">Code</label>
      <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,9}" required maxlength="16">
      <button type="submit" class="primary">Verify</button>
    </form>
    <form method="get" action="/signin/verify/continue" class="stack">
      <p class="hint">Approved by the link or from another device?</p>
      <button type="submit">Continue</button>
    </form>`;
}

export function securityPage(options: {
  notice?: string | null;
  error?: string | null;
  passkeys: readonly PasskeyView[];
  allowList: ReadonlyArray<{ id: string; cidr: string }>;
  currentIp: string;
  /** The account's address, for password managers (they file the new password under it). */
  email: string;
}): SafeHtml {
  return html`
    ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ""}
    ${errorNotice(options.error ?? null)}
    <section aria-labelledby="pw-heading" class="panel">
      <h2 id="pw-heading">Change password</h2>
      <form method="post" action="/account/security/password" class="stack">
        <input name="username" type="email" autocomplete="username" value="${options.email}" hidden readonly>
        <label for="currentPassword">Current password</label>
        <input id="currentPassword" name="currentPassword" type="password" autocomplete="current-password" required maxlength="256">
        <label for="newPassword">New password</label>
        <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required minlength="8" maxlength="256">
        <p class="hint">Changing your password signs you out everywhere else and renews this device's sign-in.</p>
        <button type="submit" class="primary">Change password and sign out everywhere else</button>
      </form>
    </section>
    <section aria-labelledby="pk-heading" class="panel">
      <h2 id="pk-heading">Passkeys</h2>
      <p>A passkey confirms it's you with this device's fingerprint, face or screen lock, instead of your password.</p>
      ${
        options.passkeys.length === 0
          ? html`<p>No passkeys yet.</p>`
          : html`<ul class="rules">${options.passkeys.map(
              (p, i) => html`<li><span><strong>${p.name}</strong><br>
                <span class="hint">added <time datetime="${p.createdAt}">${p.createdAt.slice(0, 10)}</time>${
                  p.lastUsedAt
                    ? html`, last used <time datetime="${p.lastUsedAt}">${p.lastUsedAt.slice(0, 10)}</time>`
                    : null
                }</span></span>
                <form method="post" action="/account/security/passkeys/${encodeURIComponent(p.id)}/rename" class="inline">
                  <label for="pk-name-${i}" class="visually-hidden">New name for ${p.name}</label>
                  <input id="pk-name-${i}" name="name" required maxlength="64" value="${p.name}">
                  <button type="submit">Rename <span class="visually-hidden">${p.name}</span></button>
                </form>
                <form method="post" action="/account/security/passkeys/${encodeURIComponent(p.id)}/delete">
                  <button type="submit">Remove <span class="visually-hidden">${p.name}</span></button>
                </form></li>`,
            )}</ul>`
      }
      <form data-passkey="create" data-options="/api/passkeys/options" data-action="/api/passkeys" data-next="/account/security?done=passkey-added" data-reauth="/account/reauth?next=%2Faccount%2Fsecurity" class="stack" hidden>
        <label for="passkeyName">Name for a new passkey (e.g. Work laptop)</label>
        <input id="passkeyName" name="name" required maxlength="64" value="">
        <button type="submit">Add a passkey</button>
        <p class="hint" role="status" data-passkey-status></p>
      </form>
      <noscript><p class="hint">Adding a passkey needs JavaScript.</p></noscript>
    </section>
    <section aria-labelledby="ip-heading" class="panel">
      <h2 id="ip-heading">Allowed IP addresses</h2>
      <p>When this list is not empty, sign-ins to your account are refused from any other address.
        Your current address is <code>${options.currentIp}</code>.</p>
      ${
        options.allowList.length === 0
          ? html`<p>No restriction: sign-ins are allowed from any address.</p>`
          : html`<ul class="rules">${options.allowList.map(
              (rule) => html`<li><code>${rule.cidr}</code>
                <form method="post" action="/account/security/ip-rules/${rule.id}/delete">
                  <button type="submit">Remove <span class="visually-hidden">${rule.cidr}</span></button>
                </form></li>`,
            )}</ul>`
      }
      <form method="post" action="/account/security/ip-rules" class="stack">
        <label for="cidr">Address or range (e.g. 203.0.113.7 or 2001:db8::/48)</label>
        <input id="cidr" name="cidr" required maxlength="64" value="">
        <button type="submit">Add</button>
      </form>
    </section>`;
}

export function notFound(signedIn: boolean): SafeHtml {
  return html`
    <p>There is no page at this address. It may have moved, or the link may be mistyped.</p>
    <p><a href="${signedIn ? "/account/sessions" : "/signin"}">${signedIn ? "Go to your devices" : "Go to sign-in"}</a></p>`;
}

/** The heading and words of an error page: what happened, and where to go on. */
export function errorPage(status: number): { heading: string; content: SafeHtml } {
  if (status === 503)
    return {
      heading: "Temporarily unavailable",
      content: html`<p class="lede">Your account can't be reached right now. Nothing was changed; please try again in a moment.</p>
    <p><a href="/">Try again</a></p>`,
    };
  if (status >= 500)
    return {
      heading: "Something went wrong",
      content: html`<p class="lede">That did not work on our side. Nothing more is shown here, to keep your account safe.</p>
    <p><a href="/">Go to the start page</a></p>`,
    };
  return {
    heading: "That request could not be read",
    content: html`<p class="lede">The form was too large or malformed. Go back and try again.</p>
    <p><a href="/">Go to the start page</a></p>`,
  };
}
