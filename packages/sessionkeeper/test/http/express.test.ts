import type { AddressInfo } from "node:net";
import express from "express";
import {
  getSession,
  requireDeviceBinding,
  requireSession,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "../../src/http/express.js";
import type { SessionKeeper } from "../../src/session-keeper.js";
import { sessionToJSON } from "../../src/session-view.js";
import {
  dataRefusal,
  type RunningApp,
  runHttpBehaviour,
  suiteSignInOptions,
} from "./behaviour-suite.js";
import { runDbscBehaviour } from "./dbsc-suite.js";

/** The suite's tiny app on Express 5 with sessionMiddleware. */
async function startExpress(keeper: SessionKeeper): Promise<RunningApp> {
  const app = express();
  app.use(express.json({ limit: "4kb" }));
  app.use(sessionMiddleware(keeper));
  app.post("/signin", async (req, res) => {
    const userId = (req.body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId !== "string") {
      res.status(400).json({ error: "invalid_user" });
      return;
    }
    try {
      const session = await sessionContext(req).signIn(userId, suiteSignInOptions(req.body));
      res.json({ session: sessionToJSON(session) });
    } catch (error) {
      const refusal = dataRefusal(error);
      if (!refusal) throw error;
      res.status(400).json(refusal);
    }
  });
  app.get("/data", requireSession(), (req, res) => {
    res.json({ data: sessionContext(req).data });
  });
  app.put("/data", requireSession(), async (req, res) => {
    const data = (req.body as { data?: Record<string, unknown> | null } | undefined)?.data ?? null;
    try {
      res.json({ stored: await sessionContext(req).updateData(data) });
    } catch (error) {
      const refusal = dataRefusal(error);
      if (!refusal) throw error;
      res.status(400).json(refusal);
    }
  });
  app.post("/rotate", async (req, res) => {
    const session = await sessionContext(req).rotate();
    if (session) res.json({ session: sessionToJSON(session) });
    else res.status(401).json({ error: "unauthenticated" });
  });
  app.post("/activate", async (req, res) => {
    const session = await sessionContext(req).activate({ method: "code" });
    if (session) res.json({ session: sessionToJSON(session) });
    else res.status(401).json({ error: "unauthenticated" });
  });
  app.get("/me", requireSession(), (req, res) => {
    res.json({
      session: sessionToJSON(getSession(req) as NonNullable<ReturnType<typeof getSession>>),
    });
  });
  app.get("/bound", requireDeviceBinding(), (_req, res) => {
    res.json({ bound: true });
  });
  app.post("/signout", async (req, res) => {
    await sessionContext(req).signOut();
    res.status(204).end();
  });
  app.post("/revoke", requireSession(), async (req, res) => {
    const ctx = sessionContext(req);
    const id = (req.body as { id?: unknown } | undefined)?.id;
    const userId = ctx.session?.userId as string;
    const ended =
      typeof id === "string" && (await keeper.revokeSession(id, { userId, info: ctx.info }));
    if (ended) res.status(204).end();
    else res.status(404).json({ error: "not_found" });
  });
  app.get("/whoami", (req, res) => {
    res.json({ userId: sessionContext(req).userId });
  });
  app.get("/healthz", (_req, res) => {
    res.type("text").send("ok");
  });
  app.get("/static/app.js", (_req, res) => {
    res.type("js").send("console.log('static');");
  });
  app.use(storageErrorHandler());

  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

runHttpBehaviour("express", startExpress);
runDbscBehaviour("express", startExpress);
