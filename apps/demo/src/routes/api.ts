import { type Request, type Response, Router } from "express";
import { sessionToJSON } from "sessionkeeper";
import { requireSession, sessionContext } from "sessionkeeper/express";
import {
  changePassword,
  type SignInGuard,
  type SignInOutcome,
  signInWithPassword,
  signUp,
} from "../auth.js";
import { publicUser, type UserStore } from "../users.js";

function body(req: Request): Record<string, unknown> {
  return typeof req.body === "object" && req.body !== null && !Array.isArray(req.body)
    ? req.body
    : {};
}

export function sendOutcome(
  res: Response,
  outcome: SignInOutcome,
  ctx: ReturnType<typeof sessionContext>,
): void {
  if (outcome.kind === "error") {
    if (outcome.retryAfter !== undefined) res.setHeader("Retry-After", String(outcome.retryAfter));
    res.status(outcome.status).json({ error: outcome.error });
  } else if (outcome.kind === "verification_required") {
    res.status(202).json({ status: "verification_required" });
  } else {
    res.status(200).json({ session: sessionToJSON(ctx.session ?? unreachable()) });
  }
}

function unreachable(): never {
  throw new Error("signed in without a session");
}

/** The reference app's JSON API for accounts (the session list and history come from the library). */
export function authApi(users: UserStore, guard: SignInGuard | null): Router {
  const router = Router();

  router.post("/signup", async (req, res) => {
    const ctx = sessionContext(req);
    const result = await signUp(users, ctx, body(req));
    if (result.kind === "error")
      return void res.status(result.status).json({ error: result.error });
    res.status(201).json({ user: publicUser(result.user) });
  });

  router.post("/signin", async (req, res) => {
    const ctx = sessionContext(req);
    sendOutcome(res, await signInWithPassword(users, ctx, body(req), guard), ctx);
  });

  router.post("/signout", async (req, res) => {
    await sessionContext(req).signOut();
    res.status(204).end();
  });

  router.get("/me", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const session = ctx.session ?? unreachable();
    const user = await users.findById(session.userId);
    if (!user) return void res.status(401).json({ error: "unauthenticated" });
    res.json({ user: publicUser(user), session: sessionToJSON(session) });
  });

  router.post("/password", requireSession(), async (req, res) => {
    const result = await changePassword(users, sessionContext(req), body(req));
    if (result.kind === "error")
      return void res.status(result.status).json({ error: result.error });
    res.status(204).end();
  });

  return router;
}
