import type { AddressInfo } from "node:net";
import Koa from "koa";
import {
  type KoaLikeContext,
  koaRequireDeviceBinding,
  koaRequireSession,
  koaSession,
  koaSessionContext,
  koaSessions,
} from "../../src/http/koa.js";
import type { SessionKeeper } from "../../src/session-keeper.js";
import { sessionToJSON } from "../../src/session-view.js";
import {
  dataRefusal,
  type RunningApp,
  runHttpBehaviour,
  suiteSignInOptions,
} from "./behaviour-suite.js";
import { runDbscBehaviour } from "./dbsc-suite.js";

/** A JSON body, bounded; Koa has no parser of its own. */
async function readJson(ctx: KoaLikeContext): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of ctx.req) {
    text += String(chunk);
    if (text.length > 200_000) return {};
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The suite's tiny app on Koa 3 with koaSessions. */
async function startKoa(keeper: SessionKeeper): Promise<RunningApp> {
  const app = new Koa();
  app.use(koaSessions(keeper));
  app.use(async (ctx, next) => {
    const route = `${ctx.method} ${ctx.path}`;
    if (route === "POST /signin") {
      const body = await readJson(ctx);
      if (typeof body.userId !== "string") {
        ctx.status = 400;
        ctx.body = { error: "invalid_user" };
        return;
      }
      try {
        const session = await koaSessionContext(ctx).signIn(body.userId, suiteSignInOptions(body));
        ctx.body = { session: sessionToJSON(session) };
      } catch (error) {
        const refusal = dataRefusal(error);
        if (!refusal) throw error;
        ctx.status = 400;
        ctx.body = refusal;
      }
    } else if (route === "GET /data") {
      await koaRequireSession()(ctx, async () => {
        ctx.body = { data: koaSessionContext(ctx).data };
      });
    } else if (route === "PUT /data") {
      await koaRequireSession()(ctx, async () => {
        const { data } = (await readJson(ctx)) as { data?: Record<string, unknown> | null };
        try {
          ctx.body = { stored: await koaSessionContext(ctx).updateData(data ?? null) };
        } catch (error) {
          const refusal = dataRefusal(error);
          if (!refusal) throw error;
          ctx.status = 400;
          ctx.body = refusal;
        }
      });
    } else if (route === "POST /rotate" || route === "POST /activate") {
      const context = koaSessionContext(ctx);
      const session =
        route === "POST /rotate"
          ? await context.rotate()
          : await context.activate({ method: "code" });
      if (session) ctx.body = { session: sessionToJSON(session) };
      else {
        ctx.status = 401;
        ctx.body = { error: "unauthenticated" };
      }
    } else if (route === "GET /bound") {
      await koaRequireDeviceBinding()(ctx, async () => {
        ctx.body = { bound: true };
      });
    } else if (route === "GET /me") {
      await koaRequireSession()(ctx, async () => {
        ctx.body = {
          session: sessionToJSON(koaSession(ctx) as NonNullable<ReturnType<typeof koaSession>>),
        };
      });
    } else if (route === "POST /signout") {
      await koaSessionContext(ctx).signOut();
      ctx.status = 204;
    } else if (route === "POST /revoke") {
      await koaRequireSession()(ctx, async () => {
        const context = koaSessionContext(ctx);
        const { id } = await readJson(ctx);
        const userId = context.session?.userId as string;
        const ended =
          typeof id === "string" &&
          (await keeper.revokeSession(id, { userId, info: context.info }));
        if (ended) ctx.status = 204;
        else {
          ctx.status = 404;
          ctx.body = { error: "not_found" };
        }
      });
    } else if (route === "GET /whoami") {
      ctx.body = { userId: koaSessionContext(ctx).userId };
    } else if (route === "GET /healthz") {
      ctx.type = "text";
      ctx.body = "ok";
    } else if (route === "GET /static/app.js") {
      ctx.type = "js";
      ctx.body = "console.log('static');";
    } else await next();
  });
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

runHttpBehaviour("koa", startKoa);
runDbscBehaviour("koa", startKoa);
