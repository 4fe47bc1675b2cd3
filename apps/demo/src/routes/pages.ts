import type { NextFunction } from "express";
import { type Request, type Response, Router } from "express";
import {
  type AppPage,
  appPageRenderer,
  endedWords,
  type Guard,
  type SafeHtml,
} from "sessionkeeper";
import { requireRecentAuth, sessionContext } from "sessionkeeper/express";
import type { Passkeys } from "sessionkeeper/passkeys";
import { changePassword, reauthenticateWithPassword, signInWithPassword, signUp } from "../auth.js";
import { safeNextPath } from "../next-path.js";
import type { SignUpAttempts } from "../signup-attempts.js";
import type { UserStore } from "../users.js";
import {
  continueForm,
  reauthForm,
  securityPage,
  signInForm,
  signUpForm,
  verifyForm,
} from "../views.js";

/** What the app says for each error code on its HTML forms. */
const MESSAGES: Record<string, string> = {
  invalid_credentials: "That e-mail and password do not match an account.",
  invalid_email: "Enter a valid e-mail address.",
  invalid_password: "Passwords must be 8 to 256 characters long.",
  email_taken: "An account with that e-mail address already exists.",
  invalid_current_password: "Your current password was not right.",
  ip_denied: "Sign-ins from your network are blocked.",
  ip_not_allowed: "This account does not allow sign-ins from your network.",
  locked_out: "Too many failed attempts. Try again later.",
  too_many_attempts: "Too many attempts from your network. Try again later.",
  invalid_code: "That code is not valid. Check the e-mail and try again.",
};

export type RenderPage = (page: {
  heading: string;
  content: SafeHtml;
  status?: number;
  /** A page of a signed-in session: the account links and "Sign out" in the header. */
  signedIn?: boolean;
  /** Also leave for the sign-in page as soon as the session ends (signed-in pages only). */
  live?: boolean;
  /** The signed-in account's address, shown in the header. */
  account?: string | null;
  /** The page has passkey forms (or a kept post to resume): adds the passkey script. */
  passkeys?: boolean;
  /** The verify page of a held sign-in: goes on by itself once it is approved anywhere. */
  waiting?: boolean;
  /** An account page of the app's own (the security page): the account tabs, this one current. */
  tab?: string;
}) => AppPage;

/** The app's pages: a signed-out visitor's header offers sign-in, never "Sign out". */
export function pageRenderer(title: string): RenderPage {
  const signedIn = appPageRenderer({
    title,
    nav: [
      { href: "/account/sessions", label: "Devices" },
      { href: "/account/security", label: "Security" },
      { href: "/signout", label: "Sign out", method: "post" },
    ],
    liveEventsPath: "/api/events",
    tabs: [{ href: "/account/security", label: "Security" }],
  });
  const signedOut = appPageRenderer({
    title,
    nav: [
      { href: "/signin", label: "Sign in" },
      { href: "/signup", label: "Create an account" },
    ],
    // Only the verify page streams (the held sign-in's approval); other signed-out pages have no script.
    liveEventsPath: "/api/events",
    signInPath: "/signin",
  });
  return ({ tab, ...page }) =>
    page.signedIn || page.live
      ? signedIn({
          heading: page.heading,
          content: page.content,
          status: page.status ?? 200,
          live: page.live === true,
          account: page.account ?? null,
          passkeys: page.passkeys === true,
          ...(tab ? { tab: { basePath: "/account", current: tab } } : {}),
        })
      : signedOut({
          heading: page.heading,
          content: page.content,
          status: page.status ?? 200,
          passkeys: page.passkeys === true,
          ...(page.waiting ? { waiting: { continuePath: "/signin/verify/continue" } } : {}),
        });
}

export function send(res: Response, page: AppPage): void {
  res.status(page.status).set(page.headers).send(page.body);
}

/** A wait in seconds as the sign-in page says it: "1 minute", "14 minutes", "2 hours". */
function inWords(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  if (minutes < 120) return minutes === 1 ? "1 minute" : `${minutes} minutes`;
  return `${Math.ceil(minutes / 60)} hours`;
}

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" ? value : "";
}

