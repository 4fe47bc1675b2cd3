import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GeoProvider } from "sessionkeeper";
import { createDemoApp, type DemoApp } from "../src/app.js";
import { readConfig } from "../src/config.js";
import { openDemoStorage } from "../src/storage.js";

export interface RunningDemo {
  baseUrl: string;
  demo: DemoApp;
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts the reference app on a fresh SQLite file in a temp dir, on 127.0.0.1 and a free port.
 * The server listens first so the app knows its public URL (links in mail) before it is built.
 */
export async function startDemo(
  env: Record<string, string> = {},
  deps: { geo?: GeoProvider; now?: () => number; host?: string } = {},
): Promise<RunningDemo> {
  const dir = mkdtempSync(join(tmpdir(), "sk-demo-"));
  const config = readConfig({
    NEW_DEVICE_VERIFICATION: "off",
    ...env,
    DATABASE_URL: env.DATABASE_URL ?? `sqlite:${join(dir, "app.db")}`,
  });
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // `host: "localhost"` for passkeys: WebAuthn takes a host name as the relying party, never an IP.
  const baseUrl = `http://${deps.host ?? "127.0.0.1"}:${port}`;
  const storage = await openDemoStorage(config.databaseUrl);
  const demo = await createDemoApp(config, {
    storage,
    publicUrl: baseUrl,
    ...(deps.geo ? { geo: deps.geo } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  server.on("request", demo.app);
  return {
    baseUrl,
    demo,
    dir,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await demo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fetch client with a cookie jar, like one browser. Cookies are kept by name (host-only, Path=/). */
export class Client {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    readonly headers: Record<string, string> = {},
  ) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async request(
    method: string,
    path: string,
    options: {
      json?: unknown;
      form?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers, ...options.headers };
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body,
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const cleared = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (cleared) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, options: { headers?: Record<string, string> } = {}) {
    return this.request("GET", path, options);
  }

  post(path: string, json?: unknown, options: { headers?: Record<string, string> } = {}) {
    return this.request("POST", path, { ...options, json });
  }

  delete(path: string) {
    return this.request("DELETE", path);
  }
}

export const UA = {
  chromeMac:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  firefoxWindows:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
  safariIphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  hostile: `"><img src=x onerror=alert(1)><script>alert(2)</script>`,
};
