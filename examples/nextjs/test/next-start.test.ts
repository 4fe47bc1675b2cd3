import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { it, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client, UA } from "../../test-kit/client.js";
import { ANN, runExampleScenario } from "../../test-kit/scenario.js";
import { tempDatabase } from "../../test-kit/temp-db.js";

// The example as users run it: `next build`, then `next start` (production mode, Node.js
// runtime), driven over HTTP. Opt-in (NEXT_BUILD_TEST=1): the build alone takes longer than a
// minute on two cores. npm test runs the same scenario through the route handlers (next.test.ts).
const HERE = join(dirname(fileURLToPath(import.meta.url)), "..");
const NEXT = join(HERE, "node_modules", ".bin", "next");
const NEXT_BIN = existsSync(NEXT) ? NEXT : join(HERE, "..", "..", "node_modules", ".bin", "next");
const ENV = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_OPTIONS: "" };

if (process.env.NEXT_BUILD_TEST !== "1") {
  test("next build + next start", {
    skip: "set NEXT_BUILD_TEST=1 to build and start the Next.js example",
  }, () => {});
} else {
  runExampleScenario(
    "Next.js (next build + next start)",
    async () => {
      const build = spawnSync(NEXT_BIN, ["build"], { cwd: HERE, env: ENV, encoding: "utf8" });
      if (build.status !== 0)
        throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
      const db = tempDatabase("next");
      const port = await freePort();
      const child = spawn(NEXT_BIN, ["start", "-p", String(port), "-H", "127.0.0.1"], {
        cwd: HERE,
        env: { ...ENV, DATABASE_PATH: db.path },
        stdio: ["ignore", "pipe", "pipe"],
      });
      await waitForReady(child);
      return {
        baseUrl: `http://127.0.0.1:${port}`,
        async close() {
          child.kill("SIGTERM");
          await new Promise((resolve) => child.once("exit", resolve));
          db.remove();
        },
      };
    },
    dashboardTests,
  );
}

/** The protected page as Next renders it: the proxy and the server component, signed in and out. */
function dashboardTests(app: () => { baseUrl: string }): void {
  it("renders /dashboard for a signed-in browser and sends everyone else to /", async () => {
    const browser = new Client(app().baseUrl, UA.laptop);
    const away = await browser.request("GET", "/dashboard");
    assert.equal(away.status, 307);
    assert.equal(new URL(away.headers.get("location") ?? "", app().baseUrl).pathname, "/");

    assert.equal((await browser.request("POST", "/login", ANN)).status, 200);
    const page = await browser.request("GET", "/dashboard");
    assert.equal(page.status, 200);
    assert.match(
      await page.text(),
      /Signed in as <!-- -->ann@example\.com|Signed in as ann@example\.com/,
    );

    assert.equal((await browser.request("POST", "/logout")).status, 204);
    assert.equal((await browser.request("GET", "/dashboard")).status, 307);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready in/i.test(output)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`next start exited (${code}):\n${output}`)));
  });
}
