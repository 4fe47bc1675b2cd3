import { type Request, type Response, Router } from "express";
import {
  type AppPage,
  appPageRenderer,
  endedWords,
  type Guard,
  html,
  recentAuthRule,
  type SafeHtml,
} from "sessionkeeper";
import { sessionContext } from "sessionkeeper/express";
import { changePassword, reauthenticateWithPassword, signInWithPassword, signUp } from "../auth.js";
import { safeNextPath } from "../next-path.js";
import type { SignUpAttempts } from "../signup-attempts.js";
import type { UserStore } from "../users.js";
import { reauthForm, securityPage, signInForm, signUpForm, verifyForm } from "../views.js";

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
  });
  return ({ tab, ...page }) =>
    page.signedIn || page.live
      ? signedIn(tab ? { ...page, tab: { basePath: "/account", current: tab } } : page)
      : signedOut({ heading: page.heading, content: page.content, status: page.status ?? 200 });
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
  options: { devMailbox: boolean; signUpAttempts: SignUpAttempts },
): Router {
  const { devMailbox, signUpAttempts } = options;
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
    send(res, render({ heading: "Sign in", content: signInForm({ next, notice }) }));
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

  router.get("/signin/verify", (req, res) => {
    const ctx = sessionContext(req);
    if (ctx.session) return res.redirect(303, "/account/sessions");
    if (!ctx.pendingSession) return res.redirect(303, "/signin");
    send(res, render({ heading: "Confirm it's you", content: verifyForm({ devMailbox }) }));
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
    const status = result.ok ? 200 : result.httpStatus;
    send(
      res,
      render({ heading: "Confirm it's you", status, content: verifyForm({ error, devMailbox }) }),
    );
  });

  const NOTICES: Record<string, string> = {
    password: "Password changed. Every other session was signed out.",
    "rule-added": "Address added to the allow list.",
    "rule-removed": "Address removed from the allow list.",
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
    return securityPage({ ...extra, allowList, currentIp: ctx.ip, email: email ?? "" });
  };
  const toSignIn = "/signin?next=%2Faccount%2Fsecurity";
  const recent = recentAuthRule();

  /**
   * Outside the re-authentication window a security form answers 401 with a link to confirm it's
   * you, and changes nothing (the form is not kept: it is filled in again after confirming).
   */
  const refusedForProof = async (req: Request, res: Response): Promise<boolean> => {
    const challenge = await sessionContext(req).checkRecentAuth(recent);
    if (!challenge) return false;
    res.setHeader("WWW-Authenticate", challenge.challenge);
    const content = html`<p class="lede">To change your security settings, first confirm it's you.</p>
      <p><a class="button primary" href="/account/reauth?next=%2Faccount%2Fsecurity">Confirm it's you</a></p>`;
    send(res, render({ heading: "Confirm it's you", status: 401, content, signedIn: true }));
    return true;
  };

  router.get("/account/reauth", async (req, res) => {
    const ctx = sessionContext(req);
    const next = safeNextPath(req.query.next, "/account/security");
    if (!ctx.session) return res.redirect(303, `/signin?next=${encodeURIComponent(next)}`);
    const user = await users.findById(ctx.session.userId);
    const content = reauthForm({ next, email: user?.email ?? "" });
    send(res, render({ heading: "Confirm it's you", content, signedIn: true }));
  });

  router.post("/account/reauth", async (req, res) => {
    const ctx = sessionContext(req);
    const next = safeNextPath(field(req, "next"), "/account/security");
    if (!ctx.session) return res.redirect(303, `/signin?next=${encodeURIComponent(next)}`);
    const user = await users.findById(ctx.session.userId);
    const result = await reauthenticateWithPassword(
      users,
      ctx,
      { password: field(req, "password") },
      guard,
    );
    if (result.kind === "reauthenticated") return res.redirect(303, next);
    // Too many wrong guesses ended this session.
    if (!ctx.session) return res.redirect(303, "/signin");
    if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
    const error =
      result.error === "invalid_credentials"
        ? "That password was not right."
        : (MESSAGES[result.error] ?? "That did not work.");
    const content = reauthForm({ next, email: user?.email ?? "", error });
    send(
      res,
      render({ heading: "Confirm it's you", status: result.status, content, signedIn: true }),
    );
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
      }),
    );
  });

  router.post("/account/security/password", async (req, res) => {
    const ctx = sessionContext(req);
    if (!ctx.session) return res.redirect(303, toSignIn);
    if (await refusedForProof(req, res)) return;
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
      }),
    );
  });

  router.post("/account/security/ip-rules", async (req, res) => {
    const ctx = sessionContext(req);
    if (!ctx.session) return res.redirect(303, toSignIn);
    if (await refusedForProof(req, res)) return;
    const result = await guard.addAccountAllow(ctx.session.userId, field(req, "cidr"));
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
      }),
    );
  });

  router.post("/account/security/ip-rules/:id/delete", async (req, res) => {
    const ctx = sessionContext(req);
    if (!ctx.session) return res.redirect(303, toSignIn);
    if (await refusedForProof(req, res)) return;
    await guard.removeAccountAllow(ctx.session.userId, req.params.id);
    res.redirect(303, "/account/security?done=rule-removed");
  });

  return router;
}
