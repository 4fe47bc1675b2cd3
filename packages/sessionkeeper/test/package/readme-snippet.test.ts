import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PACKAGE, packLibrary, packProblems, REPO, tarballFiles } from "./pack.js";

// The README's "Use it in an app" block, copied as written into an empty project that installs
// the packed library (npm pack), type-checked against the packed types, then run and driven over
// HTTP. express, better-sqlite3, tsx and typescript are linked from this repository's install:
// better-sqlite3 would otherwise compile for over a minute.
const LINKED = [
  "express",
  "better-sqlite3",
  "tsx",
  "typescript",
  "@types/express",
  "@types/node",
  "@types/better-sqlite3",
];

/** The first ```ts block under the "Use it in an app" heading. */
export function readmeSnippet(readme: string): string {
  const section = readme.slice(readme.indexOf("## Use it in an app"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error('README.md has no ```ts block under "Use it in an app"');
  return match[1];
}

describe("the packed library in an empty project: the README snippet, CommonJS", () => {
  let dir = "";
  let child: ChildProcess | null = null;
  let base = "";
  let tarball = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sk-readme-"));
    tarball = packLibrary(dir);
    const project = join(dir, "app");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "readme-app", private: true, type: "module" }),
    );
    execFileSync(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball],
      { cwd: project, stdio: "pipe" },
    );
    for (const name of LINKED) {
      mkdirSync(join(project, "node_modules", name, ".."), { recursive: true });
      symlinkSync(join(REPO, "node_modules", name), join(project, "node_modules", name));
    }
    writeFileSync(
      join(project, "app.ts"),
      readmeSnippet(readFileSync(join(REPO, "README.md"), "utf8")),
    );
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child?.once("exit", resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("packs no tests or fixtures, and JavaScript and types for every entry point", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8"));
    const files = tarballFiles(tarball);
    assert.deepEqual(packProblems(files, pkg), []);
    // The check itself can fail: a test file or a missing declaration is reported.
    const broken = [...files.filter((f) => f !== "dist/index.d.ts"), "test/x.test.ts"];
    assert.deepEqual(packProblems(broken, pkg), [
      "must not be packed: test/x.test.ts",
      `exports["."].types: ./dist/index.d.ts is not packed`,
      "no types beside dist/index.js",
    ]);
  });

  it("type-checks against the packed package's types (strict)", () => {
    const project = join(dir, "app");
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
        },
        files: ["app.ts"],
      }),
    );
    const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", "."], { cwd: project, encoding: "utf8" });
    } catch (error) {
      assert.fail(`tsc on the README snippet:\n${(error as { stdout?: string }).stdout}`);
    }
  });

  it("works from CommonJS: require() of the main entry and the adapters (Node 20.19+)", () => {
    const script = [
      'const sk = require("sessionkeeper");',
      'const express = require("sessionkeeper/express");',
      'const web = require("sessionkeeper/web");',
      'const koa = require("sessionkeeper/koa");',
      'const sqlite = require("sessionkeeper/sqlite");',
      "console.log([typeof sk.createSessionKeeper, typeof express.sessionMiddleware, typeof web.withSessions, typeof koa.koaSessions, typeof sqlite.sqliteStorage].join());",
    ].join("\n");
    writeFileSync(join(dir, "app", "check.cjs"), script);
    const out = execFileSync(process.execPath, ["check.cjs"], {
      cwd: join(dir, "app"),
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "--no-warnings" },
    });
    assert.equal(out.trim(), "function,function,function,function,function");
  });

  it("runs: sign in over HTTP, see the session and the devices page, sign out", async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ["--import", "tsx", "app.ts"], {
      cwd: join(dir, "app"),
      env: { ...process.env, PORT: String(port), NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    await waitUntilUp(base, () => output);

    assert.equal((await fetch(`${base}/me`)).status, 401);
    // Signed out on a page the app never defined a sign-in route for: a page, never a 404.
    const signedOut = await fetch(`${base}/account/sessions`, { redirect: "manual" });
    assert.equal(signedOut.status, 401);
    assert.match(await signedOut.text(), /Signed out/);

    const wrong = await post(base, "/login", { email: "ann@example.com", password: "nope" });
    assert.equal(wrong.status, 401);
    const login = await post(base, "/login", {
      email: "ann@example.com",
      password: "correct horse battery staple",
    });
    assert.equal(login.status, 204);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("sk_session="));
    assert.ok(cookie, "the sign-in sets the session cookie");
    const pair = cookie.split(";")[0] as string;

    const me = await fetch(`${base}/me`, { headers: { cookie: pair } });
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), { userId: "user-1" });
    const page = await fetch(`${base}/account/sessions`, { headers: { cookie: pair } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-current/);

    assert.equal((await post(base, "/logout", undefined, pair)).status, 204);
    assert.equal((await fetch(`${base}/me`, { headers: { cookie: pair } })).status, 401);
  });
});

function post(base: string, path: string, body?: unknown, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { origin: base };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (cookie) headers.cookie = cookie;
  return fetch(base + path, {
    method: "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
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

/** Polls /healthz (excluded from sessions) until the app answers, for at most 30 s. */
async function waitUntilUp(base: string, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(`${base}/healthz`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`the README app did not start:\n${output()}`);
}
