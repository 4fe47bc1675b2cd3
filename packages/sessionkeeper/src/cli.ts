#!/usr/bin/env node
// The `sessionkeeper` command: migrations and session administration from a shell, on the same
// DATABASE_URL (and REDIS_URL, so a revocation reaches every instance's cache) as the app.
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { sql } from "kysely";
import { type OpenedRedis, openRedis } from "./cache/redis.js";
import {
  type Command,
  helpText,
  parseCommand,
  printable,
  quote,
  UsageError,
  type UserRef,
} from "./cli-args.js";
import { isStorageError } from "./errors.js";
import { createSessionKeeper, type SessionKeeper } from "./session-keeper.js";
import { type OpenedStorage, openStorage, parseDatabaseUrl } from "./storage/open.js";
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

/** The operation was refused or only half done (no such session, a broadcast that failed). */
class FailedError extends Error {}

/**
 * Runs one `sessionkeeper` command and resolves to its exit code; never calls process.exit.
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), process.env, { out: console.log, err: console.error });
 */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  try {
    await run(parseCommand(args, env), env, io);
    return EXIT.ok;
  } catch (error) {
    const { code, lines } = failureReport(error, env.SESSIONKEEPER_DEBUG === "1");
    for (const line of lines) io.err(line);
    return code;
  }
}

async function run(command: Command, env: NodeJS.ProcessEnv, io: CliIo): Promise<void> {
  switch (command.kind) {
    case "help":
      return io.out(helpText(packageVersion(), command.topic));
    case "version":
      return io.out(
        `sessionkeeper/${packageVersion()} ${process.platform}-${process.arch} node-${process.version}`,
      );
    case "migrate":
      return migrate(env, io);
    case "sessions list":
      return list(command, env, io);
    case "sessions revoke":
      return revoke(command, env, io);
    case "sessions revoke-all":
      return revokeAll(command, env, io);
    case "prune":
      return prune(command, env, io);
  }
}

/**
 * What runCli prints for an error, and its exit code. Only a {@link UsageError} is the operator's
 * mistake; anything unforeseen is a bug and says so, rather than sending them to --help.
 * @internal exported for the tests
 */
export function failureReport(error: unknown, debug: boolean): { code: number; lines: string[] } {
  if (error instanceof UsageError)
    return {
      code: EXIT.usage,
      lines: [`sessionkeeper: ${error.message}`, "Run `sessionkeeper --help` for usage."],
    };
  if (error instanceof FailedError)
    return { code: EXIT.failed, lines: [`sessionkeeper: ${error.message}`] };
  if (isStorageError(error)) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return {
      code: EXIT.failed,
      lines: [
        `sessionkeeper: ${error.message}${printable(cause)}`,
        "Check DATABASE_URL and that the database is reachable (and migrated: `sessionkeeper migrate`).",
      ],
    };
  }
  const message =
    error instanceof Error
      ? `${error.name}: ${error.message}`
      : `a ${typeof error} was thrown, not an Error`;
  const lines = [`sessionkeeper: internal error: ${printable(message)}`];
  // The stack names our files and lines: wanted in a bug report, noise for everyone else.
  if (debug && error instanceof Error && error.stack) lines.push(error.stack);
  else lines.push("This is not a usage mistake; SESSIONKEEPER_DEBUG=1 shows where it happened.");
  return { code: EXIT.failed, lines };
}

