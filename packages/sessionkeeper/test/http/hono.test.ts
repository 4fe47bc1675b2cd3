import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type HttpBindings, serve } from "@hono/node-server";
import { Hono } from "hono";
import { honoRequireDeviceBinding, honoRequireSession, honoSessions } from "../../src/http/web.js";
import type { RequestSession } from "../../src/request-session.js";
import type { SessionKeeper } from "../../src/session-keeper.js";
import { sessionToJSON } from "../../src/session-view.js";
import {
  dataRefusal,
  type RunningApp,
  runHttpBehaviour,
  suiteSignInOptions,
} from "./behaviour-suite.js";
import { runDbscBehaviour } from "./dbsc-suite.js";

type Env = { Bindings: HttpBindings; Variables: { sessionkeeper: RequestSession } };

/** The suite's tiny app on Hono + @hono/node-server; the socket address comes from env.incoming. */
async function startHono(keeper: SessionKeeper): Promise<RunningApp> {
  const app = new Hono<Env>();
  // An app's own error handler, as most apps have: honoSessions must still answer 503 for storage.
  app.onError((_error, c) => c.json({ error: "internal" }, 500));
  app.use(honoSessions(keeper));
  app.post("/signin", async (c) => {
    const body = await c.req.json<{ userId?: unknown }>().catch(() => null);
    if (typeof body?.userId !== "string") return c.json({ error: "invalid_user" }, 400);
    try {
      const session = await c.get("sessionkeeper").signIn(body.userId, suiteSignInOptions(body));
      return c.json({ session: sessionToJSON(session) });
    } catch (error) {
      const refusal = dataRefusal(error);
      if (!refusal) throw error;
      return c.json(refusal, 400);
    }
  });
  app.get("/data", honoRequireSession(), (c) => c.json({ data: c.get("sessionkeeper").data }));
  app.put("/data", honoRequireSession(), async (c) => {
    const body = await c.req.json<{ data?: Record<string, unknown> | null }>().catch(() => null);
    try {
      return c.json({ stored: await c.get("sessionkeeper").updateData(body?.data ?? null) });
    } catch (error) {
      const refusal = dataRefusal(error);
      if (!refusal) throw error;
      return c.json(refusal, 400);
    }
  });
  app.post("/rotate", async (c) => {
    const session = await c.get("sessionkeeper").rotate();
    return session
      ? c.json({ session: sessionToJSON(session) })
      : c.json({ error: "unauthenticated" }, 401);
  });
  app.post("/activate", async (c) => {
    const session = await c.get("sessionkeeper").activate({ method: "code" });
    return session
      ? c.json({ session: sessionToJSON(session) })
      : c.json({ error: "unauthenticated" }, 401);
  });
  app.get("/bound", honoRequireDeviceBinding(), (c) => c.json({ bound: true }));
  app.get("/me", honoRequireSession(), (c) => {
    const session = c.get("sessionkeeper").session;
    if (!session) return c.json({ error: "unauthenticated" }, 401);
    return c.json({ session: sessionToJSON(session) });
  });
  app.post("/signout", async (c) => {
    await c.get("sessionkeeper").signOut();
    return c.body(null, 204);
  });
  app.post("/revoke", honoRequireSession(), async (c) => {
    const ctx = c.get("sessionkeeper");
    const body = await c.req.json<{ id?: unknown }>().catch(() => null);
    const userId = ctx.session?.userId as string;
    const ended =
      typeof body?.id === "string" &&
      (await keeper.revokeSession(body.id, { userId, info: ctx.info }));
    return ended ? c.body(null, 204) : c.json({ error: "not_found" }, 404);
  });
  app.get("/whoami", (c) => c.json({ userId: c.get("sessionkeeper").userId }));
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/static/app.js", (c) => c.text("console.log('static');"));

  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) =>
      resolve({ server: s as Server, port: info.port }),
    );
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

runHttpBehaviour("hono", startHono);
runDbscBehaviour("hono", startHono);
