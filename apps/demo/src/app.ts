import express, { type ErrorRequestHandler, type Express } from "express";
import type { Kysely } from "kysely";
import {
  createGuard,
  createSessionKeeper,
  type GeoProvider,
  type Guard,
  isStorageError,
  LiveChannel,
  protectionStore,
  type SessionKeeper,
  type SessionStore,
} from "sessionkeeper";
import {
  accountApi,
  accountPages,
  liveEvents,
  sessionMiddleware,
  storageErrorHandler,
} from "sessionkeeper/express";
import {
  type DevMailbox,
  devMailbox,
  type Mailer,
  renderMailboxPage,
  smtpMailer,
} from "sessionkeeper/mail";
import { createPasskeys, type PasskeysOptions } from "sessionkeeper/passkeys";
import type { OpenedRedis } from "sessionkeeper/redis";
import type { DemoConfig } from "./config.js";
import { DBIP_ATTRIBUTION } from "./geo.js";
import { authApi } from "./routes/api.js";
import { linkRoutes } from "./routes/links.js";
import { pageRenderer, pageRoutes, send } from "./routes/pages.js";
import { SignUpAttempts } from "./signup-attempts.js";
import { UserStore } from "./users.js";
import { errorPage, notFound } from "./views.js";

const TITLE = "sessionkeeper demo";

export interface DemoDeps {
  /** The session store and the Kysely handle it runs on (the demo keeps its users beside it). */
  storage: { store: SessionStore; db: Kysely<unknown>; close(): Promise<void> };
  /** Redis (REDIS_URL): the session cache with its revocation broadcast, and shared lockout counters. */
  redis?: OpenedRedis;
  geo?: GeoProvider;
  now?: () => number;
  /** Where links in mail point: the app's public origin. */
  publicUrl: string;
}

export interface DemoApp {
  app: Express;
  keeper: SessionKeeper;
  guard: Guard;
  users: UserStore;
  /** The dev mailbox when no SMTP_URL is set; null otherwise. */
  mailbox: DevMailbox | null;
  /** Tells open pages when their session ends (GET /api/events). */
  live: LiveChannel;
  close(): Promise<void>;
}

