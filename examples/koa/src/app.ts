import Database from "better-sqlite3";
import Koa from "koa";
import { createSessionKeeper, sessionToJSON } from "sessionkeeper";
import {
  koaAccountApi,
  koaAccountPages,
  koaRequireSession,
  koaSessionContext,
  koaSessions,
} from "sessionkeeper/koa";
import { sqliteStorage } from "sessionkeeper/sqlite";
import { checkPassword, findUser } from "./users.js";

/** Koa 3 with sessionkeeper/koa: sign-in, a protected route, the devices page and the JSON API. */
export async function createApp(options: { databasePath: string }) {
  const keeper = createSessionKeeper({
    storage: sqliteStorage(new Database(options.databasePath)),
    excludePaths: ["/healthz"],
  });
  await keeper.migrate();

  const app = new Koa();
  app.use(koaSessions(keeper));
  app.use(koaAccountPages(keeper, { basePath: "/account", title: "Koa example", signInPath: "/" }));
  app.use(koaAccountApi(keeper, { basePath: "/api" }));
  app.use(async (ctx, next) => {
    const route = `${ctx.method} ${ctx.path}`;
    if (route === "POST /login") {
      const body = await readJson(ctx.req);
      const user = checkPassword(body.email, body.password);
      if (!user) {
        ctx.status = 401;
        ctx.body = { error: "invalid_credentials" };
        return;
      }
      // Always a brand-new session and token; a session this browser held is ended.
      const session = await koaSessionContext(ctx).signIn(user.id);
      ctx.body = { session: sessionToJSON(session) };
    } else if (route === "GET /me") {
      await koaRequireSession()(ctx, async () => {
        const session = koaSessionContext(ctx).session;
        if (!session) return;
        ctx.body = { user: findUser(session.userId), session: sessionToJSON(session) };
      });
    } else if (route === "POST /logout") {
      await koaSessionContext(ctx).signOut();
      ctx.status = 204;
    } else if (route === "GET /healthz") {
      ctx.body = { status: "ok" };
    } else await next();
  });
  return { app, keeper };
}

/** A JSON body, bounded: Koa has no parser of its own, and everything from the request is hostile. */
async function readJson(stream: AsyncIterable<unknown>): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > 4096) return {};
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
