import Database from "better-sqlite3";
import express from "express";
import passport from "passport";
import { Strategy as LocalStrategy } from "passport-local";
import { createSessionKeeper, type SessionKeeper, sessionToJSON } from "sessionkeeper";
import {
  accountApi,
  accountPages,
  requireSession,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "sessionkeeper/express";
import { sqliteStorage } from "sessionkeeper/sqlite";
import { checkPassword, findUser, type User } from "./users.js";

declare global {
  namespace Express {
    // What Passport puts on req.user: here, set from the sessionkeeper session on every request.
    interface User {
      id: string;
      email: string;
    }
  }
}

/**
 * Passport checks the credentials (passport-local); sessionkeeper holds the session. Passport's
 * own session support is off (`session: false`, no `passport.session()`, no serializeUser):
 * after Passport says who it is, `signIn` starts a brand-new sessionkeeper session.
 */
export async function createApp(options: { databasePath: string }) {
  const keeper: SessionKeeper = createSessionKeeper({
    storage: sqliteStorage(new Database(options.databasePath)),
    excludePaths: ["/healthz"],
  });
  await keeper.migrate();

  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy({ usernameField: "email" }, (email, password, done) =>
      done(null, checkPassword(email, password) ?? false),
    ),
  );

  const app = express();
  app.use(sessionMiddleware(keeper));
  app.use(express.json({ limit: "4kb" }));
  app.use(authenticator.initialize());
  // req.user (and req.isAuthenticated()) follow the sessionkeeper session, so Passport-based
  // routes keep working; a revoked session has no user from its next request on.
  app.use((req, _res, next) => {
    const userId = req.sessionkeeper?.userId;
    const user = userId ? findUser(userId) : null;
    if (user) req.user = user;
    next();
  });

  app.post("/login", (req, res, next) => {
    // Passport's custom-callback form: it reports who the credentials belong to, and the session
    // is then sessionkeeper's. `session: false` keeps Passport from calling req.login().
    const authenticate = authenticator.authenticate(
      "local",
      { session: false },
      (error: unknown, user: User | false | undefined) => {
        if (error) return next(error);
        if (!user) return res.status(401).json({ error: "invalid_credentials" });
        req.user = user;
        sessionContext(req)
          .signIn(user.id)
          .then((session) => res.json({ session: sessionToJSON(session) }), next);
      },
    );
    authenticate(req, res, next);
  });
  app.get("/me", requireSession(), (req, res) => {
    const session = sessionContext(req).session;
    res.json({ user: req.user, session: session && sessionToJSON(session) });
  });
  app.post("/logout", async (req, res) => {
    await sessionContext(req).signOut();
    res.status(204).end();
  });
  app.use("/account", accountPages(keeper, { title: "Passport example", signInPath: "/" }));
  app.use("/api", accountApi(keeper));
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.use(storageErrorHandler());
  return { app, keeper };
}
