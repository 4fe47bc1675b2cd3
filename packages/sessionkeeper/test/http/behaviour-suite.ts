import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { SessionKeeperOptions } from "../../src/options.js";
import {
  createSessionKeeper,
  type SessionKeeper,
  type SignInOptions,
} from "../../src/session-keeper.js";
import { sqliteStorage } from "../../src/storage/sqlite.js";
import { countingStore, type StoreCalls, writeCalls } from "../helpers/counting-store.js";
import { type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

/** A test app listening on 127.0.0.1, and how to stop it. */
export interface RunningApp {
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * Builds and starts a tiny app on the adapter under test, with the given keeper. Routes:
 * `POST /signin {userId, rememberMe?, data?, pending?}` → 200 `{session}` (sessionToJSON), the
 * options read by {@link suiteSignInOptions}, 400 {@link dataRefusal} when the data is refused;
 * `GET /data` → 200 `{data}` (the request session's data) or 401; `PUT /data {data}` → 200
 * `{stored}` (`updateData`'s answer) or 400 {@link dataRefusal}, 401 without a session;
 * `POST /rotate` → 200 `{session}` after `rotate()`, 401 without an active session;
 * `POST /activate` → 200 `{session}` after `activate({ method: "code" })`, 401 when not pending;
 * `GET /bound` → 200 `{bound: true}` for a device-bound session only (the adapter's
 * require-device-binding guard), else 401; `GET /me` → 200 `{session}` or 401
 * `{"error":"unauthenticated"}`; `POST /signout` → 204; `POST /revoke {id}` → 204, or 404
 * `{"error":"not_found"}` when not the user's (401 without a session); `GET /healthz` and
 * `GET /static/app.js` → 200 text (both excluded by the suite's keeper). A storage failure inside
 * a route must answer 503 `{"error":"storage_unavailable"}`.
 */
export type StartServer = (keeper: SessionKeeper) => Promise<RunningApp>;

/** The sign-in options the suite's `/signin` route takes from its JSON body. */
export function suiteSignInOptions(body: unknown): SignInOptions {
  const b = (body ?? {}) as { rememberMe?: unknown; data?: unknown; pending?: unknown };
  return {
    ...(b.rememberMe !== undefined ? { rememberMe: b.rememberMe as boolean } : {}),
    ...(b.data !== undefined ? { data: b.data as Record<string, unknown> | null } : {}),
    ...(b.pending === true ? { status: "pending" as const } : {}),
  };
}

/** The suite's 400 body for data the keeper refused (TypeError or RangeError), or null for other errors. */
export function dataRefusal(error: unknown): { error: "invalid_data"; message: string } | null {
  return error instanceof RangeError || error instanceof TypeError
    ? { error: "invalid_data", message: error.message }
    : null;
}

interface Fixture extends RunningApp {
  keeper: SessionKeeper;
  options: Partial<SessionKeeperOptions>;
  sqlite: TempSqlite;
  calls: StoreCalls;
  sessionCount(): number;
}

interface SetCookie {
  name: string;
  value: string;
  attributes: string[];
}

const UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

function parseSetCookie(line: string): SetCookie {
  const [pair = "", ...attributes] = line.split(";").map((p) => p.trim());
  const eq = pair.indexOf("=");
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

/** The Set-Cookie lines of a response for the session cookie (plain or `__Host-`). */
function sessionCookies(res: Response): SetCookie[] {
  return res.headers
    .getSetCookie()
    .map(parseSetCookie)
    .filter((c) => c.name === "sk_session" || c.name === "__Host-sk_session");
}

function hasAttribute(cookie: SetCookie, name: string): boolean {
  return cookie.attributes.some((a) => a.split("=")[0]?.toLowerCase() === name.toLowerCase());
}

/**
 * Registers node:test blocks proving the HTTP behaviour every adapter must have, through fetch
 * against a real server: cookie attributes, the origin check, excluded paths, hostile cookies,
 * fail-closed storage, and client IP resolution.
 */
export function runHttpBehaviour(name: string, startServer: StartServer): void {
  async function startFixture(
    options: Partial<SessionKeeperOptions> = {},
    fixture: { lookupsAnswerLater?: boolean } = {},
  ): Promise<Fixture> {
    const sqlite = await tempSqlite("sk-http-");
    const counted = countingStore(sqlite.store);
    // SQLite answers lookups at once; a network store (PostgreSQL, MySQL) answers in a later turn.
    // Adapters take a different path for each, so both are driven through the same app.
    const storage = fixture.lookupsAnswerLater
      ? { ...counted.store, findSession: async (id: string) => counted.store.findSession(id) }
      : counted.store;
    const keeper = createSessionKeeper({
      storage,
      excludePaths: ["/healthz", "/static"],
      ...options,
    });
    await keeper.migrate();
    const app = await startServer(keeper);
    return {
      baseUrl: app.baseUrl,
      keeper,
      options,
      sqlite,
      calls: counted.calls,
      sessionCount: () =>
        (sqlite.db.prepare("SELECT count(*) AS n FROM sk_sessions").get() as { n: number }).n,
      async close() {
        await app.close();
        await sqlite.cleanup();
      },
    };
  }

  function send(
    f: Fixture,
    method: string,
    path: string,
    init: { cookie?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { "user-agent": UA, ...init.headers };
    if (init.cookie !== undefined) headers.cookie = init.cookie;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${f.baseUrl}${path}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  }

  /**
   * A second app instance on the fixture's SQLite file: its own connection (and read cache), its
   * own keeper with the same options, its own server.
   */
  async function secondInstance(f: Fixture): Promise<RunningApp> {
    const db = new Database(f.sqlite.file);
    const keeper = createSessionKeeper({
      excludePaths: ["/healthz", "/static"],
      ...f.options,
      storage: sqliteStorage(db),
    });
    const app = await startServer(keeper);
    return {
      baseUrl: app.baseUrl,
      async close() {
        await app.close();
        await keeper.close();
        if (db.open) db.close();
      },
    };
  }

  /** Signs in over HTTP and returns the `Cookie` header value to send back, with the session JSON. */
  async function signIn(
    f: Fixture,
    userId: string,
    init: {
      cookie?: string;
      headers?: Record<string, string>;
      body?: Record<string, unknown>;
    } = {},
  ) {
    const res = await send(f, "POST", "/signin", { ...init, body: { userId, ...init.body } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const [cookie] = sessionCookies(res);
    assert.ok(cookie, "sign-in sets the session cookie");
    assert.ok(
      !text.includes(cookie.value.split(".")[1] as string),
      "the secret never appears in a body",
    );
    const body = JSON.parse(text) as {
      session: { id: string; ip: string; lastIp: string; rememberMe: boolean };
    };
    return {
      cookie: `${cookie.name}=${cookie.value}`,
      setCookie: cookie,
      session: body.session,
      response: res,
    };
  }

  async function me(
    f: Fixture,
    cookie: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown }> {
    const res = await send(f, "GET", "/me", {
      ...(cookie !== undefined ? { cookie } : {}),
      headers,
    });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : null };
  }

  describe(`HTTP behaviour: ${name}`, () => {
    describe("with default options", () => {
      let f: Fixture;
      before(async () => {
        f = await startFixture();
      });
      after(() => f.close());

      it("sign-in sets a host-only, HttpOnly, SameSite=Lax cookie on Path=/ (no Secure over plain HTTP)", async () => {
        const { setCookie, response } = await signIn(f, "alice");
        assert.equal(setCookie.name, "sk_session");
        assert.match(setCookie.value, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
        assert.ok(hasAttribute(setCookie, "HttpOnly"));
        assert.ok(setCookie.attributes.includes("SameSite=Lax"));
        assert.ok(setCookie.attributes.includes("Path=/"));
        assert.ok(!hasAttribute(setCookie, "Domain"), "host-only");
        assert.ok(!hasAttribute(setCookie, "Secure"));
        assert.match(response.headers.get("cache-control") ?? "", /no-store/);
      });

      it("every answer to a signed-in request says Cache-Control: no-store, set by the adapter", async () => {
        const { cookie } = await signIn(f, "alice");
        // The app's own route sets no header: the adapter does, for every signed-in request.
        const signedIn = await send(f, "GET", "/whoami", { cookie });
        assert.equal(signedIn.status, 200);
        assert.match(signedIn.headers.get("cache-control") ?? "", /no-store/);
        await signedIn.text();
        const anonymous = await send(f, "GET", "/whoami", {});
        assert.doesNotMatch(anonymous.headers.get("cache-control") ?? "", /no-store/);
        await anonymous.text();
      });

      it("/me answers the session for its cookie and 401 without one", async () => {
        const { cookie, session } = await signIn(f, "alice");
        const found = await me(f, cookie);
        assert.equal(found.status, 200);
        assert.equal((found.body as { session: { id: string } }).session.id, session.id);
        assert.deepEqual(await me(f, undefined), {
          status: 401,
          body: { error: "unauthenticated" },
        });
      });

      it("userId is the active session's user id, and null without one or after sign-out", async () => {
        const whoami = async (cookie?: string) =>
          (await (
            await send(f, "GET", "/whoami", cookie !== undefined ? { cookie } : {})
          ).json()) as {
            userId: string | null;
          };
        assert.deepEqual(await whoami(), { userId: null });
        const { cookie } = await signIn(f, "carol");
        assert.deepEqual(await whoami(cookie), { userId: "carol" });
        await send(f, "POST", "/signout", { cookie });
        assert.deepEqual(await whoami(cookie), { userId: null });
      });

      it("a planted cookie is never adopted at sign-in", async () => {
        const planted = "AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        const { cookie } = await signIn(f, "alice", { cookie: `sk_session=${planted}` });
        assert.notEqual(cookie, `sk_session=${planted}`);
        assert.equal((await me(f, `sk_session=${planted}`)).status, 401);
        // A victim's own earlier session is replaced, not reused, when they sign in again.
        const again = await signIn(f, "alice", { cookie });
        assert.notEqual(again.cookie, cookie);
        assert.equal((await me(f, cookie)).status, 401);
      });

      it("sign-out clears the cookie and the old cookie no longer works", async () => {
        const { cookie } = await signIn(f, "alice");
        const res = await send(f, "POST", "/signout", { cookie });
        assert.equal(res.status, 204);
        const [cleared] = sessionCookies(res);
        assert.ok(cleared && cleared.value === "" && cleared.attributes.includes("Max-Age=0"));
        assert.equal((await me(f, cookie)).status, 401);
      });

      it("revoke ends another device's session at once, and never another user's", async () => {
        const laptop = await signIn(f, "alice");
        const phone = await signIn(f, "alice");
        const mallory = await signIn(f, "mallory");
        const res = await send(f, "POST", "/revoke", {
          cookie: laptop.cookie,
          body: { id: phone.session.id },
        });
        assert.equal(res.status, 204);
        assert.equal((await me(f, phone.cookie)).status, 401);
        assert.equal((await me(f, laptop.cookie)).status, 200);

        const refused = await send(f, "POST", "/revoke", {
          cookie: mallory.cookie,
          body: { id: laptop.session.id },
        });
        assert.equal(refused.status, 404);
        assert.deepEqual(await refused.json(), { error: "not_found" });
        assert.equal((await me(f, laptop.cookie)).status, 200);
      });

      it("refuses cross-origin unsafe requests with 403 and changes nothing", async () => {
        const victim = await signIn(f, "alice");
        const other = await signIn(f, "alice");
        const hostile: Record<string, string>[] = [
          { origin: "http://evil.example" },
          { origin: "null" },
          { origin: f.baseUrl.replace("127.0.0.1", "localhost") },
          { "sec-fetch-site": "cross-site" },
          { "sec-fetch-site": "same-site" },
          { "sec-fetch-site": "cross-site", origin: f.baseUrl },
        ];
        for (const headers of hostile) {
          const count = f.sessionCount();
          const signin = await send(f, "POST", "/signin", { headers, body: { userId: "mallory" } });
          assert.equal(signin.status, 403, JSON.stringify(headers));
          assert.deepEqual(await signin.json(), { error: "cross_origin_request" });
          assert.deepEqual(sessionCookies(signin), [], "no cookie set");
          assert.equal(f.sessionCount(), count, "no session created");

          const revoke = await send(f, "POST", "/revoke", {
            cookie: victim.cookie,
            headers,
            body: { id: other.session.id },
          });
          assert.equal(revoke.status, 403);
          const signout = await send(f, "POST", "/signout", { cookie: victim.cookie, headers });
          assert.equal(signout.status, 403);
        }
        assert.equal((await me(f, victim.cookie)).status, 200, "not signed out");
        assert.equal((await me(f, other.cookie)).status, 200, "not revoked");
      });

      it("lets same-origin and header-less unsafe requests through", async () => {
        const allowed: Record<string, string>[] = [
          { origin: f.baseUrl },
          { "sec-fetch-site": "same-origin" },
          { "sec-fetch-site": "none" },
          {},
        ];
        for (const headers of allowed) {
          const res = await send(f, "POST", "/signin", { headers, body: { userId: "alice" } });
          assert.equal(res.status, 200, JSON.stringify(headers));
          assert.equal(sessionCookies(res).length, 1);
        }
      });

      it("excluded paths get no lookup and no cookie, even with a garbage or valid cookie", async () => {
        const { cookie } = await signIn(f, "alice");
        const lookups = f.calls.findSession;
        for (const path of ["/healthz", "/static/app.js"]) {
          for (const sent of [
            "sk_session=garbage",
            cookie,
            `${cookie}; ${cookie}`,
            `sk_session=${"A".repeat(8192)}`,
          ]) {
            const res = await send(f, "GET", path, { cookie: sent });
            assert.equal(res.status, 200, path);
            await res.text();
            assert.deepEqual(res.headers.getSetCookie(), [], "no Set-Cookie");
          }
        }
        assert.equal(f.calls.findSession, lookups, "no session lookup");
        // Control: the same cookie on a session path is looked up.
        assert.equal((await me(f, cookie)).status, 200);
        assert.equal(f.calls.findSession, lookups + 1);
      });

      it("answers 401 to garbage, oversized and badly encoded cookies, never 500", async () => {
        const { cookie } = await signIn(f, "alice");
        const token = cookie.slice("sk_session=".length);
        const hostile = [
          "sk_session=garbage",
          "sk_session=",
          `sk_session=${"A".repeat(8192)}`,
          `sk_session=${token}${"A".repeat(8192)}`,
          "sk_session=%E0%A4%A",
          "sk_session=%",
          `sk_session=${"%FF".repeat(200)}`,
          `sk_session=${encodeURIComponent(token).replace(".", "%2E")}`,
          `${cookie}; ${cookie}`,
          `${cookie}; sk_session=garbage`,
          `sk_session="${token}`,
          "sk_session=\u00e9\u00ff",
          ";;;=;=sk_session",
          `sk_session=${token.split(".")[0]}.${"A".repeat(43)}`,
        ];
        for (const sent of hostile) {
          assert.deepEqual(
            await me(f, sent),
            { status: 401, body: { error: "unauthenticated" } },
            sent.slice(0, 60),
          );
        }
        assert.equal((await me(f, cookie)).status, 200, "the real session is unharmed");
      });

      it("ignores X-Forwarded-For without trustProxy: the socket address is recorded", async () => {
        const { session, cookie } = await signIn(f, "alice", {
          headers: { "x-forwarded-for": "203.0.113.7" },
        });
        assert.equal(session.ip, "127.0.0.1");
        const found = await me(f, cookie, { "x-forwarded-for": "198.51.100.1" });
        assert.equal((found.body as { session: { lastIp: string } }).session.lastIp, "127.0.0.1");
      });
    });

    describe("session data and remember-me", () => {
      let f: Fixture;
      let clock = Date.UTC(2026, 0, 1);
      before(async () => {
        f = await startFixture({
          dataMaxBytes: 256,
          browserSessionIdleTimeout: "10m",
          now: () => clock,
        });
      });
      after(() => f.close());

      const MINUTE = 60_000;
      const cookieOf = (res: Response) => {
        const [c] = sessionCookies(res);
        assert.ok(c, "a session cookie is set");
        return { line: c, cookie: `${c.name}=${c.value}` };
      };
      const lasting = (c: SetCookie) => hasAttribute(c, "Max-Age") || hasAttribute(c, "Expires");
      const readData = async (baseUrl: string, cookie: string) => {
        const res = await fetch(`${baseUrl}/data`, { headers: { cookie, "user-agent": UA } });
        return { status: res.status, body: (await res.json()) as { data?: unknown } };
      };

      it("rememberMe: false sets a cookie with neither Max-Age nor Expires; absent or true, a lasting one", async () => {
        const forgetful = await signIn(f, "alice", { body: { rememberMe: false } });
        assert.equal(
          lasting(forgetful.setCookie),
          false,
          forgetful.setCookie.attributes.join("; "),
        );
        assert.equal(forgetful.session.rememberMe, false);
        const seen = await me(f, forgetful.cookie);
        assert.equal((seen.body as { session: { rememberMe: boolean } }).session.rememberMe, false);
        for (const body of [{}, { rememberMe: true }]) {
          const kept = await signIn(f, "alice", { body });
          assert.ok(hasAttribute(kept.setCookie, "Max-Age"), JSON.stringify(body));
          assert.equal(kept.session.rememberMe, true);
        }
        // Anything but a boolean is a mistake of the app, refused before anything is written.
        const count = f.sessionCount();
        const odd = await send(f, "POST", "/signin", {
          body: { userId: "alice", rememberMe: "no" },
        });
        assert.equal(odd.status, 400);
        assert.match(((await odd.json()) as { message: string }).message, /rememberMe/);
        assert.equal(f.sessionCount(), count);
      });

      it("rotation and approval (pending -> active) keep the remember-me choice and the data", async () => {
        const data = { cartId: "c-1", items: [1, 2], note: "ünïcødé 🛒" };
        const signedIn = await signIn(f, "alice", { body: { rememberMe: false, data } });
        const rotated = await send(f, "POST", "/rotate", { cookie: signedIn.cookie });
        assert.equal(rotated.status, 200);
        const next = cookieOf(rotated);
        assert.notEqual(next.cookie, signedIn.cookie, "a new token");
        assert.equal(lasting(next.line), false, "still until the browser closes");
        assert.deepEqual(await readData(f.baseUrl, next.cookie), { status: 200, body: { data } });
        assert.equal((await me(f, signedIn.cookie)).status, 401, "the old token died");

        const held = await signIn(f, "bob", { body: { pending: true, rememberMe: false, data } });
        assert.equal(
          (await readData(f.baseUrl, held.cookie)).status,
          401,
          "pending grants nothing",
        );
        const activated = await send(f, "POST", "/activate", { cookie: held.cookie });
        assert.equal(activated.status, 200);
        const active = cookieOf(activated);
        assert.equal(lasting(active.line), false);
        const body = (await activated.json()) as { session: { rememberMe: boolean } };
        assert.equal(body.session.rememberMe, false);
        assert.deepEqual(await readData(f.baseUrl, active.cookie), { status: 200, body: { data } });
      });

      it("data is read with the session's one lookup and is never written per request", async () => {
        const { cookie } = await signIn(f, "carol", { body: { data: { cartId: "c-9" } } });
        const lookups = f.calls.findSession;
        const writes = writeCalls(f.calls);
        for (let i = 0; i < 5; i++)
          assert.deepEqual(await readData(f.baseUrl, cookie), {
            status: 200,
            body: { data: { cartId: "c-9" } },
          });
        assert.equal(f.calls.findSession, lookups + 5, "one lookup per request, no more");
        assert.equal(writeCalls(f.calls), writes, "no write");
      });

      it("an update is written once; the same data again, or reading it, writes nothing", async () => {
        const { cookie } = await signIn(f, "carol", { body: { data: { cartId: "c-1" } } });
        const put = (data: unknown) => send(f, "PUT", "/data", { cookie, body: { data } });
        const updates = f.calls.updateSessionData;
        const first = await put({ cartId: "c-2" });
        assert.deepEqual([first.status, await first.json()], [200, { stored: true }]);
        assert.equal(f.calls.updateSessionData, updates + 1);
        const same = await put({ cartId: "c-2" });
        assert.deepEqual([same.status, await same.json()], [200, { stored: true }]);
        assert.equal(f.calls.updateSessionData, updates + 1, "unchanged data is not written");
        assert.deepEqual(await readData(f.baseUrl, cookie), {
          status: 200,
          body: { data: { cartId: "c-2" } },
        });
        const cleared = await put(null);
        assert.equal(cleared.status, 200);
        await cleared.text();
        assert.deepEqual(await readData(f.baseUrl, cookie), { status: 200, body: { data: null } });
      });

      it("oversize data is refused with a RangeError naming dataMaxBytes, and nothing is written", async () => {
        const big = { blob: "é".repeat(200) }; // 400 bytes of UTF-8, over the fixture's 256
        const previous = await signIn(f, "dave", { body: { data: { cartId: "small" } } });
        const count = f.sessionCount();
        const writes = writeCalls(f.calls);
        const refusedSignIn = await send(f, "POST", "/signin", {
          cookie: previous.cookie,
          body: { userId: "dave", data: big },
        });
        assert.equal(refusedSignIn.status, 400);
        const body = (await refusedSignIn.json()) as { error: string; message: string };
        assert.equal(body.error, "invalid_data");
        assert.match(body.message, /dataMaxBytes \(256\)/);
        assert.deepEqual(sessionCookies(refusedSignIn), [], "no cookie");
        assert.equal(f.sessionCount(), count, "no session created");
        assert.equal(
          writeCalls(f.calls),
          writes,
          "nothing written, the previous session not ended",
        );

        const refusedUpdate = await send(f, "PUT", "/data", {
          cookie: previous.cookie,
          body: { data: big },
        });
        assert.equal(refusedUpdate.status, 400);
        assert.match(((await refusedUpdate.json()) as { message: string }).message, /dataMaxBytes/);
        assert.equal(writeCalls(f.calls), writes, "nothing written");
        assert.deepEqual(await readData(f.baseUrl, previous.cookie), {
          status: 200,
          body: { data: { cartId: "small" } },
        });
      });

      it("an update on one instance is seen by another on its next request", async () => {
        const other = await secondInstance(f);
        try {
          const { cookie } = await signIn(f, "frank", { body: { data: { step: 1 } } });
          // The other instance reads it once, so it holds a copy of the session.
          assert.deepEqual(await readData(other.baseUrl, cookie), {
            status: 200,
            body: { data: { step: 1 } },
          });
          const put = await send(f, "PUT", "/data", { cookie, body: { data: { step: 2 } } });
          assert.equal(put.status, 200);
          await put.text();
          assert.deepEqual(await readData(other.baseUrl, cookie), {
            status: 200,
            body: { data: { step: 2 } },
          });
        } finally {
          await other.close();
        }
      });

      it("the data is the app's: not in the session JSON, the session list or the history", async () => {
        const marker = "secret-cart-7f3a";
        const { cookie, session } = await signIn(f, "gina", { body: { data: { marker } } });
        const seen = await send(f, "GET", "/me", { cookie });
        assert.doesNotMatch(await seen.text(), new RegExp(marker));
        const listed = await f.keeper.listSessions("gina", { includeEnded: true });
        assert.doesNotMatch(JSON.stringify(listed), new RegExp(marker));
        const events = await f.keeper.listEvents("gina");
        assert.ok(events.some((e) => e.sessionId === session.id));
        assert.doesNotMatch(JSON.stringify(events), new RegExp(marker));
        assert.doesNotMatch(
          JSON.stringify(await f.keeper.getSession(session.id)),
          new RegExp(marker),
        );
      });

      // Last: it moves the fixture's clock.
      it("a session-only sign-in ends after browserSessionIdleTimeout unused; in use, or remembered, it lasts", async () => {
        const idle = await signIn(f, "erin", { body: { rememberMe: false } });
        const busy = await signIn(f, "erin", { body: { rememberMe: false } });
        const kept = await signIn(f, "erin");
        for (let i = 0; i < 3; i++) {
          clock += 4 * MINUTE; // 12 minutes in all, past the 10-minute idle timeout
          assert.equal((await me(f, busy.cookie)).status, 200, `in use, minute ${4 * (i + 1)}`);
        }
        // Not listed as live either, and not counted against a list's limit.
        const listed = await f.keeper.listSessions("erin", { limit: 2 });
        assert.deepEqual(listed.map((x) => x.id).sort(), [busy.session.id, kept.session.id].sort());
        assert.equal((await me(f, idle.cookie)).status, 401, "unused for 12 minutes");
        assert.equal((await me(f, kept.cookie)).status, 200, "remembered: the 14-day idle timeout");
      });
    });

    describe("with secure: true", () => {
      let f: Fixture;
      before(async () => {
        f = await startFixture({ secure: true });
      });
      after(() => f.close());

      it("sets a Secure, __Host- prefixed cookie and reads it back", async () => {
        const { setCookie, cookie } = await signIn(f, "alice");
        assert.equal(setCookie.name, "__Host-sk_session");
        assert.ok(hasAttribute(setCookie, "Secure"));
        assert.ok(hasAttribute(setCookie, "HttpOnly"));
        assert.ok(setCookie.attributes.includes("Path=/"));
        assert.ok(!hasAttribute(setCookie, "Domain"), "__Host- cookies must have no Domain");
        assert.equal((await me(f, cookie)).status, 200);
        // The unprefixed name, which a sibling subdomain could set, is not read.
        assert.equal((await me(f, cookie.replace("__Host-", ""))).status, 401);
      });
    });

    describe("with trustProxy: loopback", () => {
      let f: Fixture;
      before(async () => {
        f = await startFixture({ trustProxy: "loopback" });
      });
      after(() => f.close());

      it("honours X-Forwarded-For, taking the rightmost untrusted hop", async () => {
        const first = await signIn(f, "alice", { headers: { "x-forwarded-for": "203.0.113.7" } });
        assert.equal(first.session.ip, "203.0.113.7");
        const spoofed = await signIn(f, "alice", {
          headers: { "x-forwarded-for": "6.6.6.6, 198.51.100.4, 127.0.0.1" },
        });
        assert.equal(spoofed.session.ip, "198.51.100.4");
      });

      it("believes X-Forwarded-Proto from the trusted proxy: Secure cookie", async () => {
        const { setCookie } = await signIn(f, "alice", {
          headers: { "x-forwarded-proto": "https" },
        });
        assert.equal(setCookie.name, "__Host-sk_session");
        assert.ok(hasAttribute(setCookie, "Secure"));
      });
    });

    describe("with trustProxy naming proxies this client is not", () => {
      let f: Fixture;
      before(async () => {
        f = await startFixture({ trustProxy: ["10.0.0.0/8"] });
      });
      after(() => f.close());

      it("ignores X-Forwarded-For and X-Forwarded-Proto from an untrusted peer", async () => {
        const { session, setCookie } = await signIn(f, "alice", {
          headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https" },
        });
        assert.equal(session.ip, "127.0.0.1");
        assert.equal(setCookie.name, "sk_session");
        assert.ok(!hasAttribute(setCookie, "Secure"));
      });
    });

    describe("when storage is unreachable", () => {
      let f: Fixture;
      let cookie: string;
      before(async () => {
        f = await startFixture();
        cookie = (await signIn(f, "alice")).cookie;
        // Pull the database out from under the running server.
        f.sqlite.db.close();
      });
      after(() => f.close());

      it("fails closed with 503 storage_unavailable on a request with a cookie, never 200", async () => {
        for (const [method, path] of [
          ["GET", "/me"],
          ["POST", "/signout"],
          ["POST", "/revoke"],
        ] as const) {
          const res = await send(f, method, path, {
            cookie,
            ...(method === "POST" ? { body: { id: "x" } } : {}),
          });
          assert.equal(res.status, 503, `${method} ${path}`);
          assert.deepEqual(await res.json(), { error: "storage_unavailable" });
        }
      });

      it("answers 503 when a route itself hits storage (sign-in without a cookie)", async () => {
        const res = await send(f, "POST", "/signin", { body: { userId: "alice" } });
        assert.equal(res.status, 503);
        assert.deepEqual(await res.json(), { error: "storage_unavailable" });
        assert.deepEqual(sessionCookies(res), []);
      });

      it("still serves excluded paths, which never touch storage", async () => {
        const res = await send(f, "GET", "/healthz", { cookie });
        assert.equal(res.status, 200);
        await res.text();
      });
    });

    describe("when the store answers lookups in a later turn, as network stores do", () => {
      let f: Fixture;
      before(async () => {
        f = await startFixture({}, { lookupsAnswerLater: true });
      });
      after(() => f.close());

      it("serves the session, refuses a tampered cookie, and ends revoked sessions at once", async () => {
        const alice = await signIn(f, "alice");
        const other = await signIn(f, "alice");
        const seen = await me(f, alice.cookie);
        assert.equal(seen.status, 200);
        assert.equal((seen.body as { session: { id: string } }).session.id, alice.session.id);
        const tampered = `${alice.cookie.slice(0, -1)}${alice.cookie.endsWith("A") ? "B" : "A"}`;
        assert.equal((await me(f, tampered)).status, 401);
        const revoked = await send(f, "POST", "/revoke", {
          cookie: other.cookie,
          body: { id: alice.session.id },
        });
        assert.equal(revoked.status, 204);
        assert.equal((await me(f, alice.cookie)).status, 401);
        assert.equal((await me(f, other.cookie)).status, 200);
      });

      it("fails closed with 503 once storage is gone", async () => {
        const { cookie } = await signIn(f, "bob");
        f.sqlite.db.close();
        const res = await send(f, "GET", "/me", { cookie });
        assert.equal(res.status, 503);
        assert.deepEqual(await res.json(), { error: "storage_unavailable" });
      });
    });
  });
}
