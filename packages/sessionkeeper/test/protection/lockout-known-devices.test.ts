// Lockout per account AND device, over real HTTP. A known device of the user (its device cookie was
// issued at a sign-in that completed) is not refused by the account-wide lock that failures from
// elsewhere caused; its own failures are counted under (account, device) with the same limit. Any
// other device keeps the account-wide lock; the per-IP limit holds everyone. Each case sends from
// its own loopback addresses (127.0.0.x); the proxy is not trusted (the default).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type Reply, type Smtp, startApp, startSmtp, type TestApp } from "./harness.js";

const PASSWORD = "correct horse battery staple";
const WINDOW_S = 900;

function signIn(client: Client, email: string, password: string, headers = {}): Promise<Reply> {
  return client.post("/api/signin", { email, password }, headers);
}

function assertLocked(reply: Reply, what: string): void {
  assert.equal(reply.status, 429, what);
  assert.deepEqual(reply.json, { error: "locked_out" }, what);
  const wait = Number(reply.headers["retry-after"]);
  assert.ok(wait > 0 && wait <= WINDOW_S, `${what}: Retry-After ${reply.headers["retry-after"]}`);
}

describe("lockout per account and device (maxFailures 5, maxFailuresPerIp 20, window 15m)", () => {
  let smtp: Smtp;
  let app: TestApp;
  let n = 0;

  before(async () => {
    smtp = await startSmtp();
    app = await startApp({ smtp, guard: { alerts: "off" } });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  /** A user whose owner has signed in once on the returned client (a known device). */
  async function ownerWithDevice(address: string): Promise<{ email: string; owner: Client }> {
    n += 1;
    const email = `owner${n}@example.test`;
    app.addUser(email, PASSWORD);
    const owner = new Client(app.url, { localAddress: address });
    assert.equal((await signIn(owner, email, PASSWORD)).status, 200, "the owner's first sign-in");
    assert.ok(owner.cookie("sk_device"), "a device cookie");
    return { email, owner };
  }

  const cases: {
    name: string;
    run: () => Promise<void>;
  }[] = [
    {
      name: "the owner's known device signs in (200) after 5 failures from elsewhere; an unknown device gets 429 with Retry-After",
      async run() {
        const { email, owner } = await ownerWithDevice("127.0.0.101");
        const attacker = new Client(app.url, { localAddress: "127.0.0.102" });
        for (let i = 0; i < 5; i++)
          assert.equal((await signIn(attacker, email, `guess-${i}`)).status, 401);
        assertLocked(await signIn(attacker, email, PASSWORD), "the attacker, right password");
        const stranger = new Client(app.url, { localAddress: "127.0.0.103" });
        const refused = await signIn(stranger, email, PASSWORD);
        assertLocked(refused, "an unknown device, right password");
        assert.equal(refused.headers["retry-after"], String(WINDOW_S));
        const reply = await signIn(owner, email, PASSWORD);
        assert.equal(reply.status, 200, "the owner's known device is not locked out");
        assert.ok(reply.json.session, "a session");
        // The owner's success did not give the attacker a fresh allowance.
        assertLocked(
          await signIn(attacker, email, PASSWORD),
          "the attacker after the owner's sign-in",
        );
      },
    },
    {
      name: "failures from many IPs lock the account for unknown devices, not for the owner",
      async run() {
        const { email, owner } = await ownerWithDevice("127.0.0.111");
        for (let i = 0; i < 5; i++) {
          const bot = new Client(app.url, { localAddress: `127.0.0.${112 + i}` });
          assert.equal((await signIn(bot, email, `guess-${i}`)).status, 401, `bot ${i}`);
        }
        assertLocked(
          await signIn(new Client(app.url, { localAddress: "127.0.0.118" }), email, PASSWORD),
          "an unknown device from a clean IP",
        );
        assert.equal((await signIn(owner, email, PASSWORD)).status, 200, "the owner");
      },
    },
    {
      name: "a spoofed X-Forwarded-For changes nothing (trustProxy off)",
      async run() {
        const { email, owner } = await ownerWithDevice("127.0.0.121");
        const attacker = new Client(app.url, { localAddress: "127.0.0.122" });
        // Naming the owner's address neither dodges the count nor charges that address.
        for (let i = 0; i < 5; i++) {
          const xff = { "x-forwarded-for": `198.51.100.${i}, 127.0.0.121` };
          assert.equal((await signIn(attacker, email, `guess-${i}`, xff)).status, 401);
        }
        assertLocked(
          await signIn(attacker, email, PASSWORD, { "x-forwarded-for": "127.0.0.121" }),
          "the attacker claiming the owner's IP",
        );
        assert.equal((await signIn(owner, email, PASSWORD)).status, 200, "the owner");
        // Nor does the header free the owner's device from its own count.
        for (let i = 0; i < 5; i++) {
          const xff = { "x-forwarded-for": `203.0.113.${i}` };
          assert.equal((await signIn(owner, email, `typo-${i}`, xff)).status, 401);
        }
        assertLocked(
          await signIn(owner, email, PASSWORD, { "x-forwarded-for": "203.0.113.99" }),
          "the owner's device after its own 5 failures",
        );
      },
    },
    {
      name: "the owner's own device is limited after its own 5 wrong guesses (429), and so is a thief of its cookie",
      async run() {
        const { email, owner } = await ownerWithDevice("127.0.0.131");
        for (let i = 0; i < 5; i++)
          assert.equal((await signIn(owner, email, `typo-${i}`)).status, 401, `typo ${i}`);
        assertLocked(await signIn(owner, email, PASSWORD), "the owner's device");
        // The same device cookie from another address shares the (account, device) count.
        const thief = new Client(app.url, { localAddress: "127.0.0.132" });
        thief.jar.set("sk_device", owner.cookie("sk_device") as string);
        assertLocked(await signIn(thief, email, PASSWORD), "a thief of the device cookie");
        // Decision: a known device's failures count only on its own key and per IP, so an
        // unknown device of the owner (a new laptop) is not held by them.
        const laptop = new Client(app.url, { localAddress: "127.0.0.133" });
        assert.equal((await signIn(laptop, email, PASSWORD)).status, 200, "a new device");
        app.clock.advance(WINDOW_S * 1000);
        assert.equal((await signIn(owner, email, PASSWORD)).status, 200, "after the window");
      },
    },
    {
      name: "a thief of a device cookie from another address gets 5 guesses, then 429",
      async run() {
        const { email, owner } = await ownerWithDevice("127.0.0.141");
        const thief = new Client(app.url, { localAddress: "127.0.0.142" });
        thief.jar.set("sk_device", owner.cookie("sk_device") as string);
        for (let i = 0; i < 5; i++)
          assert.equal((await signIn(thief, email, `guess-${i}`)).status, 401, `guess ${i}`);
        assertLocked(await signIn(thief, email, PASSWORD), "the thief, right password");
      },
    },
    {
      name: "the per-IP limit still holds the owner's known device",
      async run() {
        const { email, owner } = await ownerWithDevice("127.0.0.151");
        const sprayer = new Client(app.url, { localAddress: "127.0.0.151" });
        for (let i = 0; i < 20; i++)
          assert.equal(
            (await signIn(sprayer, `sprayed${i}@example.test`, "guess")).status,
            401,
            `spray ${i}`,
          );
        assertLocked(await signIn(owner, email, PASSWORD), "the owner from the sprayed address");
      },
    },
  ];

  for (const c of cases) it(c.name, c.run);
});
