import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import ts from "typescript";
import {
  type ActivityEvent,
  type ActivityType,
  type Actor,
  type CounterState,
  createGuard,
  createSessionKeeper,
  type EndReason,
  type FailureCounter,
  type IpRule,
  type LinkKind,
  type LinkResult,
  type LinkView,
  type Outcome,
  type PreviousSignIn,
  type ProtectionStore,
  protectionStore,
  type RawRequest,
  type RequestFacts,
  type RequestSession,
  renderLinkPage,
  renderLinkResultPage,
  type SessionCache,
  type SessionData,
  type SessionEvent,
  type SessionEventListener,
  type SessionGate,
  type SessionKeeper,
  type SessionRecord,
  type SessionSnapshot,
  type SessionStatus,
  type SignInOptions,
  type SignInResult,
  type TransitionEvent,
  type Verdict,
} from "../src/index.js";
import { sqliteStorage } from "../src/storage/sqlite.js";

// The public surface, checked on every run: every export of every entry point in package.json
// "exports" is documented in docs/api.md (in a heading, a table or a code block) and used by the
// reference app or a test; the public members of the keeper, the request context and the guard
// are documented too. A new export that is neither fails here, with the list of what is missing.

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const REPO = join(PACKAGE, "..", "..");
const API_DOC = join(REPO, "docs", "api.md");
const USAGE_DIRS = ["apps/demo/src", "apps/demo/test", "packages/sessionkeeper/test", "examples"];
const CLASSES = ["SessionKeeper", "RequestSession", "Guard"];

interface EntryPoint {
  subpath: string;
  file: string;
  names: string[];
}

function loadSurface(): {
  entries: EntryPoint[];
  members: Map<string, string[]>;
} {
  const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")) as {
    exports: Record<string, string | Record<string, string>>;
  };
  const sources: Array<{ subpath: string; file: string }> = [];
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === "string") continue; // ./package.json
    const source = target["sessionkeeper-source"];
    assert.ok(source, `package.json exports["${subpath}"] has no "sessionkeeper-source" path`);
    sources.push({ subpath, file: join(PACKAGE, source) });
  }
  const config = ts.readConfigFile(join(PACKAGE, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, PACKAGE);
  const program = ts.createProgram(
    sources.map((s) => s.file),
    { ...parsed.options, noEmit: true },
  );
  const checker = program.getTypeChecker();
  const members = new Map<string, string[]>();
  const entries = sources.map(({ subpath, file }) => {
    const sourceFile = program.getSourceFile(file);
    assert.ok(sourceFile, `${file} is not part of the program`);
    const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
    assert.ok(moduleSymbol, `${file} is not a module`);
    const symbols = checker.getExportsOfModule(moduleSymbol);
    for (const symbol of symbols) {
      if (!CLASSES.includes(symbol.name) || members.has(symbol.name)) continue;
      const target =
        symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      members.set(symbol.name, publicMembers(checker, target));
    }
    return { subpath, file, names: symbols.map((s) => s.name).sort() };
  });
  return { entries, members };
}

/** Public instance members of a class: no `#private`, `private`/`protected` or constructor. */
function publicMembers(checker: ts.TypeChecker, symbol: ts.Symbol): string[] {
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  return checker
    .getPropertiesOfType(type)
    .filter((p) => {
      if (p.name.startsWith("#") || p.name.startsWith("__#")) return false;
      const declaration = p.valueDeclaration ?? p.declarations?.[0];
      if (!declaration) return true;
      if (ts.isPrivateIdentifier((declaration as ts.NamedDeclaration).name as ts.Node))
        return false;
      const flags = ts.getCombinedModifierFlags(declaration);
      return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
    })
    .map((p) => p.name)
    .sort();
}

