import type { AddressInfo } from "node:net";
import Koa from "koa";
import {
  koaAccountApi,
  koaAccountPages,
  koaSessionContext,
  koaSessions,
} from "../../src/http/koa.js";
import { accountSuite } from "./account-suite.js";

/** The test's sign-in body, bounded: the user, and the remember-me choice and data if given. */
async function readSignIn(stream: AsyncIterable<unknown>): Promise<{
  userId: string;
  rememberMe?: boolean;
  data?: Record<string, unknown>;
}> {
  let text = "";
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > 65_536) break;
  }
  const body = JSON.parse(text) as {
    userId?: unknown;
    rememberMe?: boolean;
    data?: Record<string, unknown>;
  };
  return { userId: String(body.userId), rememberMe: body.rememberMe, data: body.data };
}

accountSuite("koa", async (keeper, pages) => {
  const app = new Koa();
  app.use(koaSessions(keeper));
  app.use(koaAccountPages(keeper, { ...pages, basePath: "/account" }));
  app.use(koaAccountApi(keeper, { basePath: "/api" }));
  app.use(async (ctx, next) => {
    if (ctx.method === "POST" && ctx.path === "/test/signin") {
      const { userId, rememberMe, data } = await readSignIn(ctx.req);
      const session = await koaSessionContext(ctx).signIn(userId, { rememberMe, data });
      ctx.body = { id: session.id };
    } else if (ctx.method === "GET" && ctx.path === "/account/security") {
      ctx.type = "text/plain";
      ctx.body = "app security page";
    } else await next();
  });
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
