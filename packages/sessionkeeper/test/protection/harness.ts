// A small Express 5 app wired like the reference app's sign-in routes, over a real SQLite file,
// a real SMTP server (smtp-server) and mailparser, and an HTTP client with a cookie jar that can
// pick its source address (127.0.0.x) so requests come from different client IPs.
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Response } from "express";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import {
  getSession,
  requireSession,
  sessionContext,
  sessionMiddleware,
  storageErrorHandler,
} from "../../src/http/express.js";
import { type SmtpMailer, smtpMailer } from "../../src/mail/index.js";
import type { SessionKeeperOptions } from "../../src/options.js";
import { createGuard, type Guard } from "../../src/protection/guard.js";
import { ipRuleToJSON } from "../../src/protection/ip-rules.js";
import type { GuardOptions } from "../../src/protection/options.js";
import type { Refusal } from "../../src/protection/results.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { eventToJSON, sessionToJSON } from "../../src/session-view.js";
import { protectionStore } from "../../src/storage/kysely-protection.js";
import { renderLinkPage, renderLinkResultPage } from "../../src/ui/link-page.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

/** A real SMTP server on 127.0.0.1:0; each message is parsed before the sender's DATA is acknowledged. */
export interface Smtp {
  url: string;
  inbox: ParsedMail[];
  /** The newest message, failing loudly when none arrived. */
  last(): ParsedMail;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<Smtp> {
  const inbox: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, _session, callback) {
      // Acknowledge only once parsed: when the app's send() resolves, the mail is in the inbox.
      simpleParser(stream).then(
        (mail) => {
          inbox.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    inbox,
    last() {
      const mail = inbox[inbox.length - 1];
      if (!mail) throw new Error("no mail arrived");
      return mail;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A movable clock for the keeper and the guard (expiry and lockout windows). */
export interface Clock {
  now: number;
  advance(ms: number): void;
}

export interface TestApp {
  url: string;
  keeper: SessionKeeper;
  guard: Guard;
  sqlite: TempSqlite;
  clock: Clock;
  users: Map<string, { id: string; email: string; password: string }>;
  addUser(email: string, password: string): string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  smtp: Smtp;
  keeper?: Partial<SessionKeeperOptions>;
  guard?: Partial<Omit<GuardOptions, "keeper" | "store">>;
}

/** Starts the app on 127.0.0.1:0. Users live in a Map with plain passwords (fine for a test). */
export async function startApp(options: TestAppOptions): Promise<TestApp> {
  const sqlite = await tempSqlite("sk-protection-");
  const clock: Clock = {
    now: Date.now(),
    advance(ms) {
      this.now += ms;
    },
  };
  const keeper = createSessionKeeper({
    storage: sqlite.store,
    now: () => clock.now,
    ...options.keeper,
  });
  await keeper.migrate();
  const mailer: SmtpMailer = smtpMailer(options.smtp.url, {
    from: "Test App <no-reply@example.test>",
  });
  // Listen first: the links in mail need the port.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const guard = createGuard({
    keeper,
    store: protectionStore(sqlite.store.db),
    mailer,
    appName: "Test App",
    baseUrl: url,
    ...options.guard,
  });
  keeper.addSessionGate(guard.sessionGate);
  const users = new Map<string, { id: string; email: string; password: string }>();
  server.on("request", buildApp(keeper, guard, users));
  return {
    url,
    keeper,
    guard,
    sqlite,
    clock,
    users,
    addUser(email, password) {
      const id = `user-${users.size + 1}`;
      users.set(email, { id, email, password });
      return id;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      mailer.close();
      await sqlite.cleanup();
    },
  };
}

function refuse(res: Response, refusal: Refusal): void {
  if (refusal.retryAfter !== undefined) res.set("Retry-After", String(refusal.retryAfter));
  res.status(refusal.httpStatus).json({ error: refusal.error });
}

function buildApp(keeper: SessionKeeper, guard: Guard, users: TestApp["users"]) {
  const app = express();
  app.use(express.json({ limit: "10kb" }));
  app.use(express.urlencoded({ extended: false, limit: "10kb" }));
  app.use(sessionMiddleware(keeper));

  app.post("/api/signin", async (req, res) => {
    const rs = sessionContext(req);
    const email = typeof req.body?.email === "string" ? req.body.email.trim().toLowerCase() : "";
    const password = typeof req.body?.password === "string" ? req.body.password : "";
    const user = users.get(email) ?? null;
    const verdict = await guard.checkBeforeCredentials({
      accountKey: email,
      userId: user?.id ?? null,
      info: rs.info,
    });
    if (!verdict.ok) return refuse(res, verdict);
    if (!user || user.password !== password) {
      return refuse(
        res,
        await guard.recordFailure({ accountKey: email, userId: user?.id ?? null, info: rs.info }),
      );
    }
    const result = await guard.completeSignIn(rs, user.id, { email: user.email });
    if (!result.ok) return refuse(res, result);
    if (result.status === "verification_required") {
      res.status(202).json({ status: "verification_required" });
      return;
    }
    res.json({ session: sessionToJSON(result.session) });
  });

  app.post("/api/signin/verify", async (req, res) => {
    const result = await guard.verifyCode(sessionContext(req), req.body?.code);
    if (!result.ok) return refuse(res, result);
    res
      .status(result.status === "active" ? 200 : 202)
      .json({ status: result.status, session: sessionToJSON(result.session) });
  });

  app.post("/api/signin/continue", async (req, res) => {
    const result = await guard.finishApprovedSignIn(sessionContext(req));
    if (!result.ok) return refuse(res, result);
    res
      .status(result.status === "active" ? 200 : 202)
      .json({ status: result.status, session: sessionToJSON(result.session) });
  });

  for (const [path, kind] of [
    ["/signin/approve", "approve"],
    ["/signin/not-me", "not-me"],
  ] as const) {
    app.get(path, async (req, res) => {
      const page = renderLinkPage(await guard.inspectLink(kind, req.query.token));
      res.status(page.status).set(page.headers).send(page.body);
    });
    app.post(path, async (req, res) => {
      const info = sessionContext(req).info;
      const result =
        kind === "approve"
          ? await guard.approveByLink(req.body?.token, info)
          : await guard.denyByLink(req.body?.token, info);
      const page = renderLinkResultPage(result, { appName: "Test App" });
      res.status(page.status).set(page.headers).send(page.body);
    });
  }

  // The current password is checked like a sign-in (throttled, counted), as the reference app does.
  app.post("/api/password", async (req, res) => {
    const rs = sessionContext(req);
    const user = [...users.values()].find((u) => u.id === rs.session?.userId);
    if (!user) return void res.status(401).json({ error: "unauthenticated" });
    const verdict = await guard.checkBeforeReauth(rs, { accountKey: user.email });
    if (!verdict.ok) return refuse(res, verdict);
    if (req.body?.currentPassword !== user.password)
      return refuse(res, await guard.recordReauthFailure(rs, { accountKey: user.email }));
    user.password = String(req.body?.newPassword ?? "");
    await rs.passwordChanged();
    res.status(204).end();
  });

  app.get("/api/me", requireSession(), (req, res) => {
    res.json({
      session: sessionToJSON(getSession(req) as NonNullable<ReturnType<typeof getSession>>),
    });
  });
  app.get("/api/history", requireSession(), async (req, res) => {
    const events = await keeper.listEvents(sessionContext(req).session?.userId as string);
    res.json({ events: events.map(eventToJSON) });
  });
  app.get("/api/sessions", requireSession(), async (req, res) => {
    const rs = sessionContext(req);
    const sessions = await keeper.listSessions(rs.session?.userId as string, {
      currentId: rs.session?.id ?? null,
      includeEnded: true,
    });
    res.json({ sessions: sessions.map(sessionToJSON) });
  });

  app.get("/api/ip-rules", requireSession(), async (req, res) => {
    const rules = await guard.listAccountAllow(sessionContext(req).session?.userId as string);
    res.json({ rules: rules.map(ipRuleToJSON) });
  });
  app.post("/api/ip-rules", requireSession(), async (req, res) => {
    const result = await guard.addAccountAllow(
      sessionContext(req).session?.userId as string,
      req.body?.cidr,
      { note: req.body?.note, from: sessionContext(req) },
    );
    if (!result.ok) return void res.status(400).json({ error: result.error });
    res.status(201).json({ rule: ipRuleToJSON(result.rule) });
  });
  app.delete("/api/ip-rules/:id", requireSession(), async (req, res) => {
    const removed = await guard.removeAccountAllow(
      sessionContext(req).session?.userId as string,
      req.params.id,
      { from: sessionContext(req) },
    );
    res.status(removed ? 204 : 404).end();
  });
  // An admin route without auth: fine in a test app, never in a real one.
  app.post("/admin/deny", async (req, res) => {
    const result = await guard.addGlobalDeny(req.body?.cidr);
    if (!result.ok) return void res.status(400).json({ error: result.error });
    res.status(201).json({ rule: ipRuleToJSON(result.rule) });
  });
  app.use(storageErrorHandler());
  return app;
}

/** A response as the tests read it. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary JSON bodies
  json: any;
}

/** An HTTP client with a cookie jar, sending from `localAddress` (a 127.0.0.x of its own). */
export class Client {
  readonly jar = new Map<string, string>();

  constructor(
    private readonly baseUrl: string,
    private readonly options: { localAddress?: string; userAgent?: string } = {},
  ) {}

  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send("GET", path, undefined, headers);
  }

  post(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send("POST", path, body === undefined ? undefined : JSON.stringify(body), {
      "content-type": "application/json",
      ...headers,
    });
  }

  postForm(
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    return this.send("POST", path, new URLSearchParams(fields).toString(), {
      "content-type": "application/x-www-form-urlencoded",
      ...headers,
    });
  }

  delete(path: string): Promise<Reply> {
    return this.send("DELETE", path, undefined, {});
  }

  send(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<Reply> {
    const url = new URL(path, this.baseUrl);
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          method,
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          localAddress: this.options.localAddress,
          headers: {
            ...(cookie ? { cookie } : {}),
            ...(this.options.userAgent !== undefined
              ? { "user-agent": this.options.userAgent }
              : {}),
            ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}),
            ...headers,
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => {
            this.#store(res.headers["set-cookie"] ?? []);
            let json: unknown = null;
            try {
              json = text.length > 0 ? JSON.parse(text) : null;
            } catch {
              json = null;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  #store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(";");
      const eq = (pair ?? "").indexOf("=");
      if (eq === -1) continue;
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === "") this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
}

/** The code and link tokens out of a verification or alert mail's text part. */
export function readMail(mail: ParsedMail): {
  code: string | null;
  approveToken: string | null;
  notMeToken: string | null;
  notMeUrl: string | null;
} {
  const text = mail.text ?? "";
  const code = /confirmation code: (\d{6,8})/.exec(text)?.[1] ?? null;
  const approveUrl = /(https?:\/\/\S+\/signin\/approve\?token=\S+)/.exec(text)?.[1] ?? null;
  const notMeUrl = /(https?:\/\/\S+\/signin\/not-me\?token=\S+)/.exec(text)?.[1] ?? null;
  const token = (link: string | null) => (link ? new URL(link).searchParams.get("token") : null);
  return { code, approveToken: token(approveUrl), notMeToken: token(notMeUrl), notMeUrl };
}

/** Every row of the guard's and the keeper's tables: compare before and after a request. */
export function snapshot(sqlite: TempSqlite): Record<string, unknown[]> {
  const tables = [
    "sk_sessions",
    "sk_login_events",
    "sk_verifications",
    "sk_known_devices",
    "sk_counters",
    "sk_ip_rules",
  ];
  return Object.fromEntries(
    tables.map((t) => [t, sqlite.db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]),
  );
}

/** The stored session row of an id (status and end reason included). */
export function sessionRow(
  sqlite: TempSqlite,
  id: string,
): { status: string; end_reason: string | null } | undefined {
  return sqlite.db.prepare("SELECT status, end_reason FROM sk_sessions WHERE id = ?").get(id) as
    | { status: string; end_reason: string | null }
    | undefined;
}

/** One row of the login history, as the tests read it. */
export interface EventRow {
  type: string;
  reason: string | null;
  user_id: string | null;
  ip: string | null;
  user_agent: string | null;
  session_id: string | null;
}

/** Event types and reasons of the login history, oldest first. */
export function eventRows(sqlite: TempSqlite): EventRow[] {
  return sqlite.db
    .prepare(
      "SELECT type, reason, user_id, ip, user_agent, session_id FROM sk_login_events ORDER BY created_at, rowid",
    )
    .all() as never;
}
