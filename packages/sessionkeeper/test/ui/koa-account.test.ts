import type { AddressInfo } from "node:net";
import Koa from "koa";
import {
  koaAccountApi,
  koaAccountPages,
  koaSessionContext,
  koaSessions,
} from "../../src/http/koa.js";
import { accountSuite } from "./account-suite.js";

/** The test's sign-in body, bounded. */
async function readUserId(stream: AsyncIterable<unknown>): Promise<string> {
  let text = "";
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > 4096) break;
  }
  const userId = (JSON.parse(text) as { userId?: unknown }).userId;
  return String(userId);
}

accountSuite("koa", async (keeper, pages) => {
  const app = new Koa();
  app.use(koaSessions(keeper));
  app.use(koaAccountPages(keeper, { ...pages, basePath: "/account" }));
  app.use(koaAccountApi(keeper, { basePath: "/api" }));
  app.use(async (ctx, next) => {
    if (ctx.method === "POST" && ctx.path === "/test/signin") {
      const session = await koaSessionContext(ctx).signIn(await readUserId(ctx.req));
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
