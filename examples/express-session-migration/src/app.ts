import Database from "better-sqlite3";
import express from "express";
import session from "express-session";
import { createSessionKeeper, sessionToJSON } from "sessionkeeper";
import {
  accountApi,
  accountPages,
  requireSession,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "sessionkeeper/express";
import { sqliteStorage } from "sessionkeeper/sqlite";
import { migrateExpressSession } from "./bridge.js";
import { checkPassword, findUser } from "./users.js";

/**
 * An app halfway through the move: express-session still reads the old cookies (its store is
 * whatever the old app used: `options.store`), sessionkeeper issues every new session, and the
 * bridge moves each old session over on its next request.
 */
export async function createApp(options: { databasePath: string; store: session.Store }) {
  const keeper = createSessionKeeper({
    storage: sqliteStorage(new Database(options.databasePath)),
  });
  await keeper.migrate();

  const app = express();
  app.use(
    session({
      secret: "the old app's secret (keep it until the move is over)",
      store: options.store,
      resave: false,
      // Only read old sessions: never create a new express-session for anyone.
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: "lax" },
    }),
  );
  app.use(sessionMiddleware(keeper));
  app.use(migrateExpressSession());
  app.use(express.json({ limit: "4kb" }));

  app.post("/login", async (req, res) => {
    const user = checkPassword(req.body?.email, req.body?.password);
    if (!user) return void res.status(401).json({ error: "invalid_credentials" });
    res.json({ session: sessionToJSON(await sessionContext(req).signIn(user.id)) });
  });
  app.get("/me", requireSession(), (req, res) => {
    const current = sessionContext(req).session;
    if (!current) return;
    res.json({ user: findUser(current.userId), session: sessionToJSON(current) });
  });
  app.use("/account", accountPages(keeper, { signInPath: "/" }));
  app.use("/api", accountApi(keeper));
  app.use(storageErrorHandler());
  return { app, keeper };
}
