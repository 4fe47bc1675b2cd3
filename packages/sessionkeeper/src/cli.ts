#!/usr/bin/env node
// The `sessionkeeper` command: migrations and session administration from a shell, on the same
// DATABASE_URL (and REDIS_URL, so a revocation reaches every instance's cache) as the app.
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { cac } from "cac";
import { type OpenedRedis, openRedis } from "./cache/redis.js";
import { parseDuration } from "./duration.js";
import { isStorageError } from "./errors.js";
import { createSessionKeeper, type SessionKeeper } from "./session-keeper.js";
import { type OpenedStorage, openStorage } from "./storage/open.js";
import type { Session } from "./types.js";

/** Who the history records as having ended sessions from the command line. */
const ADMIN = { kind: "admin", name: "cli" } as const;

/** Exit codes: 0 done, 1 the operation failed (database, Redis, not found), 2 a usage or configuration mistake. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}
class FailedError extends Error {}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Runs one `sessionkeeper` command and resolves to its exit code; never calls process.exit.
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), process.env, { out: console.log, err: console.error });
 */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const cli = cac("sessionkeeper");
  let action: (() => Promise<void>) | null = null;
  cli
    .command(
      "migrate",
      "Create or upgrade sessionkeeper's tables (safe while instances run or start)",
    )
    .action(() => {
      action = () => migrate(env, io);
    });
  cli
    .command("sessions <action> [id]", "list --user ID | revoke ID | revoke-all --user ID")
    .option("--user <id>", "The user's id (list, revoke-all)")
    .option("--all", "list: include ended sessions")
    .option("--json", "list: print JSON")
    .option("--reason <reason>", "revoke, revoke-all: the end reason recorded", {
      default: "revoked_by_admin",
    })
    .action((sub: string, id: string | undefined) => {
      action = () => sessions(sub, id, args, env, io);
    });
  cli
    .command(
      "prune",
      "Delete sessions ended (or dead) longer than the retention ago, and older events",
    )
    .option("--retention <duration>", "How long ended sessions and events are kept", {
      default: "30d",
    })
    .option(
      "--idle-timeout <duration>",
      "The app's idle timeout (default: SESSION_IDLE_TIMEOUT or 14d)",
    )
    .action(() => {
      action = () => prune(args, env, io);
    });
  cli.help();
  cli.version(packageVersion());

  try {
    const parsed = cli.parse(["node", "sessionkeeper", ...args], { run: false });
    if (parsed.options.help || parsed.options.version) return EXIT.ok;
    if (!cli.matchedCommand) {
      const name = cli.args[0];
      throw new UsageError(
        name === undefined
          ? "a command is required"
          : `unknown command "${printable(String(name))}"`,
      );
    }
    await cli.runMatchedCommand();
    if (!action) throw new UsageError("nothing to do");
    await (action as () => Promise<void>)();
    return EXIT.ok;
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  if (
    error instanceof UsageError ||
    (error instanceof Error && error.name === "CACError") ||
    error instanceof TypeError
  ) {
    io.err(`sessionkeeper: ${error.message}`);
    io.err("Run `sessionkeeper --help` for usage.");
    return EXIT.usage;
  }
  if (error instanceof FailedError) {
    io.err(`sessionkeeper: ${error.message}`);
    return EXIT.failed;
  }
  if (isStorageError(error)) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    io.err(`sessionkeeper: ${error.message}${printable(cause)}`);
    io.err(
      "Check DATABASE_URL and that the database is reachable (and migrated: `sessionkeeper migrate`).",
    );
    return EXIT.failed;
  }
  io.err(
    `sessionkeeper: ${error instanceof Error ? printable(error.message) : "unexpected failure"}`,
  );
  return EXIT.failed;
}

/** The keeper over DATABASE_URL (and REDIS_URL when a change must be broadcast), closed after `fn`. */
async function withKeeper(
  env: NodeJS.ProcessEnv,
  options: { broadcast: boolean; idleTimeout?: number },
  fn: (keeper: SessionKeeper, redis: OpenedRedis | null) => Promise<void>,
): Promise<void> {
  const url = env.DATABASE_URL;
  if (!url)
    throw new UsageError(
      "DATABASE_URL is not set (e.g. postgres://user@host/db, mysql://…, or sqlite:./data/app.db)",
    );
  let storage: OpenedStorage | null = null;
  let redis: OpenedRedis | null = null;
  try {
    storage = await openStorage(url, { poolSize: 2 });
    if (options.broadcast && env.REDIS_URL) {
      redis = await openRedis(env.REDIS_URL, { prefix: env.SESSIONKEEPER_REDIS_PREFIX ?? "sk:" });
    }
    const keeper = createSessionKeeper({
      storage: storage.store,
      ...(redis ? { cache: redis.cache } : {}),
      ...(options.idleTimeout ? { idleTimeout: options.idleTimeout } : {}),
    });
    await fn(keeper, redis);
  } finally {
    await redis?.close();
    await storage?.close();
  }
}

async function migrate(env: NodeJS.ProcessEnv, io: CliIo): Promise<void> {
  await withKeeper(env, { broadcast: false }, async (keeper) => {
    await keeper.migrate();
    io.out("sessionkeeper: the database is up to date");
  });
}

