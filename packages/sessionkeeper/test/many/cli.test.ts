import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@redis/client";
import { type RedisCache, redisCache } from "../../src/cache/redis.js";
import type { NodeRedisClient } from "../../src/cache/redis-link.js";
import { EXIT, failureReport, runCli } from "../../src/cli.js";
import { StorageError } from "../../src/errors.js";
import { createSessionKeeper, type SessionKeeper } from "../../src/session-keeper.js";
import { postgresStorage } from "../../src/storage/postgres.js";
import { browser, countFinds, eventually, sessionCookie } from "./kit.js";
import {
  freshPgSchema,
  type OwnRedis,
  type PgSchema,
  postgresSkip,
  redisServerSkip,
  startOwnRedis,
  unreachablePort,
} from "./services.js";

const skip = (await postgresSkip()) || (await redisServerSkip());
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const exec = promisify(execFile);

/** Runs the real command in its own process, as an operator would. */
async function sessionkeeper(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await exec(process.execPath, ["--import", "tsx", CLI, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    };
  }
}

/** Runs the command in this process (same code path, faster): what it printed and its exit code. */
async function inProcess(args: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

describe("sessionkeeper CLI", { skip }, () => {
  let schema: PgSchema;
  let redis: OwnRedis;
  let env: Record<string, string>;
  let keeper: SessionKeeper;
  let cache: RedisCache;
  let client: NodeRedisClient;
  let finds: () => number;

  before(async () => {
    schema = await freshPgSchema();
    redis = await startOwnRedis();
    env = {
      DATABASE_URL: schema.url,
      REDIS_URL: redis.url,
      SESSIONKEEPER_REDIS_PREFIX: `sk-test-${randomBytes(4).toString("hex")}:`,
    };
  });

  after(async () => {
    await keeper?.close();
    client?.destroy();
    await redis?.stop();
    await schema?.drop();
  });

  it("migrate: two at once on a fresh schema both succeed (exit 0)", async () => {
    const [one, two] = await Promise.all([
      sessionkeeper(["migrate"], env),
      sessionkeeper(["migrate"], env),
    ]);
    assert.equal(one.code, EXIT.ok, one.stderr);
    assert.equal(two.code, EXIT.ok, two.stderr);
    assert.match(one.stdout, /up to date/);

    // The app instance the remaining tests act on: PostgreSQL plus a Redis cache on the CLI's prefix.
    const counted = countFinds(postgresStorage(schema.pool()));
    finds = counted.finds;
    client = createClient({ url: redis.url }) as unknown as NodeRedisClient;
    cache = redisCache({
      client,
      prefix: env.SESSIONKEEPER_REDIS_PREFIX,
      maxReadTime: "300ms",
      retryInterval: "100ms",
    });
    keeper = createSessionKeeper({ storage: counted.store, cache });
    assert.ok(await cache.ready());
  });

  async function signIn(userId: string) {
    const signed = await keeper.signIn(userId, browser());
    const info = browser(sessionCookie(signed.setCookies));
    await eventually(async () => {
      assert.ok(await keeper.authenticate(info));
      const before = finds();
      await keeper.authenticate(info);
      return finds() === before;
    }, "the app instance serves the session from its cache");
    return { id: signed.record.id, secretHash: signed.record.secretHash, info };
  }

  it("sessions list --find: the app's SQL turns what it shows (an email) into the user id, bound as a parameter", async () => {
    await schema.pool().query("create table app_users (id text primary key, email text not null)");
    await schema
      .pool()
      .query("insert into app_users values ('henry', 'henry@example.com'), ('x', 'x@example.com')");
    const a = await keeper.signIn("henry", browser());
    const findEnv = { ...env, SESSIONKEEPER_FIND_USER: "select id from app_users where email = ?" };

    const found = await inProcess(
      ["sessions", "list", "--find", "henry@example.com", "--json"],
      findEnv,
    );
    assert.equal(found.code, EXIT.ok, found.stderr);
    const listed = JSON.parse(found.stdout) as Array<{ id: string; userId: string }>;
    assert.ok(listed.some((s) => s.id === a.record.id));
    assert.ok(listed.every((s) => s.userId === "henry"));
    assert.match(found.stderr, /"henry@example.com" is user henry/);

    // The value is a parameter, never SQL: an injection attempt finds nobody.
    const injected = await inProcess(["sessions", "list", "--find", "x' or '1'='1"], findEnv);
    assert.equal(injected.code, EXIT.failed);
    assert.match(injected.stderr, /no user found for "x' or '1'='1"/);

    const many = await inProcess(["sessions", "list", "--find", "anything"], {
      ...env,
      SESSIONKEEPER_FIND_USER: "select id from app_users where cast(? as text) is not null",
    });
    assert.equal(many.code, EXIT.failed);
    assert.match(many.stderr, /2 users found .* must return one row/);

    const broken = await inProcess(["sessions", "list", "--find", "henry@example.com"], {
      ...env,
      SESSIONKEEPER_FIND_USER: "select id from no_such_table where email = ?",
    });
    assert.equal(broken.code, EXIT.failed);
    assert.match(broken.stderr, /SESSIONKEEPER_FIND_USER failed: .*no_such_table/);

    const revoked = await inProcess(
      ["sessions", "revoke-all", "--find", "henry@example.com"],
      findEnv,
    );
    assert.equal(revoked.code, EXIT.ok, revoked.stderr);
    assert.match(revoked.stdout, /revoked \d+ sessions? of user henry/);
    assert.equal((await keeper.getSession(a.record.id))?.status, "revoked");
  });

  it('sessions list --user: the user\'s sessions, exactly that user ("007" is not 7), never a secret hash', async () => {
    const a = await signIn("henry");
    const b = await signIn("henry");
    const bond = await keeper.signIn("007", browser());
    await keeper.signIn("7", browser());

    const table = await inProcess(["sessions", "list", "--user", "henry"], env);
    assert.equal(table.code, EXIT.ok, table.stderr);
    assert.ok(table.stdout.includes(a.id) && table.stdout.includes(b.id));
    assert.ok(!table.stdout.includes(a.secretHash));

    const json = await inProcess(["sessions", "list", "--user=007", "--json"], env);
    assert.equal(json.code, EXIT.ok, json.stderr);
    const listed = JSON.parse(json.stdout) as Array<{ id: string; userId: string }>;
    assert.deepEqual(
      listed.map((s) => s.id),
      [bond.record.id],
    );
    assert.ok(!json.stdout.includes(bond.record.secretHash));

    // The value after a space is read by the same one parser: still the string "007".
    const spaced = await inProcess(["sessions", "list", "--json", "--user", "007"], env);
    assert.equal(spaced.code, EXIT.ok, spaced.stderr);
    assert.deepEqual(
      (JSON.parse(spaced.stdout) as Array<{ userId: string }>).map((s) => s.userId),
      ["007"],
    );
    // A user id that looks like an option is taken when written with "=", and only then.
    const dashed = await keeper.signIn("--json", browser());
    const literal = await inProcess(["sessions", "list", "--user=--json", "--json"], env);
    assert.equal(literal.code, EXIT.ok, literal.stderr);
    assert.deepEqual(
      (JSON.parse(literal.stdout) as Array<{ id: string }>).map((s) => s.id),
      [dashed.record.id],
    );
  });

  it("sessions revoke ID: broadcast like any other revocation, so a warm app instance refuses it at once", async () => {
    const s = await signIn("ivy");
    const result = await sessionkeeper(["sessions", "revoke", s.id], env);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.match(result.stdout, /revoked session/);
    const before = finds();
    assert.equal(await keeper.authenticate(s.info), null, "the app refuses it on its next request");
    assert.equal(finds(), before + 1, "its cached copy had been dropped");
    const events = await keeper.listEvents("ivy");
    assert.ok(
      events.some(
        (e) =>
          e.type === "session_revoked" && e.sessionId === s.id && e.reason === "revoked_by_admin",
      ),
    );

    const again = await inProcess(["sessions", "revoke", s.id], env);
    assert.equal(again.code, EXIT.ok);
    assert.match(again.stdout, /already ended/);
    const unknown = await inProcess(["sessions", "revoke", "NoSuchSessionId0000000"], env);
    assert.equal(unknown.code, EXIT.failed);
    assert.match(unknown.stderr, /no session with id/);
  });

  it("sessions revoke-all --user: ends every session of the user, everywhere", async () => {
    const one = await signIn("jack");
    const two = await signIn("jack");
    const other = await signIn("kate");
    const result = await inProcess(["sessions", "revoke-all", "--user", "jack"], env);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.match(result.stdout, /revoked 2 sessions/);
    // The command returns once its own broadcast came back through Redis; this instance's
    // subscription reads the same message on its own socket, a moment later or sooner.
    for (const s of [one, two])
      await eventually(
        async () => (await keeper.authenticate(s.info)) === null,
        "the warm instance refuses it within a second",
        40,
        25,
      );
    assert.ok(await keeper.authenticate(other.info), "another user's session is untouched");
  });

  it("a revoke whose broadcast cannot reach Redis still ends the session, and says so with exit 1", async () => {
    const s = await signIn("liam");
    const nowhere = await unreachablePort();
    const result = await sessionkeeper(["sessions", "revoke", s.id], {
      ...env,
      REDIS_URL: `redis://127.0.0.1:${nowhere.port}`,
    }).finally(() => nowhere.close());
    assert.equal(result.code, EXIT.failed, result.stderr);
    assert.match(result.stderr, /broadcast over Redis/);
    assert.equal((await keeper.getSession(s.id))?.status, "revoked");
  });

  it("prune: deletes what is past retention and reports it", async () => {
    const result = await inProcess(["prune", "--retention", "30d"], env);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.match(result.stdout, /pruned \d+ sessions? and \d+ events?/);
  });

  it("usage and configuration mistakes exit 2 with a message naming the problem, and never echo a password", async () => {
    const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
      [["migrate"], { DATABASE_URL: undefined }, /DATABASE_URL is not set/],
      [
        ["migrate"],
        { DATABASE_URL: "postgres://admin:hunter2@/db" },
        /DATABASE_URL is not a valid postgres:\/\/ URL/,
      ],
      [
        ["migrate"],
        { DATABASE_URL: "redis://localhost" },
        /DATABASE_URL scheme "redis:" is not supported/,
      ],
      [["frobnicate"], env, /unknown command "frobnicate"/],
      [[], env, /a command is required/],
      [["sessions", "list"], env, /--user <id> is required/],
      [["sessions", "revoke"], env, /needs a session id/],
      [["sessions", "explode"], env, /unknown sessions action/],
      [["prune", "--retention", "30"], env, /--retention must be a duration/],
      [["sessions", "list", "--find", "a@b.c"], env, /--find needs SESSIONKEEPER_FIND_USER/],
      [
        ["sessions", "list", "--find", "a@b.c", "--user", "u"],
        { ...env, SESSIONKEEPER_FIND_USER: "select id from u where e = ?" },
        /give --user or --find, not both/,
      ],
      [
        ["sessions", "revoke-all", "--find", "a@b.c"],
        { ...env, SESSIONKEEPER_FIND_USER: "select id from u where e = ? or f = ?" },
        /exactly one \?/,
      ],
      [
        ["prune", "--retention", "0s"],
        env,
        /--retention must be longer than zero .*whole login history/,
      ],
      [["prune", "--retention", "0d"], env, /--retention must be longer than zero/],
      [["prune", "--idle-timeout", "0m"], env, /--idle-timeout must be longer than zero/],
      [["migrate", "--bogus"], env, /Unknown option "--bogus"/],
      [["sessions"], env, /sessions needs an action/],
      [["migrate", "now"], env, /unexpected argument "now" to migrate/],
      [["sessions", "revoke", "a", "b"], env, /unexpected argument "b" to sessions revoke/],
      // Both parsers used to read these, and disagreed: cac saw an array or a missing value, the
      // action's own scanner quietly took the first one or the next flag.
      [["sessions", "list", "--user", "x", "--user", "y"], env, /--user is given more than once/],
      [["sessions", "list", "--user=x", "--user", "y"], env, /--user is given more than once/],
      [
        ["sessions", "list", "--user", "--json"],
        env,
        /--user needs a value, not the option "--json"/,
      ],
      [["sessions", "revoke", "abc", "--reason"], env, /--reason needs a value/],
      [["sessions", "list", "--user", "x", "--all=no"], env, /--all takes no value/],
      // Options of another action of the same command were accepted and ignored.
      [["sessions", "revoke", "abc", "--user", "x"], env, /sessions revoke does not take --user/],
      [["sessions", "list", "--user", "x", "--reason", "spam"], env, /does not take --reason/],
      [["prune", "--user", "x"], env, /prune does not take --user/],
      [["sessions", "revoke", "abc", "--reason", "Spam!"], env, /--reason must be lowercase/],
      [["prune", "--idle-timeout", "14"], env, /--idle-timeout must be a duration/],
      [["prune"], { SESSION_IDLE_TIMEOUT: "14" }, /SESSION_IDLE_TIMEOUT must be a duration/],
      // Used to reach the database and fail there as a "storage failure" (exit 1).
      [
        ["prune", "--retention", "99999999999999999999999999999w"],
        env,
        /--retention must be at most/,
      ],
      [
        ["sessions", "revoke-all", "--user", "x"],
        { REDIS_URL: "localhost:6379" },
        /REDIS_URL must be/,
      ],
    ];
    for (const [args, overrides, message] of cases) {
      const result = await inProcess(args, { ...env, ...overrides });
      assert.equal(result.code, EXIT.usage, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.ok(!result.stderr.includes("hunter2"));
    }
    // The real binary sets the process exit code.
    const real = await sessionkeeper(["frobnicate"], env);
    assert.equal(real.code, EXIT.usage);
  });

  it("--help lists every command and --version prints the version, exit 0 without a database", async () => {
    const help = await inProcess(["--help"], { DATABASE_URL: undefined });
    assert.equal(help.code, EXIT.ok, help.stderr);
    for (const usage of [
      "migrate",
      "sessions list --user ID [--all] [--json]",
      "sessions revoke ID [--reason R]",
      "sessions revoke-all --user ID [--reason R]",
      "prune [--retention D] [--idle-timeout D]",
    ])
      assert.ok(help.stdout.includes(usage), usage);
    const sessionsHelp = await inProcess(["sessions", "list", "-h"], {});
    assert.equal(sessionsHelp.code, EXIT.ok);
    assert.match(sessionsHelp.stdout, /--reason <reason>/);
    const version = await inProcess(["--version"], {});
    assert.equal(version.code, EXIT.ok);
    assert.match(version.stdout, /^sessionkeeper\/\d+\.\d+\.\d+ /);
  });

  it("a bug is reported as an internal error (exit 1), never as the operator's usage mistake", () => {
    // What report() used to send to --help with exit 2, because every TypeError counted as usage.
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    const plain = failureReport(bug, false);
    assert.equal(plain.code, EXIT.failed);
    assert.match(plain.lines[0] ?? "", /^sessionkeeper: internal error: TypeError: Cannot read/);
    assert.ok(!plain.lines.some((l) => l.includes("--help")), plain.lines.join("\n"));
    assert.ok(!plain.lines.some((l) => l.includes("    at ")), "no stack unless asked");
    const debug = failureReport(bug, true);
    assert.ok(
      debug.lines.some((l) => l.includes("    at ")),
      "SESSIONKEEPER_DEBUG=1 adds the stack",
    );
    assert.equal(failureReport("thrown text", false).code, EXIT.failed);

    const storage = failureReport(
      new StorageError("session storage failed", { cause: new Error("ECONNREFUSED") }),
      false,
    );
    assert.equal(storage.code, EXIT.failed);
    assert.match(storage.lines.join("\n"), /ECONNREFUSED[\s\S]*Check DATABASE_URL/);
  });

  it("an unreachable database exits 1 with a clear message", async (t) => {
    const port = await unreachablePort();
    t.after(() => port.close());
    const result = await inProcess(["sessions", "list", "--user", "x"], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port.port}/test`,
    });
    assert.equal(result.code, EXIT.failed);
    assert.match(result.stderr, /session storage failed/);
    assert.match(result.stderr, /Check DATABASE_URL/);
  });
});