/** The reference app's HTML pages: sign-in, sign-up, sign-out and the security settings. */
export function pageRoutes(
  users: UserStore,
  guard: Guard,
  render: RenderPage,
  options: { devMailbox: boolean; signUpAttempts: SignUpAttempts; passkeys: Passkeys },
): Router {
  const { devMailbox, signUpAttempts, passkeys } = options;
  const router = Router();

  router.get("/", (req, res) => {
    res.redirect(303, sessionContext(req).session ? "/account/sessions" : "/signin");
  });

  router.get("/signin", (req, res) => {
    const next = safeNextPath(req.query.next);
    if (sessionContext(req).session) return res.redirect(303, next);
    // A page whose session ended elsewhere comes here with ?ended=<reason>: fixed words per code,
    // since anyone can craft this URL.
    const ended = req.query.ended;
    const notice =
      typeof ended === "string" && /^[a-z_]{1,40}$/.test(ended) ? endedWords(ended) : null;
    send(
      res,
      render({ heading: "Sign in", content: signInForm({ next, notice }), passkeys: true }),
    );
  });

  router.post("/signin", async (req, res) => {
    const ctx = sessionContext(req);
    const next = safeNextPath(field(req, "next"));
    const outcome = await signInWithPassword(
      users,
      ctx,
      {
        email: field(req, "email"),
        password: field(req, "password"),
        // An unticked checkbox sends nothing: absent here means "don't remember me".
        rememberMe: field(req, "rememberMe") === "on",
      },
      guard,
    );
    if (outcome.kind === "signed_in") return res.redirect(303, next);
    if (outcome.kind === "verification_required") return res.redirect(303, "/signin/verify");
    if (outcome.retryAfter !== undefined) res.setHeader("Retry-After", String(outcome.retryAfter));
    const error =
      outcome.error === "locked_out" && outcome.retryAfter !== undefined
        ? `Too many failed attempts. Try again in ${inWords(outcome.retryAfter)}.`
        : (MESSAGES[outcome.error] ?? "Sign-in failed.");
    send(
      res,
      render({
        heading: "Sign in",
        status: outcome.status,
        passkeys: true,
        content: signInForm({
          next,
          email: field(req, "email"),
          rememberMe: field(req, "rememberMe") === "on",
          error,
        }),
      }),
    );
  });

  router.get("/signup", (_req, res) => {
    send(res, render({ heading: "Create an account", content: signUpForm({}) }));
  });

  router.post("/signup", async (req, res) => {
    const result = await signUp(
      users,
      sessionContext(req),
      { email: field(req, "email"), password: field(req, "password") },
      guard,
      signUpAttempts,
    );
    if (result.kind === "signed_up") return res.redirect(303, "/account/sessions");
    if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
    const error = MESSAGES[result.error] ?? "Sign-up failed.";
    send(
      res,
      render({
        heading: "Create an account",
        status: result.status,
        content: signUpForm({ email: field(req, "email"), error }),
      }),
    );
  });

  router.post("/signout", async (req, res) => {
    await sessionContext(req).signOut();
    res.redirect(303, "/signin");
  });

  const verifyPage = (
    res: Response,
    options: { status?: number; error?: string | null; notice?: string | null } = {},
  ) =>
    send(
      res,
      render({
        heading: "Confirm it's you",
        status: options.status ?? 200,
        waiting: true,
        content: verifyForm({
          error: options.error ?? null,
          notice: options.notice ?? null,
          devMailbox,
        }),
      }),
    );

  router.get("/signin/verify", (req, res) => {
    const ctx = sessionContext(req);
    if (ctx.session) return res.redirect(303, "/account/sessions");
    if (!ctx.pendingSession) return res.redirect(303, "/signin");
    verifyPage(res);
  });

  // Where the verify page goes once the sign-in is approved (by itself, or its Continue button):
  // the approval is picked up here, with a new token, or the page says it is still waiting.
  router.get("/signin/verify/continue", async (req, res) => {
    const ctx = sessionContext(req);
    if (ctx.pendingSession) await guard.finishApprovedSignIn(ctx);
    if (ctx.session) return res.redirect(303, "/account/sessions");
    if (!ctx.pendingSession) return res.redirect(303, "/signin");
    verifyPage(res, {
      notice: "Not approved yet. Approve it from the e-mail or a device where you're signed in.",
    });
  });

  router.post("/signin/verify", async (req, res) => {
    const ctx = sessionContext(req);
    if (ctx.session) return res.redirect(303, "/account/sessions");
    if (!ctx.pendingSession) return res.redirect(303, "/signin");
    const result = await guard.verifyCode(ctx, field(req, "code"));
    if (result.ok && result.status === "active") return res.redirect(303, "/account/sessions");
    if (!result.ok && (result.error === "locked_out" || result.error === "unauthenticated")) {
      return res.redirect(303, "/signin");
    }
    const error = result.ok ? null : (MESSAGES[result.error] ?? "That code did not work.");
    verifyPage(res, { status: result.ok ? 200 : result.httpStatus, error });
  });

  const NOTICES: Record<string, string> = {
    password: "Password changed. Every other session was signed out.",
    "rule-added": "Address added to the allow list.",
    "rule-removed": "Address removed from the allow list.",
    "passkey-added": "Passkey added. You can use it to confirm it's you.",
    "passkey-renamed": "Passkey renamed.",
    "passkey-removed": "Passkey removed.",
  };
  const accountOf = async (req: Request) => {
    const userId = sessionContext(req).session?.userId;
    return userId ? ((await users.findById(userId))?.email ?? null) : null;
  };
  const security = async (
    req: Request,
    extra: { notice?: string | null; error?: string | null },
  ) => {
    const ctx = sessionContext(req);
    const allowList = (await guard.listAccountAllow(ctx.session?.userId as string)).map((r) => ({
      id: r.id,
      cidr: r.cidr,
    }));
    const email = await accountOf(req);
    return securityPage({
      ...extra,
      passkeys: await passkeys.list(ctx),
      allowList,
      currentIp: ctx.ip,
      email: email ?? "",
    });
  };
  const toSignIn = "/signin?next=%2Faccount%2Fsecurity";
  const signedIn = (req: Request, res: Response, next: NextFunction) => {
    if (sessionContext(req).session) return next();
    res.redirect(303, toSignIn);
  };
  /**
   * Outside the re-authentication window a security form is kept (this session, one use, five
   * minutes) and the browser goes to confirm it's you; after that the form completes by itself.
   */
  const recent = requireRecentAuth({ reauthPage: "/account/reauth" });

  /** The re-auth page, offering a passkey when the user has one, and resuming a kept post. */
  const reauthPage = async (req: Request, next: string, error: string | null, status = 200) => {
    const ctx = sessionContext(req);
    const user = await users.findById(ctx.session?.userId as string);
    const content = reauthForm({
      next,
      email: user?.email ?? "",
      error,
      passkey: await passkeys.has(ctx),
      resume: await ctx.keptPostPath(),
    });
    return render({ heading: "Confirm it's you", status, content, signedIn: true, passkeys: true });
  };

  router.get("/account/reauth", async (req, res) => {
    const ctx = sessionContext(req);
    const next = safeNextPath(req.query.next, "/account/security");
    if (!ctx.session) return res.redirect(303, `/signin?next=${encodeURIComponent(next)}`);
    send(res, await reauthPage(req, next, null));
  });

  router.post("/account/reauth", async (req, res) => {
    const ctx = sessionContext(req);
    const next = safeNextPath(field(req, "next"), "/account/security");
    if (!ctx.session) return res.redirect(303, `/signin?next=${encodeURIComponent(next)}`);
    const result = await reauthenticateWithPassword(
      users,
      ctx,
      { password: field(req, "password") },
      guard,
    );
    if (result.kind === "reauthenticated") {
      // A kept form post completes now (once), at the path it was kept for: never at `next`,
      // which the link to this page chose. Otherwise back where the user was going.
      const kept = await ctx.keptPostPath();
      if (kept) {
        const content = continueForm(kept);
        return send(
          res,
          render({ heading: "Confirm it's you", content, signedIn: true, passkeys: true }),
        );
      }
      return res.redirect(303, next.startsWith("/account/security/") ? "/account/security" : next);
    }
    // Too many wrong guesses ended this session.
    if (!ctx.session) return res.redirect(303, "/signin");
    if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
    const error =
      result.error === "invalid_credentials"
        ? "That password was not right."
        : (MESSAGES[result.error] ?? "That did not work.");
    send(res, await reauthPage(req, next, error, result.status));
  });

  router.get("/account/security", async (req, res) => {
    if (!sessionContext(req).session) return res.redirect(303, toSignIn);
    const notice = typeof req.query.done === "string" ? (NOTICES[req.query.done] ?? null) : null;
    send(
      res,
      render({
        heading: "Security",
        content: await security(req, { notice }),
        live: true,
        tab: "/account/security",
        account: await accountOf(req),
        passkeys: true,
      }),
    );
  });

  router.post("/account/security/password", signedIn, recent, async (req, res) => {
    const ctx = sessionContext(req);
    if (!ctx.session) return res.redirect(303, toSignIn);
    const result = await changePassword(
      users,
      ctx,
      { currentPassword: field(req, "currentPassword"), newPassword: field(req, "newPassword") },
      guard,
    );
    if (result.kind === "changed") return res.redirect(303, "/account/security?done=password");
    // Too many wrong guesses ended this session.
    if (!ctx.session) return res.redirect(303, "/signin");
    if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
    const error = MESSAGES[result.error] ?? "The password was not changed.";
    send(
      res,
      render({
        heading: "Security",
        status: result.status,
        content: await security(req, { error }),
        signedIn: true,
        tab: "/account/security",
        account: await accountOf(req),
        passkeys: true,
      }),
    );
  });

  router.post("/account/security/ip-rules", signedIn, recent, async (req, res) => {
    const ctx = sessionContext(req);
    if (!ctx.session) return res.redirect(303, toSignIn);
    const result = await guard.addAccountAllow(ctx.session.userId, field(req, "cidr"), {
      from: ctx,
    });
    if (result.ok) return res.redirect(303, "/account/security?done=rule-added");
    const error =
      result.error === "too_many_rules"
        ? "The allow list is full."
        : "Enter an IP address or a CIDR range.";
    send(
      res,
      render({
        heading: "Security",
        status: 400,
        content: await security(req, { error }),
        signedIn: true,
        tab: "/account/security",
        account: await accountOf(req),
        passkeys: true,
      }),
    );
  });

  router.post("/account/security/ip-rules/:id/delete", signedIn, recent, async (req, res) => {
    const ctx = sessionContext(req);
    if (!ctx.session) return res.redirect(303, toSignIn);
    await guard.removeAccountAllow(ctx.session.userId, req.params.id, { from: ctx });
    res.redirect(303, "/account/security?done=rule-removed");
  });

  router.post("/account/security/passkeys/:id/rename", signedIn, async (req, res) => {
    const result = await passkeys.rename(sessionContext(req), req.params.id, field(req, "name"));
    if (result.ok) return res.redirect(303, "/account/security?done=passkey-renamed");
    const error =
      result.error === "invalid_name"
        ? "Enter a name of up to 64 characters."
        : "There is no such passkey.";
    send(
      res,
      render({
        heading: "Security",
        status: result.httpStatus,
        content: await security(req, { error }),
        signedIn: true,
        account: await accountOf(req),
        passkeys: true,
      }),
    );
  });

  // Removing a passkey needs a recent proof: kept and completed after it, like the forms above.
  router.post("/account/security/passkeys/:id/delete", signedIn, recent, async (req, res) => {
    await passkeys.remove(sessionContext(req), req.params.id);
    res.redirect(303, "/account/security?done=passkey-removed");
  });

  return router;
}
