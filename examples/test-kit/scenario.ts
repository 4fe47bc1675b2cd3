import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, UA } from "./client.js";

/** A running example: its base URL and how to stop it (and remove its database). */
export interface RunningExample {
  baseUrl: string;
  close(): Promise<void>;
}

/** Every example signs in this user (kept in its own src/users.ts). */
export const ANN = { email: "ann@example.com", password: "correct horse battery staple" };

/**
 * The behaviour every example must show over real HTTP, in one shape: `POST /login
 * {email, password}` → 200 `{session}` or 401; `GET /me` → 200 `{user, session}` or 401; the
 * devices page at `/account/sessions`; `GET /api/sessions`; `DELETE /api/sessions/:id` → 204.
 * One browser signs in, a second one ends its session, and the first is refused from then on.
 * `more` registers an example's own tests on the same running app.
 */
export function runExampleScenario(
  name: string,
  start: () => Promise<RunningExample>,
  more?: (app: () => RunningExample) => void,
): void {
  describe(`${name} example`, () => {
    let app: RunningExample;
    let laptop: Client;
    let phone: Client;
    let laptopSessionId = "";

    before(async () => {
      app = await start();
      laptop = new Client(app.baseUrl, UA.laptop);
      phone = new Client(app.baseUrl, UA.phone);
    });
    after(() => app?.close());

    it("refuses a visitor without a session and a wrong password", async () => {
      assert.equal((await laptop.request("GET", "/me")).status, 401);
      const wrong = await laptop.request("POST", "/login", { ...ANN, password: "wrong" });
      assert.equal(wrong.status, 401);
      assert.equal(laptop.cookies.size, 0, "no cookie for a failed sign-in");
    });

    it("signs in over HTTP with an HttpOnly cookie and sees the session", async () => {
      const res = await laptop.request("POST", "/login", ANN);
      assert.equal(res.status, 200);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith("sk_session="));
      assert.ok(cookie, "a session cookie is set");
      assert.match(cookie, /HttpOnly/i);
      const body = (await res.json()) as { session: { id: string } };
      // The token travels only in the cookie, never in the body.
      assert.ok(!JSON.stringify(body).includes(String(laptop.cookies.get("sk_session"))));
      laptopSessionId = body.session.id;

      const me = await laptop.request("GET", "/me");
      assert.equal(me.status, 200);
      const seen = (await me.json()) as { user: { email: string }; session: { id: string } };
      assert.equal(seen.user.email, ANN.email);
      assert.equal(seen.session.id, laptopSessionId);
    });

    it("shows the devices page to the signed-in user, marking this device", async () => {
      const page = await laptop.request("GET", "/account/sessions");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      const html = await page.text();
      assert.match(html, new RegExp(`data-session-id="${laptopSessionId}"[^>]*data-current`));
    });

    it("lets a second device list both sessions and end the first", async () => {
      assert.equal((await phone.request("POST", "/login", ANN)).status, 200);
      const listed = await phone.request("GET", "/api/sessions");
      assert.equal(listed.status, 200);
      const { sessions } = (await listed.json()) as {
        sessions: Array<{ id: string; current: boolean }>;
      };
      assert.equal(sessions.length, 2);
      assert.ok(sessions.some((s) => s.id === laptopSessionId && !s.current));

      const revoked = await phone.request("DELETE", `/api/sessions/${laptopSessionId}`);
      assert.equal(revoked.status, 204);
    });

    it("refuses the ended session on its next request, and keeps the other", async () => {
      assert.equal((await laptop.request("GET", "/me")).status, 401);
      const page = await laptop.request("GET", "/account/sessions");
      assert.notEqual(page.status, 200, "the devices page is not shown to an ended session");
      assert.equal((await phone.request("GET", "/me")).status, 200);
    });

    it("refuses a cross-site sign-in (the origin check)", async () => {
      const res = await fetch(`${app.baseUrl}/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://evil.example" },
        body: JSON.stringify(ANN),
      });
      assert.equal(res.status, 403);
    });

    // An example's own checks, run against the same app before it stops.
    more?.(() => app);
  });
}
