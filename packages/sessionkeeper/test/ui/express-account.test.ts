import type { AddressInfo } from "node:net";
import express from "express";
import {
  accountApi,
  accountPages,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "../../src/http/express.js";
import { accountSuite } from "./account-suite.js";

accountSuite("express", async (keeper, pages) => {
  const app = express();
  app.use(sessionMiddleware(keeper));
  // The app's own JSON parser is installed: the pages must not depend on (or trip over) it.
  app.use(express.json());
  app.post("/test/signin", async (req, res, next) => {
    try {
      const { userId, rememberMe, data } = req.body as {
        userId: string;
        rememberMe?: boolean;
        data?: Record<string, unknown>;
      };
      const session = await sessionContext(req).signIn(String(userId), { rememberMe, data });
      res.json({ id: session.id });
    } catch (error) {
      next(error);
    }
  });
  app.use("/account", accountPages(keeper, pages));
  app.use("/api", accountApi(keeper));
  app.get("/account/security", (_req, res) => {
    res.type("text/plain").send("app security page");
  });
  app.use(storageErrorHandler());
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
});
