import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { it } from "node:test";
import { NextRequest } from "next/server";
import { Client, UA } from "../../test-kit/client.js";
import { ANN, runExampleScenario } from "../../test-kit/scenario.js";
import { tempDatabase } from "../../test-kit/temp-db.js";

// The example's route handlers and proxy, served by a plain node:http server that routes as the
// app/ folder does. `next build` takes over a minute here, so npm test runs this; the same
// scenario through `next build` + `next start` is next-start.test.ts (NEXT_BUILD_TEST=1).
const db = tempDatabase("next-handlers");
process.env.DATABASE_PATH = db.path;
const login = await import("../app/login/route");
const logout = await import("../app/logout/route");
const me = await import("../app/me/route");
const api = await import("../app/api/[...path]/route");
const account = await import("../app/account/[...path]/route");
const { proxy } = await import("../proxy");
const { getKeeper } = await import("../lib/keeper");

type Handler = (request: Request) => Promise<Response>;

/** The app/ folder's routing: path → module, method → exported handler. */
function handlerFor(method: string, path: string): Handler | undefined {
  const pick = (mod: Record<string, unknown>) => mod[method] as Handler | undefined;
  if (path === "/login") return pick(login);
  if (path === "/logout") return pick(logout);
  if (path === "/me") return pick(me);
  if (path.startsWith("/api/")) return pick(api);
  if (path.startsWith("/account/")) return pick(account);
  return undefined;
}

async function serve(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
  const url = new URL(req.url ?? "/", base);
  const handler = handlerFor(req.method ?? "GET", url.pathname);
  if (!handler) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === "string") headers.set(name, value);
  const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
  const response = await handler(new Request(url, { method: req.method, headers, body }));
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") out[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  res.writeHead(response.status, out).end(Buffer.from(await response.arrayBuffer()));
}

let baseUrl = "";
runExampleScenario(
  "Next.js (route handlers)",
  async () => {
    const server = createServer((req, res) => {
      serve(req, res, baseUrl).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      baseUrl,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await (await getKeeper()).close();
        db.remove();
      },
    };
  },
  proxyTests,
);

function proxyTests(): void {
  it("the proxy lets a signed-in browser through to /dashboard and redirects anyone else", async () => {
    const ask = (cookie?: string) =>
      proxy(
        new NextRequest(`${baseUrl}/dashboard`, {
          headers: { "user-agent": UA.laptop, ...(cookie ? { cookie } : {}) },
        }),
      );
    const anonymous = await ask();
    assert.equal(anonymous.status, 307);
    assert.equal(new URL(anonymous.headers.get("location") ?? "").pathname, "/");

    const browser = new Client(baseUrl, UA.laptop);
    assert.equal((await browser.request("POST", "/login", ANN)).status, 200);
    const cookie = `sk_session=${browser.cookies.get("sk_session")}`;
    const through = await ask(cookie);
    assert.equal(through.headers.get("x-middleware-next"), "1");

    assert.equal((await browser.request("POST", "/logout")).status, 204);
    assert.equal((await ask(cookie)).status, 307, "a signed-out token no longer passes");
  });
}