/** The text of docs/api.md that documents: headings, table rows and fenced code blocks. */
function documentedText(markdown: string): string {
  const kept: string[] = [];
  let inCode = false;
  for (const line of markdown.split("\n")) {
    const fence = /^\s*(```|~~~)/.test(line);
    if (fence) {
      inCode = !inCode;
      continue;
    }
    if (inCode || /^\s*#{1,6}\s/.test(line) || /^\s*\|/.test(line)) kept.push(line);
  }
  return kept.join("\n");
}

function hasWord(text: string, word: string): boolean {
  const escaped = word.replace(/[$]/g, "\\$");
  return new RegExp(`(?<![\\w$])${escaped}(?![\\w$])`).test(text);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === ".next") return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("public surface", () => {
  const { entries, members } = loadSurface();
  const docs = documentedText(readFileSync(API_DOC, "utf8"));

  it("reads every entry point of package.json", () => {
    assert.ok(entries.length >= 10, `only ${entries.length} entry points found`);
    for (const entry of entries)
      assert.ok(entry.names.length > 0, `${entry.subpath} (${entry.file}) exports nothing`);
    assert.deepEqual([...members.keys()].sort(), [...CLASSES].sort());
  });

  it("documents every export of every entry point in docs/api.md (heading, table or code)", () => {
    const missing = entries.flatMap((entry) =>
      entry.names
        .filter((name) => !hasWord(docs, name))
        .map((name) => `${importPath(entry.subpath)}: ${name}`),
    );
    assert.deepEqual(
      missing,
      [],
      `exports missing from docs/api.md (a heading, table or code block):\n  ${missing.join("\n  ")}`,
    );
  });

  it("has every export used by the reference app or a test", () => {
    const corpus = USAGE_DIRS.flatMap((dir) => tsFiles(join(REPO, dir))).map((file) => ({
      file: relative(REPO, file),
      text: readFileSync(file, "utf8"),
    }));
    const unused = entries.flatMap((entry) =>
      entry.names
        .filter((name) => !corpus.some(({ text }) => hasWord(text, name)))
        .map((name) => `${importPath(entry.subpath)}: ${name}`),
    );
    assert.deepEqual(
      unused,
      [],
      `exports used by neither ${USAGE_DIRS.join(", ")}:\n  ${unused.join("\n  ")}`,
    );
  });

  it("documents the public members of SessionKeeper, RequestSession and Guard", () => {
    const missing = [...members].flatMap(([cls, names]) =>
      names.filter((name) => !hasWord(docs, name)).map((name) => `${cls}.${name}`),
    );
    assert.deepEqual(
      missing,
      [],
      `public members missing from docs/api.md (a heading, table or code block):\n  ${missing.join("\n  ")}`,
    );
  });
});

function importPath(subpath: string): string {
  return subpath === "." ? "sessionkeeper" : `sessionkeeper${subpath.slice(1)}`;
}

// ---- the types an app names, in use ----------------------------------------------------------

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.splice(0)) await close();
});

function newKeeper(options: { cache?: SessionCache } = {}) {
  const storage = sqliteStorage(new Database(":memory:"), { cache: false });
  const keeper = createSessionKeeper({ storage, ...options });
  closers.push(() => keeper.close());
  return { keeper, storage };
}

/** A request as a framework adapter of the app's own would describe it. */
function rawRequest(fields: { method?: string; path?: string; cookie?: string }): RawRequest {
  const headers: Record<string, string | undefined> = {
    cookie: fields.cookie,
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0",
  };
  return {
    method: fields.method ?? "GET",
    path: fields.path ?? "/",
    header: (name) => headers[name] ?? null,
    socketAddress: "203.0.113.9",
    encrypted: false,
  };
}

function cookieHeader(setCookies: string[]): string {
  return setCookies.map((c) => c.split(";")[0]).join("; ");
}

/** What an adapter does with an Outcome: the RequestSession, or fail the test. */
async function contextOf(keeper: SessionKeeper, raw: RawRequest): Promise<RequestSession> {
  const outcome: Outcome = await keeper.beginRequest(raw, () => {});
  assert.equal(outcome.kind, "next");
  return (outcome as Extract<Outcome, { kind: "next" }>).context;
}

describe("public types in use", () => {
  it("a listener typed with the event union tells transitions from activity", async () => {
    const { keeper } = newKeeper();
    await keeper.migrate();
    const transitions: TransitionEvent[] = [];
    const activity: ActivityEvent[] = [];
    const isTransition = (event: SessionEvent): event is TransitionEvent => "session" in event;
    const listener: SessionEventListener = (event) => {
      if (isTransition(event)) transitions.push(event);
      else activity.push(event);
    };
    const unsubscribe = keeper.subscribe(listener);
    const info = keeper.requestInfo(rawRequest({}));
    const { record } = await keeper.signIn("ada", info);
    const failed: ActivityType = "sign_in_failed";
    await keeper.recordActivity({ type: failed, userId: "ada", reason: "invalid_credentials" });
    const admin: Actor = { kind: "admin", name: "ops" };
    const reason: EndReason = "account_closed"; // an app's own reason beside the built-in ones
    assert.equal(await keeper.revokeSession(record.id, { by: admin, reason }), true);
    unsubscribe();

    assert.deepEqual(
      transitions.map((e) => [e.type, e.reason]),
      [
        ["sign_in", null],
        ["session_revoked", "account_closed"],
      ],
    );
    const ended: SessionSnapshot = (transitions[1] as TransitionEvent).session;
    const status: SessionStatus = ended.status;
    assert.equal(status, "revoked");
    assert.equal("secretHash" in ended, false);
    assert.deepEqual(transitions[1]?.actor, admin);
    const facts: RequestFacts | null = (transitions[0] as TransitionEvent).request;
    assert.equal(facts?.ip, "203.0.113.9");
    assert.deepEqual(
      activity.map((e) => [e.type, e.reason, e.sessionId]),
      [["sign_in_failed", "invalid_credentials", null]],
    );
  });

  it("an adapter of the app's own: RawRequest in, Outcome out, and a SessionGate", async () => {
    const { keeper } = newKeeper({});
    await keeper.migrate();
    const blocked = new Set<string>();
    const gate: SessionGate = (record) => (blocked.has(record.userId) ? "account_suspended" : null);
    keeper.addSessionGate(gate);

    const first = await contextOf(keeper, rawRequest({ method: "POST", path: "/signin" }));
    assert.equal(first.session, null);
    const cookies: string[] = [];
    const outcome = await keeper.beginRequest(rawRequest({ path: "/signin" }), (c) =>
      cookies.push(c),
    );
    assert.equal(outcome.kind, "next");
    const rs = (outcome as Extract<Outcome, { kind: "next" }>).context;
    await rs.signIn("grace");
    const cookie = cookieHeader(cookies);
    assert.equal((await contextOf(keeper, rawRequest({ cookie }))).userId, "grace");

    const refused = await keeper.beginRequest(
      {
        ...rawRequest({ method: "POST", cookie }),
        header: (n) =>
          n === "origin" ? "https://evil.example" : n === "host" ? "app.example" : null,
      },
      () => {},
    );
    assert.deepEqual(refused, { kind: "forbidden", status: 403, error: "cross_origin_request" });

    blocked.add("grace");
    assert.equal((await contextOf(keeper, rawRequest({ cookie }))).session, null);
    const [ended] = await keeper.listSessions("grace", { includeEnded: true });
    assert.deepEqual([ended?.status, ended?.endReason], ["revoked", "account_suspended"]);
  });

  it("session data typed through the keeper's generic, an interface included, and the guard takes that keeper", async () => {
    interface Cart {
      cartId: string;
      items: number[];
    }
    const storage = sqliteStorage(new Database(":memory:"), { cache: false });
    const keeper: SessionKeeper<Cart> = createSessionKeeper<Cart>({ storage });
    closers.push(() => keeper.close());
    await keeper.migrate();
    // The guard and the adapters take a keeper of any data type.
    const guard = createGuard({
      keeper,
      store: protectionStore(storage.db),
      verification: "off",
      alerts: "off",
    });
    const cookies: string[] = [];
    const outcome = await keeper.beginRequest(rawRequest({ method: "POST" }), (c) =>
      cookies.push(c),
    );
    assert.equal(outcome.kind, "next");
    const rs: RequestSession<Cart> = (outcome as Extract<Outcome<Cart>, { kind: "next" }>).context;
    const options: SignInOptions<Cart> = { rememberMe: false, data: { cartId: "c-1", items: [] } };
    const result = await guard.completeSignIn(rs, "ada", { email: "ada@example.com", ...options });
    assert.equal(result.ok && result.status, "active");
    const again = await keeper.beginRequest(
      rawRequest({ cookie: cookieHeader(cookies) }),
      () => {},
    );
    const next = (again as Extract<Outcome<Cart>, { kind: "next" }>).context;
    const cart: Cart | null = next.data;
    assert.deepEqual(cart, { cartId: "c-1", items: [] });
    assert.equal(next.session?.rememberMe, false);
    assert.equal(await next.updateData({ cartId: "c-1", items: [7] }), true);
    assert.deepEqual(next.data?.items, [7]);
    // Untyped keepers default to a JSON object.
    const plain: SessionData = { anything: [1, "two"] };
    assert.deepEqual(
      keeper.dataOf({ ...(next.record as SessionRecord), data: JSON.stringify(plain) }),
      plain,
    );
  });

  it("an app's own SessionCache through the `cache` option drops what a revocation ended", async () => {
    const copies = new Map<string, SessionRecord>();
    const calls: string[] = [];
    const cache: SessionCache = {
      get: (id) => copies.get(id) ?? null,
      set: (record) => {
        copies.set(record.id, record);
      },
      invalidate: (ids) => {
        calls.push(`invalidate ${ids.length}`);
        for (const id of ids) copies.delete(id);
      },
      touched: (id) => {
        copies.delete(id);
      },
      clear: () => copies.clear(),
      close: async () => {},
    };
    const { keeper } = newKeeper({ cache });
    await keeper.migrate();
    const info = keeper.requestInfo(rawRequest({}));
    const { record, setCookies } = await keeper.signIn("linus", info);
    const signedIn = { ...info, cookieHeader: cookieHeader(setCookies) };
    assert.equal((await keeper.validate(signedIn))?.record.id, record.id);
    assert.equal(copies.has(record.id), true, "the lookup was kept");
    assert.equal(await keeper.revokeSession(record.id), true);
    assert.equal(copies.has(record.id), false, "the revocation dropped it");
    assert.ok(calls.length > 0);
    assert.equal(await keeper.validate(signedIn), null);
  });

  it("guard results as values, an app's own FailureCounter, link pages", async () => {
    const { keeper, storage } = newKeeper();
    const store: ProtectionStore = protectionStore(storage.db);
    await keeper.migrate();
    const windows = new Map<string, CounterState>();
    const counter: FailureCounter = {
      async increment(key, { now, windowMs }) {
        const open = windows.get(key);
        const next: CounterState =
          open && now < open.resetAt
            ? { count: open.count + 1, resetAt: open.resetAt }
            : { count: 1, resetAt: now + windowMs };
        windows.set(key, next);
        return next;
      },
      async read(key, now) {
        const state = windows.get(key);
        return state && now < state.resetAt ? state : null;
      },
      async reset(key) {
        windows.delete(key);
      },
    };
    const guard = createGuard({
      keeper,
      store,
      verification: "off",
      alerts: "off",
      lockout: { maxFailures: 2, counter },
    });
    const rs = await contextOf(keeper, rawRequest({ method: "POST", path: "/signin" }));
    const input = { accountKey: "ada@example.com", userId: "ada", info: rs.info };

    const before: Verdict = await guard.checkBeforeCredentials(input);
    assert.deepEqual(before, { ok: true });
    const signedIn: SignInResult = await guard.completeSignIn(rs, "ada", {
      email: "ada@example.com",
    });
    assert.equal(signedIn.ok && signedIn.status, "active");
    const previous: PreviousSignIn | null = await store.previousSignIn("ada");
    assert.equal(previous?.ip, "203.0.113.9");

    await guard.recordFailure(input);
    await guard.recordFailure(input);
    assert.ok(windows.size > 0, "the app's counter counted");
    const locked = await guard.checkBeforeCredentials(input);
    assert.equal(!locked.ok && locked.httpStatus, 429);

    const added = await guard.addGlobalDeny("198.51.100.0/24", { note: "abuse" });
    assert.equal(added.ok, true);
    const rules: IpRule[] = await guard.listGlobalDeny();
    assert.deepEqual(
      rules.map((r) => [r.cidr, r.action]),
      [["198.51.100.0/24", "deny"]],
    );
    assert.equal(await guard.checkIp("198.51.100.7"), "ip_denied");

    const kind: LinkKind = "approve";
    const view: LinkView = await guard.inspectLink(kind, "not-a-token");
    assert.equal(view.details, null);
    assert.equal(renderLinkPage(view).status, 400);
    const denied: LinkResult = await guard.denyByLink("not-a-token", rs.info);
    assert.equal(denied.ok, false);
    assert.equal(renderLinkResultPage(denied, { appName: "Demo" }).status, 400);
  });
});