/** Builds the reference app: only the library's public exports, wired as its README's HTTP contract says. */
export async function createDemoApp(config: DemoConfig, deps: DemoDeps): Promise<DemoApp> {
  const keeper = createSessionKeeper({
    storage: deps.storage.store,
    trustProxy: config.trustProxy,
    excludePaths: ["/healthz", "/static"],
    ...(config.idleTimeout !== undefined ? { idleTimeout: config.idleTimeout } : {}),
    ...(config.absoluteTimeout !== undefined ? { absoluteTimeout: config.absoluteTimeout } : {}),
    ...(config.reauthWindow !== undefined ? { reauthWindow: config.reauthWindow } : {}),
    // Offered to every browser at sign-in; only those with DBSC (Chrome on Windows) take it up.
    deviceBinding: {
      mode: config.dbsc,
      ...(config.dbscCookieTtl !== undefined ? { cookieTtl: config.dbscCookieTtl } : {}),
    },
    ...(deps.geo ? { geo: deps.geo } : {}),
    ...(deps.redis ? { cache: deps.redis.cache } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  await keeper.migrate();
  const users = new UserStore(deps.storage.db);
  await users.migrate();

  // Without SMTP_URL, mail is kept in memory and shown at /dev/mailbox (and nowhere else).
  const mailbox = config.smtpUrl ? null : devMailbox({ limit: 200 });
  const smtp = config.smtpUrl
    ? smtpMailer(config.smtpUrl, { from: `${TITLE} <no-reply@localhost>` })
    : null;
  const mailer: Mailer = (smtp ?? mailbox) as Mailer;
  const guard = createGuard({
    keeper,
    store: protectionStore(deps.storage.db as never),
    mailer,
    verification: config.newDeviceVerification,
    alerts: config.signinAlerts,
    lockout: {
      maxFailures: config.lockoutMaxFailures,
      // Many people share one address (offices, mobile carriers): the per-IP limit is wider.
      maxFailuresPerIp: config.lockoutMaxFailuresPerIp ?? config.lockoutMaxFailures * 10,
      // With Redis, every instance counts into the same window.
      ...(deps.redis ? { counter: deps.redis.counters } : {}),
    },
    impossibleTravel: true,
    ...(config.sessionLimit ? { sessionLimit: { max: config.sessionLimit } } : {}),
    appName: TITLE,
    baseUrl: deps.publicUrl,
    // Password changes, lockouts and "not me" reports are mailed to the account's address.
    addressOf: async (userId) => (await users.findById(userId))?.email ?? null,
    // With Redis, an IP rule changed on one instance is reloaded by every other at once.
    ...(deps.redis ? { broadcast: deps.redis.cache } : {}),
  });
  // Passkeys for re-authentication: the relying party is the app's public host, and only pages of
  // the public origin may use them. Browsers refuse an IP address as the relying party: on a
  // loopback address (npm start) passkeys work at http://localhost:<port> instead.
  const publicUrl = new URL(deps.publicUrl);
  const loopback = ["127.0.0.1", "[::1]"].includes(publicUrl.hostname);
  const passkeyOptions: PasskeysOptions = {
    keeper,
    guard,
    rpID: loopback ? "localhost" : publicUrl.hostname,
    rpName: TITLE,
    origin: loopback
      ? [publicUrl.origin, `http://localhost:${publicUrl.port || "80"}`]
      : publicUrl.origin,
  };
  const passkeys = createPasskeys(passkeyOptions);
  // A global deny rule also ends live sessions from the addresses it covers, on their next request.
  keeper.addSessionGate(guard.sessionGate);
  await applyDenyList(guard, config.ipDenyList);
  // Sign-up answers for taken addresses, counted per IP beside the guard's sign-in failures.
  const signUpAttempts = new SignUpAttempts({
    // The SQL table, shared by every instance, even with Redis: sign-up must not fail with Redis.
    counter: protectionStore(deps.storage.db as never),
    mailer,
    maxPerIp: config.lockoutMaxFailures,
    windowMs: 15 * 60_000,
    appName: TITLE,
    signInUrl: `${deps.publicUrl}/signin`,
    ...(deps.now ? { now: deps.now } : {}),
  });

  // Open pages leave for the sign-in page as soon as their session ends, on any instance.
  // The verify page of a held sign-in goes on by itself once it is approved, on any instance.
  const live = new LiveChannel(keeper, {
    approvals: guard,
    ...(deps.redis ? { broadcast: deps.redis.cache } : {}),
  });

  const app = express();
  app.disable("x-powered-by");
  // Storage health, for the load balancer: 503 takes an instance whose database is unusable (a
  // SQLite file removed or replaced under it, an unreachable server) out of rotation.
  app.get("/healthz", async (_req, res) => {
    const health = await keeper.checkHealth();
    res.set("Cache-Control", "no-store");
    if (health.ok) res.json({ status: "ok" });
    else res.status(503).json({ status: "unavailable", reason: health.reason });
  });
  app.use(sessionMiddleware(keeper));
  // A pending device whose sign-in was approved from the mail link picks it up on its next
  // request: the guard activates it with a new token.
  // Not on the live stream: the verify page's stream must open as the waiting sign-in it is (it is
  // then told `approved` and goes to /signin/verify/continue, which picks the approval up).
  app.use(async (req, _res, next) => {
    const ctx = req.sessionkeeper;
    if (ctx?.pendingSession && !ctx.session && req.path !== "/api/events")
      await guard.finishApprovedSignIn(ctx);
    next();
  });
  // The library's pages read their own bounded form bodies: mount them before the body parsers.
  app.use(
    "/account",
    accountPages(keeper, {
      title: TITLE,
      signInPath: "/signin",
      nav: [
        { href: "/account/sessions", label: "Devices" },
        { href: "/account/security", label: "Security" },
        { href: "/signout", label: "Sign out", method: "post" },
      ],
      // The security page is the app's own, a tab beside Devices and Login history.
      tabs: [{ href: "/account/security", label: "Security" }],
      ...(deps.geo ? { locationAttribution: DBIP_ATTRIBUTION } : {}),
      liveEventsPath: "/api/events",
      accountName: async (userId) => (await users.findById(userId))?.email ?? null,
      // Signing out other devices needs a recent proof: confirmed on the app's own page.
      reauthPath: "/account/reauth",
      // Pending sign-ins of the account, with Approve and "This wasn't me" (a recent proof too).
      guard,
      changePasswordPath: "/account/security",
    }),
  );
  app.get("/api/events", liveEvents(live));
  // Ending another session or all others needs a recent proof (the keeper's REAUTH_WINDOW).
  // So do approving and refusing a pending sign-in; GET /api/sessions lists those too.
  app.use("/api", accountApi(keeper, { recentAuth: {}, guard }));
  app.use(express.json({ limit: "16kb" }));
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 50 }));
  app.use("/api", authApi(users, guard, signUpAttempts, passkeys));
  app.use(linkRoutes(guard, TITLE));
  if (mailbox) {
    app.get("/dev/mailbox.json", (_req, res) => {
      res.set("Cache-Control", "no-store").json({ messages: mailbox.messages() });
    });
    app.get("/dev/mailbox", (_req, res) => {
      const page = renderMailboxPage(mailbox.messages(), { appName: TITLE });
      res.status(page.status).set(page.headers).send(page.body);
    });
  }
  const render = pageRenderer(TITLE);
  app.use(
    pageRoutes(users, guard, render, {
      devMailbox: mailbox !== null,
      signUpAttempts,
      passkeys,
    }),
  );
  // JSON for the API, a page for everything else (a person followed a link or typed a URL).
  app.use((req, res) => {
    if (req.path === "/api" || req.path.startsWith("/api/")) {
      res.status(404).json({ error: "not_found", path: req.path.slice(0, 200) });
      return;
    }
    const signedIn = Boolean(req.sessionkeeper?.session);
    send(
      res,
      render({ heading: "Page not found", status: 404, signedIn, content: notFound(signedIn) }),
    );
  });
  // A person's page gets a page when something fails; the API keeps its JSON (below).
  app.use(pageErrorHandler(render));
  app.use(storageErrorHandler());
  app.use(finalErrorHandler);

  return {
    app,
    keeper,
    guard,
    users,
    mailbox,
    live,
    async close() {
      live.close();
      smtp?.close();
      // keeper.close() closes the cache and the store (and with it the pool or file).
      await keeper.close();
      await deps.redis?.close();
    },
  };
}