async function sessions(
  sub: string,
  id: string | undefined,
  args: string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<void> {
  const reason = rawOption(args, "reason") ?? "revoked_by_admin";
  if (!/^[a-z_]{1,64}$/.test(reason))
    throw new UsageError(
      "--reason must be lowercase letters and underscores, such as revoked_by_admin",
    );
  if (sub === "list") {
    const userId = requireUser(args);
    await withKeeper(env, { broadcast: false }, async (keeper) => {
      const list = await keeper.listSessions(userId, { includeEnded: args.includes("--all") });
      if (args.includes("--json")) io.out(JSON.stringify(list.map(toJson), null, 2));
      else printTable(list, io);
    });
  } else if (sub === "revoke") {
    if (id === undefined || !SESSION_ID.test(id))
      throw new UsageError(
        "sessions revoke needs a session id, e.g. `sessionkeeper sessions revoke <id>`",
      );
    await withKeeper(env, { broadcast: true }, async (keeper, redis) => {
      const record = await keeper.getSession(id);
      if (!record) throw new FailedError(`no session with id ${id}`);
      if (record.status !== "active" && record.status !== "pending") {
        io.out(`sessionkeeper: session ${id} had already ended (${record.status})`);
        return;
      }
      await keeper.revokeSession(id, { reason, by: ADMIN });
      io.out(`sessionkeeper: revoked session ${id} of user ${printable(record.userId)}`);
      await confirmBroadcast(redis, env, io);
    });
  } else if (sub === "revoke-all") {
    const userId = requireUser(args);
    await withKeeper(env, { broadcast: true }, async (keeper, redis) => {
      const count = await keeper.revokeAllSessions(userId, { reason, by: ADMIN });
      io.out(
        `sessionkeeper: revoked ${count} session${count === 1 ? "" : "s"} of user ${printable(userId)}`,
      );
      if (count > 0) await confirmBroadcast(redis, env, io);
    });
  } else {
    throw new UsageError(
      `unknown sessions action "${printable(sub)}" (use list, revoke or revoke-all)`,
    );
  }
}

/** The database already refuses the session; make sure every instance's cache dropped it too. */
async function confirmBroadcast(
  redis: OpenedRedis | null,
  env: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<void> {
  if (!env.REDIS_URL) {
    io.err(
      "sessionkeeper: REDIS_URL is not set, so nothing was broadcast (fine when the app runs without Redis).",
    );
    return;
  }
  if (redis && (await redis.cache.flush(5000))) return;
  throw new FailedError(
    "the database refuses the session now, but the broadcast over Redis (REDIS_URL) failed: instances that cached it serve it until their cache entry expires or their Redis subscription resets",
  );
}

async function prune(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<void> {
  const retention = duration(rawOption(args, "retention") ?? "30d", "--retention");
  const idleTimeout = duration(
    rawOption(args, "idle-timeout") ?? env.SESSION_IDLE_TIMEOUT ?? "14d",
    "--idle-timeout",
  );
  await withKeeper(env, { broadcast: false, idleTimeout }, async (keeper) => {
    const result = await keeper.prune({ retention });
    io.out(
      `sessionkeeper: pruned ${result.sessions} session${result.sessions === 1 ? "" : "s"} and ${result.events} event${result.events === 1 ? "" : "s"}`,
    );
  });
}

function requireUser(args: string[]): string {
  const user = rawOption(args, "user");
  if (user === undefined || user.length === 0 || user.length > 255)
    throw new UsageError("--user <id> is required (the app's user id)");
  return user;
}

function duration(value: string, name: string): number {
  // A bare number is ambiguous on a command line (seconds? days?): require a unit.
  const ms = /^\d+$/.test(value) ? null : parseDuration(value);
  if (ms === null)
    throw new UsageError(
      `${name} must be a duration such as 30d, 12h or 90m (got ${JSON.stringify(printable(value))})`,
    );
  return ms;
}

/** An option's text exactly as typed: the parser would turn a user id like "007" into the number 7. */
function rawOption(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === `--${name}`) return args[i + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

function printTable(list: Session[], io: CliIo): void {
  if (list.length === 0) {
    io.out("no sessions");
    return;
  }
  const rows = list.map((s) => [
    s.id,
    s.endReason ? `${s.status} (${s.endReason})` : s.status,
    s.createdAt.toISOString(),
    s.lastSeenAt.toISOString(),
    s.lastIp,
    [s.browser.name, s.os.name].filter(Boolean).join(" on ") || "unknown device",
    s.location ? [s.location.city, s.location.country].filter(Boolean).join(", ") : "",
  ]);
  const header = ["ID", "STATUS", "SIGNED IN", "LAST SEEN", "LAST IP", "DEVICE", "LOCATION"];
  const cells = [header, ...rows].map((row) => row.map((cell) => printable(cell)));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] as string).length)));
  for (const row of cells)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join("  ")
        .trimEnd(),
    );
}

function toJson(s: Session) {
  return {
    id: s.id,
    userId: s.userId,
    status: s.status,
    endReason: s.endReason,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    ip: s.ip,
    lastIp: s.lastIp,
    browser: s.browser,
    os: s.os,
    device: s.device,
    location: s.location,
  };
}

/** Stored values came from requests: strip control characters so none can drive the terminal. */
function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").slice(0, 512);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await runCli(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
