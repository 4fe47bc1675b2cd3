// One behaviour suite for the account pages and JSON API, run against every adapter (Express,
// Web/withSessions, Hono) through a real HTTP server on 127.0.0.1 and a real SQLite file.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { LOCAL_TIME_SCRIPT } from "../../src/live/script.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import type { Location } from "../../src/types.js";
import type { AccountPagesOptions } from "../../src/ui/options.js";
import { cookieValue, type TempSqlite, tempSqlite } from "../helpers/sqlite-fixture.js";

/** What each adapter's test server must serve besides the account routes. */
export interface TestApp {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the adapter's app: sessions on every path, `POST /test/signin {userId, rememberMe?,
 * data?}` signing in with those options,
 * the pages under /account, the API under /api, and the app's own `GET /account/security`.
 */
export type StartApp = (keeper: SessionKeeper, pages: AccountPagesOptions) => Promise<TestApp>;

export const CHROME_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
export const FIREFOX_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
export const CHROME_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
export const CHROME_ANDROID =
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
export const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
/** The text of every <script> element of a page. */
function scriptsOf(page: string): string[] {
  return [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
}

const HOSTILE_UA = `"><img src=x onerror=alert(1)><script>alert('ua')</script>`;

const T0 = Date.UTC(2026, 0, 5, 14, 3);
const MINUTE = 60_000;

// The test's geolocation table: a GeoProvider is the library's plug-in point, not a client to mock.
const LOCATIONS: Record<string, Location> = {
  "203.0.113.7": { city: "Berlin", region: "Land Berlin", country: "DE" },
  "198.51.100.20": { city: "<b>Springfield</b>", region: null, country: "US" },
};

const ATTRIBUTION = { text: "IP Geolocation by DB-IP", href: "https://db-ip.com" };

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  setCookies: string[];
}

/** One HTTP request with exactly the headers given (no Origin/Sec-Fetch-* unless set). */
export function send(
  base: string,
  method: string,
  path: string,
  options: {
    cookie?: string | null;
    ua?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Send the body chunked, without a Content-Length. */
    chunked?: boolean;
  } = {},
): Promise<Reply> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.ua !== undefined) headers["user-agent"] = options.ua;
  if (options.body !== undefined && !options.chunked) {
    headers["content-length"] = String(Buffer.byteLength(options.body));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const setCookie = res.headers["set-cookie"];
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
          setCookies: Array.isArray(setCookie) ? setCookie : [],
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

interface Card {
  id: string;
  current: boolean;
  html: string;
}

/** The session cards of a devices page, in page order. */
export function sessionCards(page: string): Card[] {
  const cards: Card[] = [];
  for (const m of page.matchAll(
    /<li class="card" data-session-id="([^"]*)"( data-current)?>([\s\S]*?)<\/li>/g,
  )) {
    cards.push({ id: m[1] as string, current: m[2] !== undefined, html: m[3] as string });
  }
  return cards;
}

