// Review finding: the SQLite file deleted or replaced while the app runs. Before, the app kept
// answering 200/201 into a file no one could reach again (everything was gone at restart) and
// /healthz never looked at storage. Now the store notices the file at its path is no longer the
// one it opened, fails closed (503, one log line naming the path) and /healthz says why.
import assert from "node:assert/strict";
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it, mock } from "node:test";
import Database from "better-sqlite3";
import { Client, type RunningDemo, startDemo, UA } from "./harness.js";

const PASSWORD = "correct horse battery";

function removeDatabase(dir: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `app.db${suffix}`), { force: true });
}

async function health(run: RunningDemo): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${run.baseUrl}/healthz`);
  return { status: res.status, body: await res.json() };
}

/** A signed-up user with a live session (a cookie the app has cached). */
async function signedUp(run: RunningDemo, email: string): Promise<Client> {
  const client = new Client(run.baseUrl, { "user-agent": UA.chromeMac });
  const res = await client.post("/api/signup", { email, password: PASSWORD });
  assert.equal(res.status, 201);
  assert.equal((await client.get("/api/sessions")).status, 200);
  return client;
}

/** Everything that would write, or read a session, answers 503 and sets no cookie. */
async function assertFailsClosed(run: RunningDemo, signedIn: Client): Promise<void> {
  const fresh = new Client(run.baseUrl, { "user-agent": UA.firefoxWindows });
  const signUp = await fresh.post("/api/signup", { email: "new@example.com", password: PASSWORD });
  assert.equal(signUp.status, 503, "a sign-up must not pretend to be saved");
  assert.deepEqual(await signUp.json(), { error: "storage_unavailable" });
  assert.equal(signUp.headers.getSetCookie().length, 0);
  const signIn = await fresh.post("/api/signin", { email: "a@example.com", password: PASSWORD });
  assert.equal(signIn.status, 503, "a sign-in must not pretend to be saved");
  assert.equal(signIn.headers.getSetCookie().length, 0);
  // The session cached in memory is not served from a database that is gone.
  assert.equal((await signedIn.get("/api/sessions")).status, 503);
  assert.equal((await signedIn.post("/api/signout")).status, 503);
}

describe("the SQLite file deleted or replaced while the app runs", () => {
  let run: RunningDemo | undefined;
  afterEach(async () => {
    mock.restoreAll();
    await run?.close();
    run = undefined;
  });

  it("a healthy app answers /healthz with 200 {status: ok}", async () => {
    run = await startDemo();
    await signedUp(run, "a@example.com");
    const { status, body } = await health(run);
    assert.equal(status, 200);
    assert.deepEqual(body, { status: "ok" });
  });

  it("deleted (with its -wal and -shm): 503 everywhere, /healthz says database_file_missing, one log line", async () => {
    run = await startDemo();
    const signedIn = await signedUp(run, "a@example.com");
    const logged = mock.method(console, "error", () => {});
    removeDatabase(run.dir);
    // The first request after the deletion is a write, before any health probe.
    await assertFailsClosed(run, signedIn);
    const { status, body } = await health(run);
    assert.equal(status, 503);
    assert.deepEqual(body, { status: "unavailable", reason: "database_file_missing" });
    await assertFailsClosed(run, signedIn);
    const lines = logged.mock.calls
      .map((call) => call.arguments.map(String).join(" "))
      .filter((line) => line.includes(join(run?.dir ?? "", "app.db")));
    assert.equal(lines.length, 1, `one log line naming the path, got ${JSON.stringify(lines)}`);
    // Nothing was written to a new file at the path either.
    assert.equal(existsSync(join(run.dir, "app.db")), false);
  });

  it("replaced by another database: /healthz first says database_file_replaced, then 503 everywhere", async () => {
    run = await startDemo();
    const signedIn = await signedUp(run, "a@example.com");
    mock.method(console, "error", () => {});
    const other = join(run.dir, "other.db");
    const replacement = new Database(other);
    replacement.exec("create table t (x)");
    replacement.close();
    removeDatabase(run.dir);
    renameSync(other, join(run.dir, "app.db"));
    const { status, body } = await health(run);
    assert.equal(status, 503);
    assert.deepEqual(body, { status: "unavailable", reason: "database_file_replaced" });
    await assertFailsClosed(run, signedIn);
  });
});
