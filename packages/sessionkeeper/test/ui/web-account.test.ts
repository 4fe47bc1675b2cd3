import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import {
  accountApiFetch,
  accountPagesFetch,
  honoSessions,
  withSessions,
} from "../../src/http/web.js";
import type { RequestSession } from "../../src/request-session.js";
import { accountSuite, type TestApp } from "./account-suite.js";

function listen(
  fetch: (request: Request, env: unknown) => Response | Promise<Response>,
): Promise<TestApp> {
  return new Promise((resolve) => {
    const server: ServerType = serve(
      { fetch, hostname: "127.0.0.1", port: 0 },
      (info: AddressInfo) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () =>
            new Promise<void>((done, reject) => {
              if ("closeAllConnections" in server) server.closeAllConnections();
              server.close((error) => (error ? reject(error) : done()));
            }),
        });
      },
    );
  });
}

accountSuite("web: withSessions", (keeper, options) => {
  const pages = accountPagesFetch(keeper, { ...options, basePath: "/account" });
  const api = accountApiFetch(keeper);
  const handler = withSessions(keeper, async (request, session) => {
    const answered = (await pages(request, session)) ?? (await api(request, session));
    if (answered) return answered;
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/test/signin" && session) {
      const { userId, rememberMe, data } = (await request.json()) as {
        userId: string;
        rememberMe?: boolean;
        data?: Record<string, unknown>;
      };
      const signedIn = await session.signIn(userId, { rememberMe, data });
      return Response.json({ id: signedIn.id });
    }
    if (url.pathname === "/account/security") return new Response("app security page");
    return new Response("not found", { status: 404 });
  });
  return listen(handler);
});

accountSuite("web: Hono", (keeper, options) => {
  const pages = accountPagesFetch(keeper, options);
  const api = accountApiFetch(keeper, { basePath: "/api" });
  const app = new Hono<{ Variables: { sessionkeeper: RequestSession } }>();
  app.use(honoSessions(keeper));
  app.post("/test/signin", async (c) => {
    const { userId, rememberMe, data } = await c.req.json<{
      userId: string;
      rememberMe?: boolean;
      data?: Record<string, unknown>;
    }>();
    const signedIn = await c.get("sessionkeeper").signIn(userId, { rememberMe, data });
    return c.json({ id: signedIn.id });
  });
  app.all(
    "/account/*",
    async (c, next) => (await pages(c.req.raw, c.get("sessionkeeper"))) ?? next(),
  );
  app.all("/api/*", async (c, next) => (await api(c.req.raw, c.get("sessionkeeper"))) ?? next());
  app.get("/account/security", (c) => c.text("app security page"));
  return listen(app.fetch);
});