/** The keeper over DATABASE_URL (and REDIS_URL when a change must be broadcast), closed after `fn`. */
async function withKeeper(
  env: NodeJS.ProcessEnv,
  options: { broadcast: boolean; idleTimeout?: number },
  fn: (
    keeper: SessionKeeper<object>,
    redis: OpenedRedis | null,
    storage: OpenedStorage,
  ) => Promise<void>,
): Promise<void> {
  const url = env.DATABASE_URL;
  if (!url)
    throw new UsageError(
      "DATABASE_URL is not set (e.g. postgres://user@host/db, mysql://…, or sqlite:./data/app.db)",
    );
  // Checked here, before anything opens, so a bad setting is the operator's mistake (exit 2) while a
  // TypeError from deeper down stays what it is: a bug. Neither message repeats the URL.
  try {
    parseDatabaseUrl(url);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const redisUrl = options.broadcast ? env.REDIS_URL : undefined;
  if (redisUrl && !/^rediss?:\/\/./i.test(redisUrl))
    throw new UsageError("REDIS_URL must be a redis:// or rediss:// URL");
  let storage: OpenedStorage | null = null;
  let redis: OpenedRedis | null = null;
  try {
    storage = await openStorage(url, { poolSize: 2 });
    if (redisUrl) {
      redis = await openRedis(redisUrl, { prefix: env.SESSIONKEEPER_REDIS_PREFIX ?? "sk:" });
    }
    const keeper = createSessionKeeper({
      storage: storage.store,
      ...(redis ? { cache: redis.cache } : {}),
      ...(options.idleTimeout ? { idleTimeout: options.idleTimeout } : {}),
    });
    await fn(keeper, redis, storage);
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

type Of<K extends Command["kind"]> = Extract<Command, { kind: K }>;

async function list(command: Of<"sessions list">, env: NodeJS.ProcessEnv, io: CliIo) {
  await withKeeper(env, { broadcast: false }, async (keeper, _redis, storage) => {
    const userId = await resolveUser(command.user, storage, io);
    const found = await keeper.listSessions(userId, { includeEnded: command.all });
    if (command.json) io.out(JSON.stringify(found.map(toJson), null, 2));
    else printTable(found, io);
  });
}

async function revoke(command: Of<"sessions revoke">, env: NodeJS.ProcessEnv, io: CliIo) {
  const { sessionId: id, reason } = command;
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
}

async function revokeAll(command: Of<"sessions revoke-all">, env: NodeJS.ProcessEnv, io: CliIo) {
  const { reason } = command;
  await withKeeper(env, { broadcast: true }, async (keeper, redis, storage) => {
    const userId = await resolveUser(command.user, storage, io);
    const count = await keeper.revokeAllSessions(userId, { reason, by: ADMIN });
    io.out(
      `sessionkeeper: revoked ${count} session${count === 1 ? "" : "s"} of user ${printable(userId)}`,
    );
    if (count > 0) await confirmBroadcast(redis, env, io);
  });
}

/**
 * The user id a {@link UserRef} names. For `--find`, the app's SQL runs on the same database with
 * the value bound as its one parameter; it must return exactly one row.
 */
async function resolveUser(user: UserRef, storage: OpenedStorage, io: CliIo): Promise<string> {
  if ("id" in user) return user.id;
  const [before = "", after = ""] = user.sql.split("?");
  let rows: Array<Record<string, unknown>>;
  try {
    const query = sql<Record<string, unknown>>`${sql.raw(before)}${user.find}${sql.raw(after)}`;
    rows = (await query.execute(storage.store.db)).rows;
  } catch (error) {
    throw new FailedError(
      `SESSIONKEEPER_FIND_USER failed: ${printable(error instanceof Error ? error.message : String(error))}`,
    );
  }
  if (rows.length !== 1)
    throw new FailedError(
      rows.length === 0
        ? `no user found for ${quote(user.find)} (SESSIONKEEPER_FIND_USER returned no row)`
        : `${rows.length} users found for ${quote(user.find)}: SESSIONKEEPER_FIND_USER must return one row`,
    );
  const value = Object.values(rows[0] as Record<string, unknown>)[0];
  if (
    (typeof value !== "string" && typeof value !== "number" && typeof value !== "bigint") ||
    value === ""
  )
    throw new FailedError("SESSIONKEEPER_FIND_USER must return the user id in its first column");
  // On stderr, so --json output stays one JSON document.
  io.err(`sessionkeeper: ${quote(user.find)} is user ${printable(String(value))}`);
  return String(value);
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

async function prune(command: Of<"prune">, env: NodeJS.ProcessEnv, io: CliIo): Promise<void> {
  const { retention, idleTimeout } = command;
  await withKeeper(env, { broadcast: false, idleTimeout }, async (keeper) => {
    const result = await keeper.prune({ retention });
    io.out(
      `sessionkeeper: pruned ${result.sessions} session${result.sessions === 1 ? "" : "s"} and ${result.events} event${result.events === 1 ? "" : "s"}`,
    );
  });
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
