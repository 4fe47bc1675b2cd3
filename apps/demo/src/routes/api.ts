import { type Request, type Response, Router } from "express";
import {
  type Guard,
  ipRuleToJSON,
  type Refusal,
  type RequestSession,
  sessionToJSON,
} from "sessionkeeper";
import { requireRecentAuth, requireSession, sessionContext } from "sessionkeeper/express";
import type { PasskeyResult, Passkeys, ReauthRefusal } from "sessionkeeper/passkeys";
import {
  changePassword,
  reauthenticateWithCode,
  reauthenticateWithPasskey,
  reauthenticateWithPassword,
  type SignInOutcome,
  signInWithPassword,
  signUp,
} from "../auth.js";
import type { SignUpAttempts } from "../signup-attempts.js";
import { publicUser, type UserStore } from "../users.js";

export function jsonBody(req: Request): Record<string, unknown> {
  return typeof req.body === "object" && req.body !== null && !Array.isArray(req.body)
    ? req.body
    : {};
}

function sendRefusal(res: Response, refusal: Refusal): void {
  if (refusal.retryAfter !== undefined) res.setHeader("Retry-After", String(refusal.retryAfter));
  res.status(refusal.httpStatus).json({ error: refusal.error });
}

function sendSession(res: Response, ctx: RequestSession): void {
  if (!ctx.session) throw new Error("expected an active session");
  res.status(200).json({ session: sessionToJSON(ctx.session) });
}

function sendOutcome(res: Response, outcome: SignInOutcome, ctx: RequestSession): void {
  if (outcome.kind === "error") {
    if (outcome.retryAfter !== undefined) res.setHeader("Retry-After", String(outcome.retryAfter));
    res.status(outcome.status).json({ error: outcome.error });
  } else if (outcome.kind === "verification_required") {
    res.status(202).json({ status: "verification_required" });
  } else {
    sendSession(res, ctx);
  }
}

/** The reference app's JSON API for accounts (the session list and history come from the library). */
/** A passkey call's refusal: the 401 challenge (with its header) or an error code. */
function sendPasskeyRefusal(res: Response, result: Exclude<PasskeyResult<object>, { ok: true }>) {
  if ("challenge" in result) return sendChallenge(res, result);
  sendRefusal(res, result);
}

function sendChallenge(res: Response, refusal: ReauthRefusal): void {
  res.setHeader("WWW-Authenticate", refusal.challenge.challenge);
  res.status(401).json(refusal.challenge.body);
}

