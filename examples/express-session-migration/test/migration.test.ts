import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import session from "express-session";
import { Client, UA } from "../../test-kit/client.js";
import { runExampleScenario } from "../../test-kit/scenario.js";
import { tempDatabase } from "../../test-kit/temp-db.js";
import { createApp } from "../src/app.js";

const SECRET = "the old app's secret (keep it until the move is over)";

async function listen(app: express.Express) {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// New sign-ins behave like every other example.
runExampleScenario("express-session migration (new sign-ins)", async () => {
  const db = tempDatabase("migration");
  const { app, keeper } = await createApp({
    databasePath: db.path,
    store: new session.MemoryStore(),
  });
  const running = await listen(app);
  return {
    baseUrl: running.baseUrl,
    async close() {
      await running.close();
      await keeper.close();
      db.remove();
    },
  };
});

describe("express-session migration (users signed in before the move)", () => {
  // One store shared by "the old app" (plain express-session, as before the move) and the new one.
  const store = new session.MemoryStore();
  const db = tempDatabase("migration-live");
  let oldApp: Awaited<ReturnType<typeof listen>>;
  let newApp: Awaited<ReturnType<typeof listen>>;
  let closeKeeper: () => Promise<void>;

  before(async () => {
    const old = express();
    old.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false }));
    old.post("/old-login", (req, res) => {
      req.session.userId = "u1";
      res.status(204).end();
    });
    oldApp = await listen(old);
    const { app, keeper } = await createApp({ databasePath: db.path, store });
    newApp = await listen(app);
    closeKeeper = () => keeper.close();
  });
  after(async () => {
    await oldApp.close();
    await newApp.close();
    await closeKeeper();
    db.remove();
  });

  it("moves a signed-in user to sessionkeeper on the next request, without signing them out", async () => {
    const browser = new Client(oldApp.baseUrl, UA.laptop);
    assert.equal((await browser.request("POST", "/old-login")).status, 204);
    const oldCookie = browser.cookies.get("connect.sid");
    assert.ok(oldCookie, "the old app set its cookie");

    // The same browser, same cookies, now talking to the new app.
    const moved = new Client(newApp.baseUrl, UA.laptop);
    moved.cookies.set("connect.sid", oldCookie);
    const me = await moved.request("GET", "/me");
    assert.equal(me.status, 200, "still signed in");
    assert.equal(((await me.json()) as { user: { id: string } }).user.id, "u1");
    assert.ok(moved.cookies.get("sk_session"), "a sessionkeeper cookie was issued");
    assert.equal(moved.cookies.has("connect.sid"), false, "the old cookie was cleared");

    // The new session is an ordinary one: listed on the devices API, and it works alone.
    const listed = await moved.request("GET", "/api/sessions");
    assert.equal(((await listed.json()) as { sessions: unknown[] }).sessions.length, 1);

    // The old cookie replayed (say, copied before the move) signs nobody in any more.
    const replay = new Client(newApp.baseUrl, UA.phone);
    replay.cookies.set("connect.sid", oldCookie);
    assert.equal((await replay.request("GET", "/me")).status, 401);
  });

  it("does not move a forged or unknown old cookie", async () => {
    const forged = new Client(newApp.baseUrl, UA.phone);
    forged.cookies.set("connect.sid", "s%3Aforged.signature");
    assert.equal((await forged.request("GET", "/me")).status, 401);
    assert.equal(forged.cookies.has("sk_session"), false);
  });
});
