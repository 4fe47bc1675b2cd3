import express, { type ErrorRequestHandler, type Express } from "express";
import type { Kysely } from "kysely";
import {
  createSessionKeeper,
  type GeoProvider,
  type SessionKeeper,
  type SessionStore,
} from "sessionkeeper";
import {
  accountApi,
  accountPages,
  sessionMiddleware,
  storageErrorHandler,
} from "sessionkeeper/express";
import type { DemoConfig } from "./config.js";
import { DBIP_ATTRIBUTION } from "./geo.js";
import { authApi } from "./routes/api.js";
import { pageRenderer, pageRoutes } from "./routes/pages.js";
import { UserStore } from "./users.js";

const TITLE = "sessionkeeper demo";

export interface DemoDeps {
  /** The session store and the Kysely handle it runs on (the demo keeps its users beside it). */
  storage: { store: SessionStore; db: Kysely<unknown>; close(): Promise<void> };
  geo?: GeoProvider;
  now?: () => number;
}

export interface DemoApp {
  app: Express;
  keeper: SessionKeeper;
  users: UserStore;
  close(): Promise<void>;
}

/** Builds the reference app: only the library's public exports, wired as DESIGN.md's contract says. */
export async function createDemoApp(config: DemoConfig, deps: DemoDeps): Promise<DemoApp> {
  const keeper = createSessionKeeper({
    storage: deps.storage.store,
    trustProxy: config.trustProxy,
    excludePaths: ["/healthz", "/static"],
    ...(config.idleTimeout !== undefined ? { idleTimeout: config.idleTimeout } : {}),
    ...(config.absoluteTimeout !== undefined ? { absoluteTimeout: config.absoluteTimeout } : {}),
    ...(deps.geo ? { geo: deps.geo } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  await keeper.migrate();
  const users = new UserStore(deps.storage.db);
  await users.migrate();

  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });
  app.use(sessionMiddleware(keeper));
  // The library's pages read their own bounded form bodies: mount them before the body parsers.
  app.use(
    "/account",
    accountPages(keeper, {
      title: TITLE,
      nav: [
        { href: "/account/sessions", label: "Devices" },
        { href: "/account/security", label: "Security" },
        { href: "/signout", label: "Sign out", method: "post" },
      ],
      ...(deps.geo ? { locationAttribution: DBIP_ATTRIBUTION } : {}),
    }),
  );
  app.use("/api", accountApi(keeper));
  app.use(express.json({ limit: "16kb" }));
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 50 }));
  app.use("/api", authApi(users, null));
  app.use(pageRoutes(users, null, pageRenderer(TITLE)));
  app.use((_req, res) => {
    res.status(404).json({ error: "not_found" });
  });
  app.use(storageErrorHandler());
  app.use(finalErrorHandler);

  return {
    app,
    keeper,
    users,
    async close() {
      await keeper.close();
    },
  };
}

// Bad JSON and oversized bodies are the client's fault; anything else is a 500 without details.
const finalErrorHandler: ErrorRequestHandler = (error, _req, res, _next) => {
  const status =
    typeof error?.status === "number" && error.status >= 400 && error.status < 500
      ? error.status
      : 500;
  if (status === 500)
    console.error("unhandled error:", error instanceof Error ? error.message : "unknown");
  if (res.headersSent) return;
  const code =
    status === 413
      ? "payload_too_large"
      : status === 400
        ? "invalid_request"
        : status === 500
          ? "internal_error"
          : "bad_request";
  res.status(status).json({ error: code });
};