/** Runs every account-page and API behaviour against one adapter. */
export function accountSuite(adapter: string, startApp: StartApp): void {
  describe(`account pages and API (${adapter})`, () => {
    let sqlite: TempSqlite;
    let keeper: SessionKeeper;
    let app: TestApp;
    const clock = { now: T0 };

    before(async () => {
      sqlite = await tempSqlite("sk-ui-");
      keeper = createSessionKeeper({
        storage: sqlite.store,
        now: () => clock.now,
        // The test server sits behind "our" proxy on loopback, so X-Forwarded-For names the client.
        trustProxy: "loopback",
        geo: { lookup: (ip) => LOCATIONS[ip] ?? null },
      });
      await keeper.migrate();
      app = await startApp(keeper, {
        title: "Acme <Test>",
        signInPath: "/signin",
        locationAttribution: ATTRIBUTION,
        nav: [{ href: "/account/security", label: "Security" }],
      });
    });

    after(async () => {
      await app.close();
      await keeper.close();
      await sqlite.cleanup();
    });

    /** Signs `userId` in from a device; returns the cookie header that device would send and the session id. */
    function signIn(
      userId: string,
      ua: string,
      ip?: string,
      options: { rememberMe?: boolean; data?: Record<string, unknown> } = {},
      request: { headers?: Record<string, string>; cookie?: string } = {},
    ) {
      return signInAt(app.url, userId, ua, ip, options, request);
    }

    async function signInAt(
      url: string,
      userId: string,
      ua = FIREFOX_WINDOWS,
      ip?: string,
      options: { rememberMe?: boolean; data?: Record<string, unknown> } = {},
      request: { headers?: Record<string, string>; cookie?: string } = {},
    ): Promise<{ cookie: string; id: string; device: string }> {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        ...request.headers,
      };
      if (ip) headers["x-forwarded-for"] = ip;
      const reply = await send(url, "POST", "/test/signin", {
        ua,
        headers,
        ...(request.cookie ? { cookie: request.cookie } : {}),
        body: JSON.stringify({ userId, ...options }),
      });
      assert.equal(reply.status, 200, reply.text);
      const token = cookieValue(reply.setCookies);
      assert.ok(token, "sign-in sets the session cookie");
      return {
        cookie: `sk_session=${token}`,
        id: (JSON.parse(reply.text) as { id: string }).id,
        device: cookieValue(reply.setCookies, "sk_device") ?? "",
      };
    }

    function sessionIdsOf(page: string): string[] {
      return sessionCards(page).map((c) => c.id);
    }

    it("without signInPath, shows signed-out visitors a built-in page: never a redirect to a path the app may lack", async () => {
      const bare = await startApp(keeper, {});
      try {
        for (const [method, path] of [
          ["GET", "/account/sessions"],
          ["GET", "/account/history"],
          ["POST", "/account/sessions/revoke-others"],
        ] as const) {
          const reply = await send(bare.url, method, path);
          assert.equal(reply.status, 401, `${method} ${path}`);
          assert.equal(reply.headers.location, undefined);
          assert.match(reply.text, /<h1>Signed out<\/h1>/);
        }
        // Signing out this device from the page lands on that page too, not on "/signin".
        const me = await signInAt(bare.url, "bare-user");
        const out = await send(bare.url, "POST", `/account/sessions/${me.id}/revoke`, {
          cookie: me.cookie,
        });
        assert.equal(out.status, 303);
        assert.equal(out.headers.location, "/account/sessions");
      } finally {
        await bare.close();
      }
    });

    it("sends signed-out visitors to the sign-in page and answers the API with 401", async () => {
      const page = await send(app.url, "GET", "/account/sessions");
      assert.equal(page.status, 303);
      assert.equal(page.headers.location, "/signin?next=%2Faccount%2Fsessions");
      const history = await send(app.url, "GET", "/account/history", {
        cookie: "sk_session=forged.value",
      });
      assert.equal(history.headers.location, "/signin?next=%2Faccount%2Fhistory");
      const post = await send(app.url, "POST", "/account/sessions/revoke-others");
      assert.equal(post.status, 303);
      assert.match(String(post.headers.location), /^\/signin\?next=/);
      for (const [method, path] of [
        ["GET", "/api/sessions"],
        ["DELETE", "/api/sessions/abc"],
        ["POST", "/api/sessions/revoke-others"],
        ["GET", "/api/history"],
      ] as const) {
        const reply = await send(app.url, method, path);
        assert.equal(reply.status, 401, `${method} ${path}`);
        assert.deepEqual(JSON.parse(reply.text), { error: "unauthenticated" });
      }
    });

    it("lists each active session, marks this device, and offers Sign out only on the others", async () => {
      clock.now = T0;
      const mac = await signIn("devices-user", CHROME_MAC);
      const win = await signIn("devices-user", FIREFOX_WINDOWS);
      const phone = await signIn("devices-user", SAFARI_IPHONE);
      await signIn("someone-else", CHROME_MAC);
      clock.now = T0 + 5 * MINUTE;

      const reply = await send(app.url, "GET", "/account/sessions", { cookie: mac.cookie });
      assert.equal(reply.status, 200);
      const cards = sessionCards(reply.text);
      assert.equal(cards.length, 3, "one card per active session of this user only");
      assert.deepEqual(new Set(cards.map((c) => c.id)), new Set([mac.id, win.id, phone.id]));
      const current = cards.filter((c) => c.current);
      assert.equal(current.length, 1);
      assert.equal(current[0]?.id, mac.id);
      assert.match(current[0]?.html ?? "", /This device/);
      assert.match(current[0]?.html ?? "", /Chrome 120 on macOS 10\.15/);
      assert.match(current[0]?.html ?? "", /Active now/);
      assert.doesNotMatch(
        current[0]?.html ?? "",
        /\/revoke"/,
        "no Sign out button on this device (only its rename form)",
      );
      assert.ok(current[0]?.html.includes(`action="/account/sessions/${mac.id}/rename"`));

      const firefox = cards.find((c) => c.id === win.id)?.html ?? "";
      assert.match(firefox, /Firefox 121 on Windows 10/);
      assert.match(firefox, /Desktop/);
      assert.match(firefox, /Active 5 minutes ago/);
      assert.match(
        firefox,
        /<time datetime="2026-01-05T14:03:00\.000Z" title="Jan 5, 2026, 14:03 UTC">/,
      );
      assert.match(firefox, /Local network/, "a loopback address has no public location");
      assert.match(firefox, /127\.0\.0\.1/);
      assert.doesNotMatch(firefox, /This device/);
      assert.ok(
        firefox.includes(`<form method="post" action="/account/sessions/${win.id}/revoke">`),
      );
      assert.ok(firefox.includes(">Sign out<"));
      assert.match(
        cards.find((c) => c.id === phone.id)?.html ?? "",
        /Safari 17 on iOS 17\.2[\s\S]*Mobile/,
      );

      assert.equal(
        reply.text.match(/>Sign out</g)?.length,
        2,
        "a Sign out button on each other session",
      );
      assert.ok(reply.text.includes('action="/account/sessions/revoke-others"'));
      assert.match(reply.text, /Sign out of all other sessions/);
      assert.match(reply.text, /<h1>Your devices<\/h1>/);
      assert.ok(reply.text.includes("Acme &lt;Test&gt;"), "the app title is escaped too");
      assert.ok(
        reply.text.includes('<a href="/account/security">Security</a>'),
        "the app's nav links are shown",
      );
      assert.ok(
        reply.text.includes('href="https://db-ip.com"'),
        "the location attribution is shown",
      );
    });

    it("says which sessions last until the browser closes, and never shows session data", async () => {
      const marker = "cart-d41d8cd9";
      const kept = await signIn("remember-user", CHROME_MAC, undefined, { data: { marker } });
      const forgetful = await signIn("remember-user", FIREFOX_WINDOWS, undefined, {
        rememberMe: false,
        data: { marker },
      });
      const page = await send(app.url, "GET", "/account/sessions", { cookie: kept.cookie });
      const cards = sessionCards(page.text);
      const card = (id: string) => cards.find((c) => c.id === id)?.html ?? "";
      assert.match(card(forgetful.id), /Until the browser closes/);
      assert.doesNotMatch(card(kept.id), /Until the browser closes/);
      assert.doesNotMatch(page.text, new RegExp(marker));
      const api = await send(app.url, "GET", "/api/sessions", { cookie: kept.cookie });
      assert.equal(api.status, 200);
      const { sessions } = JSON.parse(api.text) as {
        sessions: Array<{ id: string; rememberMe: boolean }>;
      };
      assert.deepEqual(
        sessions.map((s) => [s.id, s.rememberMe]).sort(),
        [
          [forgetful.id, false],
          [kept.id, true],
        ].sort(),
      );
      assert.doesNotMatch(api.text, new RegExp(marker));
      const history = await send(app.url, "GET", "/account/history", { cookie: kept.cookie });
      assert.doesNotMatch(history.text, new RegExp(marker));
    });

    it("shows an empty state when this is the only device", async () => {
      const only = await signIn("lonely-user", CHROME_MAC);
      const reply = await send(app.url, "GET", "/account/sessions", { cookie: only.cookie });
      assert.deepEqual(sessionIdsOf(reply.text), [only.id]);
      assert.match(reply.text, /No other sessions/);
      assert.doesNotMatch(reply.text, /Sign out of all other sessions/);
    });

    it("escapes a hostile User-Agent on the devices and history pages", async () => {
      const evil = await signIn("escape-user", HOSTILE_UA);
      const me = await signIn("escape-user", CHROME_MAC);
      await keeper.recordActivity({
        type: "sign_in_blocked",
        userId: "escape-user",
        reason: `"><i>why</i><script>custom()</script>`,
      });
      for (const path of ["/account/sessions", "/account/history"]) {
        const reply = await send(app.url, "GET", path, { cookie: me.cookie });
        assert.equal(reply.status, 200);
        assert.ok(!reply.text.includes("<img"), `${path}: no raw <img>`);
        assert.deepEqual(
          scriptsOf(reply.text),
          [LOCAL_TIME_SCRIPT],
          `${path}: no <script> but the library's own`,
        );
        assert.ok(!reply.text.includes("<i>"), `${path}: no raw markup from a reason`);
        assert.ok(
          reply.text.includes(
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(&#39;ua&#39;)&lt;/script&gt;",
          ),
          `${path}: shown escaped`,
        );
      }
      const history = await send(app.url, "GET", "/account/history", { cookie: me.cookie });
      assert.ok(
        history.text.includes("&lt;script&gt;custom()&lt;/script&gt;"),
        "an unknown event type is shown escaped as-is",
      );
      assert.ok(
        history.text.includes("&quot;&gt;&lt;i&gt;why&lt;/i&gt;"),
        "an unknown reason is shown escaped as-is",
      );
      const devices = await send(app.url, "GET", "/account/sessions", { cookie: me.cookie });
      assert.ok(sessionIdsOf(devices.text).includes(evil.id));
    });

    it("sends strict security headers, and the CSP admits exactly the inline stylesheet", async () => {
      const me = await signIn("headers-user", CHROME_MAC);
      for (const path of ["/account/sessions", "/account/history"]) {
        const reply = await send(app.url, "GET", path, { cookie: me.cookie });
        assert.match(String(reply.headers["content-type"]), /^text\/html; charset=utf-8/);
        assert.equal(reply.headers["x-content-type-options"], "nosniff");
        assert.equal(reply.headers["cache-control"], "no-store");
        assert.equal(reply.headers["referrer-policy"], "no-referrer");
        assert.equal(reply.headers["x-frame-options"], "DENY");
        const csp = String(reply.headers["content-security-policy"]);
        const directives = new Map(
          csp
            .split(";")
            .map((d) => d.trim().split(/\s+/))
            .map(([k, ...v]) => [k, v.join(" ")]),
        );
        assert.equal(directives.get("default-src"), "'none'");
        assert.equal(directives.get("img-src"), "'self' data:");
        assert.equal(directives.get("form-action"), "'self'");
        assert.equal(directives.get("frame-ancestors"), "'none'");
        assert.equal(directives.get("base-uri"), "'none'");
        // The one script (local times) is admitted by its hash, and nothing else is.
        assert.ok(!csp.includes("unsafe-inline"), "no unsafe-inline");
        assert.deepEqual(scriptsOf(reply.text), [LOCAL_TIME_SCRIPT]);
        assert.equal(
          directives.get("script-src"),
          `'sha256-${createHash("sha256").update(LOCAL_TIME_SCRIPT).digest("base64")}'`,
        );
        const style = /<style>([\s\S]*?)<\/style>/.exec(reply.text)?.[1] ?? "";
        const hash = createHash("sha256").update(style).digest("base64");
        assert.equal(
          directives.get("style-src"),
          `'sha256-${hash}'`,
          "the hash matches the <style> served",
        );
        assert.doesNotMatch(reply.text, /\son[a-z]+=/i, "no inline handlers in the page");
      }
      const redirect = await send(app.url, "POST", `/account/sessions/revoke-others`, {
        cookie: me.cookie,
      });
      assert.equal(redirect.status, 303);
      assert.equal(redirect.headers["cache-control"], "no-store");
      const api = await send(app.url, "GET", "/api/sessions", { cookie: me.cookie });
      assert.equal(api.headers["cache-control"], "no-store");
      assert.equal(api.headers["x-content-type-options"], "nosniff");
    });

    it("signs a device out from the page form and confirms which one", async () => {
      const mac = await signIn("form-user", CHROME_MAC);
      const win = await signIn("form-user", FIREFOX_WINDOWS);
      const reply = await send(app.url, "POST", `/account/sessions/${win.id}/revoke`, {
        cookie: mac.cookie,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: app.url,
          "sec-fetch-site": "same-origin",
        },
        body: "",
      });
      assert.equal(reply.status, 303);
      const location = String(reply.headers.location);
      assert.equal(location, `/account/sessions?done=signed-out&session=${win.id}`);
      const page = await send(app.url, "GET", location, { cookie: mac.cookie });
      // Named exactly as its card was.
      assert.match(page.text, /role="status"><p>Signed out Firefox 121 on Windows 10\.<\/p>/);
      assert.deepEqual(sessionIdsOf(page.text), [mac.id]);
      assert.equal(
        (await send(app.url, "GET", "/api/sessions", { cookie: win.cookie })).status,
        401,
        "the signed-out device is refused",
      );

      const again = await send(app.url, "POST", `/account/sessions/${win.id}/revoke`, {
        cookie: mac.cookie,
      });
      assert.equal(again.headers.location, "/account/sessions?done=already-ended");
      const stale = await send(app.url, "GET", "/account/sessions?done=already-ended", {
        cookie: mac.cookie,
      });
      assert.match(stale.text, /That session had already ended\./);

      // A crafted link naming a live session of the user (or anyone's) says nothing.
      const crafted = await send(
        app.url,
        "GET",
        `/account/sessions?done=signed-out&session=${mac.id}`,
        { cookie: mac.cookie },
      );
      assert.doesNotMatch(crafted.text, /role="status"/);
    });

    it("revokes through the JSON API: 204, then 404; another user's id is 404 and stays signed in", async () => {
      const mac = await signIn("api-user", CHROME_MAC);
      const win = await signIn("api-user", FIREFOX_WINDOWS);
      const stranger = await signIn("api-stranger", SAFARI_IPHONE);

      const list = await send(app.url, "GET", "/api/sessions", { cookie: mac.cookie });
      assert.equal(list.status, 200);
      const sessions = (JSON.parse(list.text) as { sessions: Array<Record<string, unknown>> })
        .sessions;
      assert.deepEqual(
        sessions.map((s) => s.id),
        [mac.id, win.id],
        "current first",
      );
      assert.equal(sessions[0]?.current, true);
      assert.deepEqual(sessions[1]?.browser, { name: "Firefox", version: "121.0" });
      const token = mac.cookie.split("=")[1] as string;
      assert.ok(!list.text.includes(token.split(".")[1] as string), "never the token's secret");
      assert.ok(!list.text.includes("secretHash") && !list.text.includes("userAgent"));

      const first = await send(app.url, "DELETE", `/api/sessions/${win.id}`, {
        cookie: mac.cookie,
      });
      assert.equal(first.status, 204);
      assert.equal(first.text, "");
      const second = await send(app.url, "DELETE", `/api/sessions/${win.id}`, {
        cookie: mac.cookie,
      });
      assert.equal(second.status, 404);
      assert.deepEqual(JSON.parse(second.text), { error: "not_found" });
      const foreign = await send(app.url, "DELETE", `/api/sessions/${stranger.id}`, {
        cookie: mac.cookie,
      });
      assert.equal(foreign.status, 404);
      assert.equal(
        foreign.text,
        second.text,
        "another user's session reads exactly like an unknown one",
      );
      const unknown = await send(app.url, "DELETE", "/api/sessions/%3Cnot-an-id%3E", {
        cookie: mac.cookie,
      });
      assert.equal(unknown.status, 404);
      assert.equal(
        (await send(app.url, "GET", "/api/sessions", { cookie: stranger.cookie })).status,
        200,
      );
      assert.equal(
        (await send(app.url, "GET", "/api/sessions", { cookie: win.cookie })).status,
        401,
      );
    });

    it("renames a device through the API and the page form: the name shows on cards, notices and history", async () => {
      const mac = await signIn("name-user", CHROME_MAC);
      const win = await signIn("name-user", FIREFOX_WINDOWS);
      const stranger = await signIn("name-stranger", SAFARI_IPHONE);
      const sameSite = { origin: app.url, "sec-fetch-site": "same-origin" };
      const patch = (id: string, body: string, cookie = mac.cookie) =>
        send(app.url, "PATCH", `/api/sessions/${id}`, {
          cookie,
          headers: { "content-type": "application/json", ...sameSite },
          body,
        });
      const named = await patch(win.id, JSON.stringify({ name: "  Work laptop  " }));
      assert.equal(named.status, 200, named.text);
      const { session } = JSON.parse(named.text) as { session: Record<string, unknown> };
      assert.deepEqual([session.id, session.name, session.current], [win.id, "Work laptop", false]);
      assert.equal(session.secretHash, undefined);
      const listed = JSON.parse(
        (await send(app.url, "GET", "/api/sessions", { cookie: mac.cookie })).text,
      ) as { sessions: Array<{ id: string; name: string | null }> };
      assert.deepEqual(
        Object.fromEntries(listed.sessions.map((s) => [s.id, s.name])),
        { [mac.id]: null, [win.id]: "Work laptop" },
        "Session JSON carries name",
      );

      // Malformed names: 400, nothing changed.
      for (const body of [
        JSON.stringify({ name: "x".repeat(65) }),
        JSON.stringify({ name: "two\nlines" }),
        JSON.stringify({ name: "evil\u202ename" }),
        JSON.stringify({ name: 5 }),
        JSON.stringify({}),
        JSON.stringify(["Work laptop"]),
      ]) {
        const reply = await patch(win.id, body);
        assert.equal(reply.status, 400, body);
        assert.equal((JSON.parse(reply.text) as { error: string }).error, "invalid_name", body);
      }
      assert.equal((await patch(win.id, "{not json")).status, 400);
      // Another user's session reads like an unknown one: 404, and it keeps its (absent) name.
      assert.equal((await patch(stranger.id, JSON.stringify({ name: "Mine now" }))).status, 404);
      assert.equal((await patch("no-such-id", JSON.stringify({ name: "x" }))).status, 404);
      const theirs = JSON.parse(
        (await send(app.url, "GET", "/api/sessions", { cookie: stranger.cookie })).text,
      ) as { sessions: Array<{ name: string | null }> };
      assert.equal(theirs.sessions[0]?.name, null);
      // Cross-site: refused before anything changes.
      const cross = await send(app.url, "PATCH", `/api/sessions/${win.id}`, {
        cookie: mac.cookie,
        headers: {
          "content-type": "application/json",
          origin: "https://evil.example",
          "sec-fetch-site": "cross-site",
        },
        body: JSON.stringify({ name: "Evil" }),
      });
      assert.equal(cross.status, 403);

      // The page form (no script): the current device gets a name; it is escaped everywhere.
      const form = (id: string, body: string) =>
        send(app.url, "POST", `/account/sessions/${id}/rename`, {
          cookie: mac.cookie,
          headers: { "content-type": "application/x-www-form-urlencoded", ...sameSite },
          body,
        });
      const renamed = await form(mac.id, "name=Home+%3Cdesk%3E");
      assert.equal(renamed.status, 303);
      assert.equal(renamed.headers.location, `/account/sessions?done=renamed&session=${mac.id}`);
      const page = await send(app.url, "GET", String(renamed.headers.location), {
        cookie: mac.cookie,
      });
      assert.match(
        page.text,
        /role="status"><p>Renamed to Home &lt;desk&gt; \(Chrome 120 on macOS 10\.15\)\.<\/p>/,
      );
      assert.doesNotMatch(page.text, /<desk>/);
      const cards = sessionCards(page.text);
      const winCard = cards.find((c) => c.id === win.id)?.html ?? "";
      assert.match(winCard, /Work laptop \(Firefox 121 on Windows 10\)/);
      assert.match(winCard, /value="Work laptop"/);
      const refused = await form(win.id, "name=two%0Alines");
      assert.equal(refused.headers.location, "/account/sessions?done=rename-refused");

      // A sign-out names the device as its card did, and the history names both.
      const revoked = await send(app.url, "POST", `/account/sessions/${win.id}/revoke`, {
        cookie: mac.cookie,
        headers: { "content-type": "application/x-www-form-urlencoded", ...sameSite },
        body: "",
      });
      const after = await send(app.url, "GET", String(revoked.headers.location), {
        cookie: mac.cookie,
      });
      assert.match(after.text, /Signed out Work laptop \(Firefox 121 on Windows 10\)\./);
      const history = await send(app.url, "GET", "/account/history", { cookie: mac.cookie });
      assert.match(history.text, /Signed in from Work laptop \(Firefox 121 on Windows 10\)/);
      assert.match(history.text, /Home &lt;desk&gt; \(Chrome 120 on macOS 10\.15\)/);
      // An ended session can no longer be renamed.
      assert.equal((await patch(win.id, JSON.stringify({ name: "Again" }))).status, 404);
      // An empty name clears it.
      const cleared = await patch(mac.id, JSON.stringify({ name: "" }));
      assert.equal((JSON.parse(cleared.text) as { session: { name: null } }).session.name, null);
    });

    it("names a device from its client hints at sign-in, and every page asks for them", async () => {
      const windows11 = await signIn(
        "hints-user",
        CHROME_WINDOWS,
        undefined,
        {},
        {
          headers: {
            "sec-ch-ua-platform": '"Windows"',
            "sec-ch-ua-platform-version": '"15.0.0"',
            "sec-ch-ua-full-version-list":
              '"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"',
          },
        },
      );
      const pixel = await signIn(
        "hints-user",
        CHROME_ANDROID,
        undefined,
        {},
        {
          headers: {
            "sec-ch-ua-platform": '"Android"',
            "sec-ch-ua-platform-version": '"14.0.0"',
            "sec-ch-ua-model": '"Pixel 8"',
          },
        },
      );
      // Hostile hints change nothing: the User-Agent's words stand.
      const junk = await signIn(
        "hints-user",
        CHROME_WINDOWS,
        undefined,
        {},
        {
          headers: {
            "sec-ch-ua-platform": "Windows",
            "sec-ch-ua-platform-version": '"15.0.0',
            "sec-ch-ua-model": `"${"x".repeat(400)}"`,
            "sec-ch-ua-full-version-list": '"<b>";v=1,',
          },
        },
      );
      const page = await send(app.url, "GET", "/account/sessions", { cookie: windows11.cookie });
      assert.equal(
        page.headers["accept-ch"],
        "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, Sec-CH-UA-Full-Version-List",
      );
      const cards = sessionCards(page.text);
      const title = (id: string) =>
        /<h3 class="title"[^>]*>([^<]*)/
          .exec(cards.find((c) => c.id === id)?.html ?? "")?.[1]
          ?.trim();
      assert.equal(title(windows11.id), "Chrome 131 on Windows 11");
      assert.equal(title(pixel.id), "Chrome 131 on Pixel 8");
      assert.equal(title(junk.id), "Chrome 131 on Windows 10");
      const json = JSON.parse(
        (await send(app.url, "GET", "/api/sessions", { cookie: windows11.cookie })).text,
      ) as {
        sessions: Array<{
          id: string;
          browser: { version: string };
          os: { version: string };
          device: { model: string | null };
        }>;
      };
      const win = json.sessions.find((s) => s.id === windows11.id);
      assert.deepEqual([win?.browser.version, win?.os.version], ["131.0.6778.86", "11"]);
      assert.equal(json.sessions.find((s) => s.id === pixel.id)?.device.model, "Pixel 8");
    });

    it("ties one browser's sign-ins by its device cookie: 'signed in 3 times since January 2026'", async () => {
      clock.now = T0;
      const first = await signIn("count-user", CHROME_MAC);
      assert.match(first.device, /^[A-Za-z0-9_-]{43}$/);
      clock.now = T0 + 40 * 86_400_000;
      const second = await signIn(
        "count-user",
        CHROME_MAC,
        undefined,
        {},
        {
          cookie: `sk_device=${first.device}`,
        },
      );
      assert.equal(second.device, first.device, "a browser that signed in before keeps its id");
      const third = await signIn(
        "count-user",
        CHROME_MAC,
        undefined,
        {},
        {
          cookie: `${second.cookie}; sk_device=${second.device}`,
        },
      );
      assert.equal(third.device, first.device);
      const page = await send(app.url, "GET", "/account/sessions", {
        cookie: `${third.cookie}; sk_device=${third.device}`,
      });
      const current = sessionCards(page.text).find((c) => c.current)?.html ?? "";
      assert.match(current, /This browser has signed in 3 times since January 2026\./);
      // Never adopted: a made-up value, or another account's device, gets a new id.
      const planted = "P".repeat(43);
      const fresh = await signIn(
        "count-user",
        CHROME_MAC,
        undefined,
        {},
        {
          cookie: `sk_device=${planted}`,
        },
      );
      assert.notEqual(fresh.device, planted);
      const other = await signIn(
        "count-other",
        CHROME_MAC,
        undefined,
        {},
        {
          cookie: `sk_device=${first.device}`,
        },
      );
      assert.notEqual(other.device, first.device);
      // A first sign-in says nothing of counts.
      const once = await send(app.url, "GET", "/account/sessions", { cookie: other.cookie });
      assert.doesNotMatch(once.text, /This browser has signed in/);
      clock.now = T0;
    });

    it("signs out of every other session and says how many, from the page and the API", async () => {
      const a = await signIn("others-user", CHROME_MAC);
      await signIn("others-user", FIREFOX_WINDOWS);
      await signIn("others-user", SAFARI_IPHONE);
      const bystander = await signIn("others-bystander", CHROME_MAC);
      // The devices page's button opens a page that asks first, naming each device; nothing ends.
      const devices = await send(app.url, "GET", "/account/sessions", { cookie: a.cookie });
      assert.match(
        devices.text,
        /<form method="get" action="\/account\/sessions\/revoke-others" data-sk-confirm="sk-confirm-others"><button type="submit" class="danger">Sign out of all other sessions/,
      );
      const ask = await send(app.url, "GET", "/account/sessions/revoke-others", {
        cookie: a.cookie,
      });
      assert.equal(ask.status, 200);
      assert.match(ask.text, /<h1>Sign out of all other sessions\?<\/h1>/);
      assert.match(ask.text, /Firefox 121 on Windows 10/);
      assert.match(ask.text, /Safari 17 on iOS 17\.2/);
      assert.equal(sessionIdsOf(ask.text).length, 2, "the two other devices, not this one");
      assert.match(
        ask.text,
        /<form method="post" action="\/account\/sessions\/revoke-others"><button type="submit" class="danger">Sign out of 2 other sessions<\/button>/,
      );
      assert.equal(
        (await send(app.url, "GET", "/api/sessions", { cookie: a.cookie })).text.match(/"id"/g)
          ?.length,
        3,
        "asking ended nothing",
      );
      const reply = await send(app.url, "POST", "/account/sessions/revoke-others", {
        cookie: a.cookie,
      });
      assert.equal(reply.status, 303);
      assert.equal(reply.headers.location, "/account/sessions?done=signed-out-others&count=2");
      const page = await send(app.url, "GET", String(reply.headers.location), { cookie: a.cookie });
      assert.match(page.text, /Signed out 2 other sessions\./);
      assert.deepEqual(sessionIdsOf(page.text), [a.id]);

      await signIn("others-user", FIREFOX_WINDOWS);
      const api = await send(app.url, "POST", "/api/sessions/revoke-others", { cookie: a.cookie });
      assert.equal(api.status, 200);
      assert.deepEqual(JSON.parse(api.text), { revoked: 1 });
      const none = await send(app.url, "POST", "/api/sessions/revoke-others", { cookie: a.cookie });
      assert.deepEqual(JSON.parse(none.text), { revoked: 0 });
      assert.equal(
        (await send(app.url, "GET", "/api/sessions", { cookie: bystander.cookie })).status,
        200,
        "other users untouched",
      );
    });

    it("shows the history as entries: a sign-in with its story, failures folded, newest first", async () => {
      clock.now = T0 + 60 * MINUTE;
      const mac = await signIn("history-user", CHROME_MAC);
      clock.now += MINUTE;
      const win = await signIn("history-user", FIREFOX_WINDOWS);
      clock.now += MINUTE;
      await send(app.url, "DELETE", `/api/sessions/${win.id}`, {
        cookie: mac.cookie,
        ua: CHROME_MAC,
      });
      for (let i = 0; i < 3; i++) {
        clock.now += 10_000;
        await keeper.recordActivity({
          type: "sign_in_failed",
          userId: "history-user",
          reason: "invalid_credentials",
        });
      }

      const api = await send(app.url, "GET", "/api/history", { cookie: mac.cookie });
      type Entry = {
        kind: string;
        type: string;
        reason: string | null;
        count: number;
        createdAt: string;
        firstAt: string;
        lastAt: string;
        sessionId: string | null;
        timeline: Array<{ type: string; reason: string | null; createdAt: string }>;
      };
      const body = JSON.parse(api.text) as { events: Entry[]; nextCursor: string | null };
      assert.deepEqual(
        body.events.map((e) => [e.kind, e.type, e.count]),
        [
          ["failures", "sign_in_failed", 3],
          ["sign_in", "sign_in", 1],
          ["sign_in", "sign_in", 1],
        ],
      );
      assert.equal(body.nextCursor, null, "one page holds it all");
      const [failures, winEntry] = body.events as [Entry, Entry];
      assert.equal(Date.parse(failures.lastAt) - Date.parse(failures.firstAt), 20_000);
      assert.equal(winEntry.sessionId, win.id);
      assert.deepEqual(
        winEntry.timeline.map((e) => [e.type, e.reason]),
        [
          ["sign_in", null],
          ["session_revoked", "revoked_by_user"],
        ],
        "the revocation is in the story of the session it ended",
      );
      assert.equal(winEntry.lastAt, winEntry.timeline[1]?.createdAt);

      const page = await send(app.url, "GET", "/account/history", { cookie: mac.cookie });
      assert.equal(page.status, 200);
      const order = [...page.text.matchAll(/data-entry="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(order, ["failures", "sign_in", "sign_in"]);
      assert.match(page.text, /3 failed attempts from a device<\/h2>/);
      assert.match(page.text, /at <time[^>]*data-clock>15:05 UTC<\/time> · Wrong password/);
      const cards = page.text.split('<li class="card"').slice(1);
      const story = cards.find((card) => card.includes("Signed in from Firefox")) ?? "";
      assert.match(story, /Signed in from Firefox 121 on Windows 10/);
      assert.match(
        story,
        /Signed out from Chrome on macOS<\/span>/,
        "names the device that ended it",
      );
      assert.match(page.text, /aria-current="page">Login history</);
      assert.match(
        page.text,
        /<nav class="filters" aria-label="Show"><a href="\/account\/history" aria-current="page">All activity<\/a>/,
      );
      assert.equal(
        cards.filter((h) => h.includes("This device")).length,
        1,
        "this device's sign-in is marked",
      );
      assert.ok(cards[2]?.includes("This device"), "on the Mac's own sign-in");
    });

    it("pages the history with an opaque cursor and filters it, in the API and the page", async () => {
      clock.now = T0 + 200 * MINUTE;
      const me = await signIn("pager-user", CHROME_MAC);
      for (let i = 0; i < 4; i++) {
        clock.now += MINUTE;
        await signIn("pager-user", FIREFOX_WINDOWS);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 10; i++) {
        const path: string = `/api/history?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
        const res = await send(app.url, "GET", path, { cookie: me.cookie });
        assert.equal(res.status, 200);
        const body = JSON.parse(res.text) as {
          events: Array<{ id: string }>;
          nextCursor: string | null;
        };
        seen.push(...body.events.map((e) => e.id));
        cursor = body.nextCursor;
        if (!cursor) break;
        assert.match(cursor, /^[A-Za-z0-9_-]+$/, "opaque and URL-safe");
      }
      assert.equal(seen.length, 5, "three pages, every sign-in once");
      assert.equal(new Set(seen).size, 5);

      const page = await send(app.url, "GET", "/account/history?limit=2&type=sign_ins", {
        cookie: me.cookie,
      });
      assert.equal(page.status, 200);
      assert.match(page.text, /aria-current="page">Sign-ins<\/a>/);
      const next = /<a rel="next" href="([^"]+)">Older activity<\/a>/.exec(page.text)?.[1];
      assert.ok(next?.startsWith("/account/history?type=sign_ins&amp;cursor="), String(next));
      const second = await send(app.url, "GET", String(next).replaceAll("&amp;", "&"), {
        cookie: me.cookie,
      });
      assert.equal(second.status, 200);
      assert.match(second.text, /<a href="\/account\/history\?type=sign_ins">Newest activity<\/a>/);
      const failures = await send(app.url, "GET", "/api/history?type=failures", {
        cookie: me.cookie,
      });
      assert.deepEqual(JSON.parse(failures.text), { events: [], nextCursor: null });
    });

    it("answers a hostile cursor, filter or limit with 400, never 500", async () => {
      const me = await signIn("hostile-history", CHROME_MAC);
      const forged = Buffer.from("1.a b").toString("base64url");
      const cases: Array<[string, string]> = [
        ["cursor=abc", "invalid_cursor"],
        ["cursor=%00%27%22", "invalid_cursor"],
        [`cursor=${"A".repeat(300)}`, "invalid_cursor"],
        [`cursor=${forged}`, "invalid_cursor"],
        [`cursor=${Buffer.from("99999999999999999.abc").toString("base64url")}`, "invalid_cursor"],
        [`cursor=${Buffer.from("-1.abc").toString("base64url")}`, "invalid_cursor"],
        ["type=everything", "invalid_type"],
        ["limit=0", "invalid_limit"],
        ["limit=-5", "invalid_limit"],
        ["limit=1e3", "invalid_limit"],
      ];
      for (const [query, error] of cases) {
        const api = await send(app.url, "GET", `/api/history?${query}`, { cookie: me.cookie });
        assert.equal(api.status, 400, query);
        assert.deepEqual(JSON.parse(api.text), { error }, query);
        const page = await send(app.url, "GET", `/account/history?${query}`, { cookie: me.cookie });
        assert.equal(page.status, 400, query);
        assert.match(page.text, /That page of your history does not exist/);
      }
      // A long limit is only capped.
      const capped = await send(app.url, "GET", "/api/history?limit=5000", { cookie: me.cookie });
      assert.equal(capped.status, 200);
    });

    it("describes locations: city, region and country; Unknown; the attribution beside them", async () => {
      const berlin = await signIn("geo-user", CHROME_MAC, "203.0.113.7");
      const nowhere = await signIn("geo-user", FIREFOX_WINDOWS, "192.0.2.55");
      const marked = await signIn("geo-user", SAFARI_IPHONE, "198.51.100.20");
      // Page requests come from the same client address, so no IP change moves the session.
      const from = { "x-forwarded-for": "203.0.113.7" };
      const page = await send(app.url, "GET", "/account/sessions", {
        cookie: berlin.cookie,
        headers: from,
      });
      const cards = new Map(sessionCards(page.text).map((c) => [c.id, c.html]));
      assert.match(cards.get(berlin.id) ?? "", /Berlin, Land Berlin, Germany/);
      assert.match(cards.get(berlin.id) ?? "", /203\.0\.113\.7/);
      assert.match(cards.get(nowhere.id) ?? "", /<dt>Location<\/dt><dd>Unknown<\/dd>/);
      assert.match(cards.get(marked.id) ?? "", /&lt;b&gt;Springfield&lt;\/b&gt;, United States/);
      assert.match(
        page.text,
        /<a href="https:\/\/db-ip\.com" rel="noopener">IP Geolocation by DB-IP<\/a>/,
      );
      const history = await send(app.url, "GET", "/account/history", {
        cookie: berlin.cookie,
        headers: from,
      });
      assert.match(history.text, /Berlin, Land Berlin, Germany/);
      assert.match(history.text, /IP Geolocation by DB-IP/);
    });

    it("refuses cross-origin POST and DELETE before anything is ended", async () => {
      const mac = await signIn("csrf-user", CHROME_MAC);
      const win = await signIn("csrf-user", FIREFOX_WINDOWS);
      const evil = {
        origin: "https://evil.example",
        "sec-fetch-site": "cross-site",
        "content-type": "application/x-www-form-urlencoded",
      };
      for (const [method, path] of [
        ["POST", "/account/sessions/revoke-others"],
        ["POST", `/account/sessions/${win.id}/revoke`],
        ["DELETE", `/api/sessions/${win.id}`],
        ["POST", "/api/sessions/revoke-others"],
      ] as const) {
        const reply = await send(app.url, method, path, {
          cookie: mac.cookie,
          headers: evil,
          body: "",
        });
        assert.equal(reply.status, 403, `${method} ${path}`);
      }
      const noFetchMetadata = await send(app.url, "POST", "/account/sessions/revoke-others", {
        cookie: mac.cookie,
        headers: { origin: "https://evil.example" },
      });
      assert.equal(noFetchMetadata.status, 403);
      const list = await send(app.url, "GET", "/api/sessions", { cookie: mac.cookie });
      assert.equal(
        (JSON.parse(list.text) as { sessions: unknown[] }).sessions.length,
        2,
        "nothing was signed out",
      );
    });

    it("leaves other paths to the app and refuses an oversized form", async () => {
      const me = await signIn("misc-user", CHROME_MAC);
      const own = await send(app.url, "GET", "/account/security", { cookie: me.cookie });
      assert.equal(own.status, 200);
      assert.equal(own.text, "app security page");
      const big = await send(app.url, "POST", "/account/sessions/revoke-others", {
        cookie: me.cookie,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `x=${"a".repeat(17 * 1024)}`,
      });
      assert.equal(big.status, 413);
      const streamed = await send(app.url, "POST", "/account/sessions/revoke-others", {
        cookie: me.cookie,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `x=${"a".repeat(17 * 1024)}`,
        chunked: true,
      });
      assert.equal(streamed.status, 413, "a chunked body is cut off at the bound too");
      const small = await send(app.url, "POST", "/account/sessions/revoke-others", {
        cookie: me.cookie,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "confirm=1",
        chunked: true,
      });
      assert.equal(small.status, 303);
      const head = await send(app.url, "HEAD", "/account/sessions", { cookie: me.cookie });
      assert.equal(head.status, 200);
      assert.equal(head.text, "");
    });

    it("ending the requesting session through the API signs it out and clears the cookie", async () => {
      const me = await signIn("self-user", CHROME_MAC);
      const reply = await send(app.url, "DELETE", `/api/sessions/${me.id}`, { cookie: me.cookie });
      assert.equal(reply.status, 204);
      assert.ok(
        reply.setCookies.some((c) => /^sk_session=;/.test(c) && /Max-Age=0/i.test(c)),
        "the cookie is cleared",
      );
      assert.equal(
        (await send(app.url, "GET", "/api/sessions", { cookie: me.cookie })).status,
        401,
      );
      const page = await signIn("self-user", FIREFOX_WINDOWS);
      const form = await send(app.url, "POST", `/account/sessions/${page.id}/revoke`, {
        cookie: page.cookie,
      });
      assert.equal(form.status, 303);
      assert.equal(form.headers.location, "/signin");
      assert.ok(form.setCookies.some((c) => /^sk_session=;/.test(c)));
    });
  });
}