export function authApi(
  users: UserStore,
  guard: Guard,
  signUpAttempts: SignUpAttempts,
  passkeys: Passkeys,
): Router {
  const router = Router();

  router.post("/signup", async (req, res) => {
    const result = await signUp(users, sessionContext(req), jsonBody(req), guard, signUpAttempts);
    if (result.kind === "error") {
      if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
      return void res.status(result.status).json({ error: result.error });
    }
    res.status(201).json({ user: publicUser(result.user) });
  });

  router.post("/signin", async (req, res) => {
    const ctx = sessionContext(req);
    sendOutcome(res, await signInWithPassword(users, ctx, jsonBody(req), guard), ctx);
  });

  // Signing in with a passkey: options for navigator.credentials.get() (a challenge bound to this
  // browser by a five-minute cookie), then the assertion. Never held for a code (a passkey is a
  // stronger proof); a wrong or unknown passkey counts like a wrong password.
  router.post("/signin/passkey/options", async (req, res) => {
    const result = await passkeys.signInOptions(sessionContext(req));
    res.json({ options: result.options });
  });
  router.post("/signin/passkey", async (req, res) => {
    const ctx = sessionContext(req);
    const body = jsonBody(req);
    const rememberMe = body.rememberMe === undefined ? true : body.rememberMe;
    if (typeof rememberMe !== "boolean")
      return void res.status(400).json({ error: "invalid_remember_me" });
    const result = await passkeys.signIn(ctx, body.passkey, {
      emailOf: async (id) => (await users.findById(id))?.email,
      rememberMe,
    });
    if (!result.ok) return sendRefusal(res, result);
    if (result.status !== "active")
      return void res.status(202).json({ status: "verification_required" });
    sendSession(res, ctx);
  });

  // The pending cookie can do this and nothing else: a wrong code is 400, the right one activates
  // the session with a new token.
  router.post("/signin/verify", async (req, res) => {
    const ctx = sessionContext(req);
    const result = await guard.verifyCode(ctx, jsonBody(req).code);
    if (!result.ok) return sendRefusal(res, result);
    if (result.status === "verification_required")
      return void res.status(202).json({ status: "verification_required" });
    sendSession(res, ctx);
  });

  router.post("/signout", async (req, res) => {
    await sessionContext(req).signOut();
    res.status(204).end();
  });

  router.get("/me", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const session = ctx.session as NonNullable<typeof ctx.session>;
    const user = await users.findById(session.userId);
    if (!user) return void res.status(401).json({ error: "unauthenticated" });
    res.json({ user: publicUser(user), session: sessionToJSON(session) });
  });

  // Mails a code for POST /api/reauth {code}, to the account's own address.
  router.post("/reauth/code", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const user = await users.findById(ctx.session?.userId as string);
    if (!user) return void res.status(401).json({ error: "unauthenticated" });
    const verdict = await guard.sendReauthCode(ctx, { email: user.email });
    if (!verdict.ok) return sendRefusal(res, verdict);
    res.status(202).json({ status: "code_sent" });
  });

  // Options for navigator.credentials.get(): a challenge bound to this session, for POST /api/reauth.
  router.post("/reauth/passkey/options", requireSession(), async (req, res) => {
    const result = await passkeys.authenticationOptions(sessionContext(req));
    if (!result.ok) return sendPasskeyRefusal(res, result);
    res.json({ options: result.options });
  });

  // A fresh proof of identity (sudo mode): the password, a mailed code or a passkey assertion,
  // counted like a sign-in on failure.
  router.post("/reauth", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const body = jsonBody(req);
    const result =
      body.passkey !== undefined
        ? await reauthenticateWithPasskey(users, ctx, body.passkey, passkeys)
        : body.code !== undefined && body.password === undefined
          ? await reauthenticateWithCode(users, ctx, body.code, guard)
          : await reauthenticateWithPassword(users, ctx, body, guard);
    if (result.kind === "error") {
      if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
      return void res.status(result.status).json({ error: result.error });
    }
    sendSession(res, ctx);
  });

  // Dangerous actions need a recent proof (REAUTH_WINDOW, sliding): 401 reauthentication_required.
  const recent = requireRecentAuth();

  router.post("/password", recent, async (req, res) => {
    const result = await changePassword(users, sessionContext(req), jsonBody(req), guard);
    if (result.kind === "error") {
      if (result.retryAfter !== undefined) res.setHeader("Retry-After", String(result.retryAfter));
      return void res.status(result.status).json({ error: result.error });
    }
    res.status(204).end();
  });

  // The account's IP allow list. Empty: sign-ins from anywhere; otherwise only from these.
  router.get("/ip-rules", requireSession(), async (req, res) => {
    const userId = sessionContext(req).session?.userId as string;
    res.json({ rules: (await guard.listAccountAllow(userId)).map(ipRuleToJSON) });
  });

  router.post("/ip-rules", recent, async (req, res) => {
    const userId = sessionContext(req).session?.userId as string;
    const body = jsonBody(req);
    const result = await guard.addAccountAllow(userId, body.cidr ?? body.ip, {
      from: sessionContext(req),
      ...(body.note !== undefined ? { note: body.note } : {}),
    });
    if (!result.ok) return void res.status(400).json({ error: result.error });
    res.status(201).json({ rule: ipRuleToJSON(result.rule) });
  });

  const removeRule = async (req: Request, res: Response, id: unknown, cidr: unknown) => {
    const userId = sessionContext(req).session?.userId as string;
    let ruleId = id;
    if (ruleId === undefined && typeof cidr === "string") {
      // Also accept the address or range itself, as the user typed it.
      const rules = (await guard.listAccountAllow(userId)).map(ipRuleToJSON);
      ruleId = rules.find(
        (r) =>
          r.cidr === cidr.trim() ||
          r.cidr === `${cidr.trim()}/32` ||
          r.cidr === `${cidr.trim()}/128`,
      )?.id;
    }
    if (!(await guard.removeAccountAllow(userId, ruleId, { from: sessionContext(req) })))
      return void res.status(404).json({ error: "not_found" });
    res.status(204).end();
  };
  router.delete("/ip-rules/:id", recent, (req, res) =>
    removeRule(req, res, req.params.id, undefined),
  );
  router.delete("/ip-rules", recent, (req, res) => {
    const body = jsonBody(req);
    return removeRule(req, res, body.id ?? req.query.id, body.cidr ?? body.ip ?? req.query.cidr);
  });

  // Passkeys: listing and renaming need a session; adding and removing a recent proof (the
  // library checks it and answers the 401 challenge).
  router.get("/passkeys", requireSession(), async (req, res) => {
    res.json({ passkeys: await passkeys.list(sessionContext(req)) });
  });

  router.post("/passkeys/options", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const user = await users.findById(ctx.session?.userId as string);
    if (!user) return void res.status(401).json({ error: "unauthenticated" });
    const result = await passkeys.registrationOptions(ctx, { userName: user.email });
    if (!result.ok) return sendPasskeyRefusal(res, result);
    res.json({ options: result.options });
  });

  router.post("/passkeys", requireSession(), async (req, res) => {
    const body = jsonBody(req);
    const result = await passkeys.register(sessionContext(req), {
      response: body.response,
      name: body.name,
    });
    if (!result.ok) return sendPasskeyRefusal(res, result);
    res.status(201).json({ passkey: result.passkey });
  });

  router.patch("/passkeys/:id", requireSession(), async (req, res) => {
    const result = await passkeys.rename(sessionContext(req), req.params.id, jsonBody(req).name);
    if (!result.ok) return sendPasskeyRefusal(res, result);
    res.json({ passkey: result.passkey });
  });

  router.delete("/passkeys/:id", requireSession(), async (req, res) => {
    const result = await passkeys.remove(sessionContext(req), req.params.id);
    if (!result.ok) return sendPasskeyRefusal(res, result);
    res.status(204).end();
  });

  return router;
}
