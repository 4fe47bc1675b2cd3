// Sign-in alerts, the session cap and impossible travel, end to end over HTTP with real SMTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GeoProvider } from "../../src/geo/provider.js";
import {
  Client,
  eventRows,
  readMail,
  type Smtp,
  sessionRow,
  startApp,
  startSmtp,
  type TestApp,
} from "./harness.js";

const PASSWORD = "correct horse battery staple";
const HOSTILE_UA = `"><img src=x onerror=alert(1)><script>alert(2)</script>`;

function sessionIdOf(client: Client): string {
  return (client.cookie("sk_session") as string).split(".")[0] as string;
}

describe("sign-in alerts (verification off, alerts new-device)", () => {
  let smtp: Smtp;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({ smtp, guard: { verification: "off", alerts: "new-device" } });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it("mails an alert for a new device, with a hostile User-Agent escaped in the HTML part", async () => {
    app.addUser("ann@example.test", PASSWORD);
    const client = new Client(app.url, { userAgent: HOSTILE_UA });
    const mails = smtp.inbox.length;
    assert.equal(
      (await client.post("/api/signin", { email: "ann@example.test", password: PASSWORD })).status,
      200,
    );
    assert.equal(smtp.inbox.length, mails + 1);
    const mail = smtp.last();
    assert.match(mail.subject ?? "", /New sign-in to Test App from a new device/);
    const html = mail.html;
    assert.ok(typeof html === "string");
    assert.ok(!html.includes("<script>alert(2)"), "no script element from the User-Agent");
    assert.ok(!html.includes("<img src=x"), "no img element from the User-Agent");
    assert.ok(
      html.includes("&lt;script&gt;alert(2)&lt;/script&gt;"),
      "the User-Agent is shown, escaped",
    );
    assert.ok(html.includes("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert.ok((mail.text ?? "").includes(HOSTILE_UA), "the text part shows it as plain text");
    assert.match(mail.text ?? "", /IP address: 127\.0\.0\.1/);

    // The not-me page for that alert escapes it as well.
    const { notMeToken } = readMail(mail);
    const page = await new Client(app.url).get(
      `/signin/not-me?token=${encodeURIComponent(notMeToken as string)}`,
    );
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes("<script>alert(2)"));
    assert.ok(page.text.includes("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert.match(page.headers["content-security-policy"] as string, /default-src 'none'/);

    const events = eventRows(app.sqlite).filter((e) => e.session_id === sessionIdOf(client));
    assert.ok(events.some((e) => e.type === "alert_sent" && e.reason === "new_device"));
  });

  it("the alert's 'this wasn't me' link ends that active session as locked_out (not_me)", async () => {
    app.addUser("bob@example.test", PASSWORD);
    const client = new Client(app.url);
    assert.equal(
      (await client.post("/api/signin", { email: "bob@example.test", password: PASSWORD })).status,
      200,
    );
    assert.equal((await client.get("/api/me")).status, 200);
    const { notMeToken } = readMail(smtp.last());
    assert.ok(notMeToken);

    const reader = new Client(app.url, { localAddress: "127.0.0.7" });
    assert.equal(
      (await reader.get(`/signin/not-me?token=${encodeURIComponent(notMeToken)}`)).status,
      200,
    );
    assert.equal((await client.get("/api/me")).status, 200, "a GET ended nothing");
    assert.equal((await reader.postForm("/signin/not-me", { token: notMeToken })).status, 200);
    assert.equal((await client.get("/api/me")).status, 401, "that session is refused at once");
    assert.deepEqual(sessionRow(app.sqlite, sessionIdOf(client)), {
      status: "locked_out",
      end_reason: "not_me",
    });
    assert.equal(
      (await reader.postForm("/signin/not-me", { token: notMeToken })).status,
      400,
      "works once",
    );
    assert.equal(
      (await reader.postForm("/signin/not-me", { token: `${notMeToken.slice(0, -1)}A` })).status,
      400,
      "a forged token does nothing",
    );
  });

  it("a known device signs in without an alert (default policy)", async () => {
    app.addUser("cat@example.test", PASSWORD);
    const client = new Client(app.url);
    assert.equal(
      (await client.post("/api/signin", { email: "cat@example.test", password: PASSWORD })).status,
      200,
    );
    const mails = smtp.inbox.length;
    assert.equal(
      (await client.post("/api/signin", { email: "cat@example.test", password: PASSWORD })).status,
      200,
    );
    assert.equal(smtp.inbox.length, mails);
  });
});

describe("alert policies every and off", () => {
  let smtp: Smtp;
  let every: TestApp;
  let off: TestApp;

  before(async () => {
    smtp = await startSmtp();
    every = await startApp({ smtp, guard: { alerts: "every" } });
    off = await startApp({ smtp, guard: { alerts: "off" } });
  });
  after(async () => {
    await every.close();
    await off.close();
    await smtp.close();
  });

  it("every: a known device is alerted too; off: nobody is", async () => {
    every.addUser("dan@example.test", PASSWORD);
    off.addUser("dan@example.test", PASSWORD);
    const a = new Client(every.url);
    const b = new Client(off.url);
    const start = smtp.inbox.length;
    for (let i = 0; i < 2; i++) {
      assert.equal(
        (await a.post("/api/signin", { email: "dan@example.test", password: PASSWORD })).status,
        200,
      );
      assert.equal(
        (await b.post("/api/signin", { email: "dan@example.test", password: PASSWORD })).status,
        200,
      );
    }
    assert.deepEqual(
      smtp.inbox.slice(start).map((m) => m.subject),
      ["New sign-in to Test App from a new device", "New sign-in to Test App"],
    );
  });
});

describe("session cap", () => {
  let smtp: Smtp;
  let oldest: TestApp;
  let refuse: TestApp;

  before(async () => {
    smtp = await startSmtp();
    oldest = await startApp({
      smtp,
      guard: { alerts: "off", sessionLimit: { max: 2, onLimit: "end-oldest" } },
    });
    refuse = await startApp({
      smtp,
      guard: { alerts: "off", sessionLimit: { max: 2, onLimit: "refuse" } },
    });
  });
  after(async () => {
    await oldest.close();
    await refuse.close();
    await smtp.close();
  });

  it("end-oldest: the third sign-in ends the oldest session (reason session_limit)", async () => {
    oldest.addUser("eve@example.test", PASSWORD);
    const clients = [new Client(oldest.url), new Client(oldest.url), new Client(oldest.url)];
    for (const client of clients) {
      assert.equal(
        (await client.post("/api/signin", { email: "eve@example.test", password: PASSWORD }))
          .status,
        200,
      );
      oldest.clock.advance(1000);
    }
    const [first, second, third] = clients as [Client, Client, Client];
    assert.equal((await first.get("/api/me")).status, 401);
    assert.deepEqual(sessionRow(oldest.sqlite, sessionIdOf(first)), {
      status: "revoked",
      end_reason: "session_limit",
    });
    assert.equal((await second.get("/api/me")).status, 200);
    assert.equal((await third.get("/api/me")).status, 200);
  });

  it("refuse: the third sign-in is refused with 403 session_limit and recorded", async () => {
    refuse.addUser("fay@example.test", PASSWORD);
    const clients = [new Client(refuse.url), new Client(refuse.url), new Client(refuse.url)];
    const statuses = [];
    for (const client of clients)
      statuses.push(
        (await client.post("/api/signin", { email: "fay@example.test", password: PASSWORD }))
          .status,
      );
    assert.deepEqual(statuses, [200, 200, 403]);
    const third = await (clients[2] as Client).post("/api/signin", {
      email: "fay@example.test",
      password: PASSWORD,
    });
    assert.deepEqual(third.json, { error: "session_limit" });
    assert.equal((clients[2] as Client).cookie("sk_session"), undefined);
    assert.ok(
      eventRows(refuse.sqlite).some(
        (e) => e.type === "sign_in_blocked" && e.reason === "session_limit",
      ),
    );
  });
});

describe("impossible travel", () => {
  let smtp: Smtp;
  let app: TestApp;
  // Each loopback address stands for a city, with coordinates.
  const places: Record<
    string,
    { city: string; country: string; latitude: number; longitude: number }
  > = {
    "127.0.0.2": { city: "Paris", country: "FR", latitude: 48.8566, longitude: 2.3522 },
    "127.0.0.3": { city: "New York", country: "US", latitude: 40.7128, longitude: -74.006 },
    "127.0.0.4": { city: "Versailles", country: "FR", latitude: 48.8049, longitude: 2.1204 },
  };
  const geo: GeoProvider = {
    lookup: (ip) => {
      const place = places[ip];
      return place
        ? {
            city: place.city,
            region: null,
            country: place.country,
            latitude: place.latitude,
            longitude: place.longitude,
          }
        : null;
    },
  };

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({
      smtp,
      keeper: { geo },
      guard: { verification: "new-device", impossibleTravel: { maxKmh: 1000 } },
    });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it("treats a known device that moved too fast as new, and records it", async () => {
    app.addUser("gil@example.test", PASSWORD);
    const paris = new Client(app.url, { localAddress: "127.0.0.2" });
    assert.equal(
      (await paris.post("/api/signin", { email: "gil@example.test", password: PASSWORD })).status,
      202,
    );
    const { code } = readMail(smtp.last());
    assert.equal((await paris.post("/api/signin/verify", { code })).status, 200);

    // The same session moving to a neighbouring town keeps working (its location is updated).
    app.clock.advance(2 * 60_000);
    const versailles = new Client(app.url, { localAddress: "127.0.0.4" });
    for (const [k, v] of paris.jar) versailles.jar.set(k, v);
    assert.equal((await versailles.get("/api/me")).status, 200);

    // Ten minutes later the same device (same device cookie) signs in from New York: held.
    app.clock.advance(10 * 60_000);
    const newYork = new Client(app.url, { localAddress: "127.0.0.3" });
    newYork.jar.set("sk_device", paris.cookie("sk_device") as string);
    assert.equal(
      (await newYork.post("/api/signin", { email: "gil@example.test", password: PASSWORD })).status,
      202,
    );
    const flagged = eventRows(app.sqlite).filter((e) => e.type === "sign_in_flagged");
    assert.deepEqual(
      flagged.map((e) => [e.reason, e.ip]),
      [["impossible_travel", "127.0.0.3"]],
    );
    assert.ok(
      eventRows(app.sqlite).some(
        (e) => e.type === "verification_sent" && e.reason === "impossible_travel",
      ),
    );

    const { code: newYorkCode } = readMail(smtp.last());
    assert.equal((await newYork.post("/api/signin/verify", { code: newYorkCode })).status, 200);

    // Back in Paris twelve hours later: 5,800 km in 12 h is a plane, not a teleport.
    app.clock.advance(12 * 3_600_000);
    assert.equal(
      (await paris.post("/api/signin", { email: "gil@example.test", password: PASSWORD })).status,
      200,
    );
  });
});