/** Adds the IP_DENYLIST entries as global deny rules, once (the database outlives restarts). */
async function applyDenyList(guard: Guard, entries: readonly string[]): Promise<void> {
  if (entries.length === 0) return;
  const existing = new Set((await guard.listGlobalDeny()).map((rule) => rule.cidr));
  for (const cidr of entries) {
    if (existing.has(cidr)) continue;
    const added = await guard.addGlobalDeny(cidr, { note: "IP_DENYLIST" });
    if (!added.ok)
      throw new TypeError(
        `IP_DENYLIST: ${JSON.stringify(cidr)} is not an IP address or CIDR range`,
      );
    existing.add(added.rule.cidr);
  }
}

/** Errors on a page (not /api): the app's layout and header, the status, and a way on. */
function pageErrorHandler(render: ReturnType<typeof pageRenderer>): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent || req.path === "/api" || req.path.startsWith("/api/")) return next(error);
    const storage = isStorageError(error);
    const status = storage
      ? 503
      : typeof error?.status === "number" && error.status >= 400 && error.status < 500
        ? (error.status as number)
        : 500;
    if (status === 500)
      console.error("unhandled error:", error instanceof Error ? error.message : "unknown");
    // A cookie queued before a storage failure (a half-done sign-in) must not reach the browser.
    if (storage) res.removeHeader("Set-Cookie");
    if (storage) res.setHeader("Retry-After", "5");
    const signedIn = !storage && Boolean(req.sessionkeeper?.session);
    send(res, render({ status, signedIn, ...errorPage(status) }));
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
