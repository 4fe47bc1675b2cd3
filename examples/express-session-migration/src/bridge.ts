import type { RequestHandler } from "express";

declare module "express-session" {
  interface SessionData {
    /** What the old app stored at sign-in. Use your own field name. */
    userId?: string;
  }
}

/**
 * Moves a user signed in with express-session to a sessionkeeper session on their next request,
 * without signing them out: mount after both `session(...)` and `sessionMiddleware(keeper)`.
 * express-session has already checked the old cookie's signature and found its record; the old
 * record is destroyed once the new session exists, so the old cookie cannot be used twice.
 */
export function migrateExpressSession(): RequestHandler {
  return (req, res, next) => {
    const context = req.sessionkeeper;
    const oldUserId = req.session?.userId;
    // Only a browser without a sessionkeeper session, holding an old signed-in session.
    if (!context || context.record || typeof oldUserId !== "string") return next();
    context
      .signIn(oldUserId)
      .then(
        () =>
          new Promise<void>((resolve, reject) =>
            req.session.destroy((error) => (error ? reject(error) : resolve())),
          ),
      )
      .then(() => {
        // Tell the browser to drop the old cookie too (same name, path and attributes).
        res.clearCookie("connect.sid", { path: "/", httpOnly: true, sameSite: "lax" });
        next();
      }, next);
  };
}
