// The `sessionkeeper` command line, read once into a typed command. Every value stays the string
// the operator typed (a user id "007" is not the number 7), and anything the command does not take
// is refused here, so the commands never look at the raw arguments again.
import { parseArgs } from "node:util";
import { parseDuration } from "./duration.js";

/** What the operator asked for, fully checked: the commands act on this and nothing else. */
export type Command =
  | { kind: "help"; topic: Topic | null }
  | { kind: "version" }
  | { kind: "migrate" }
  | { kind: "sessions list"; user: UserRef; all: boolean; json: boolean }
  | { kind: "sessions revoke"; sessionId: string; reason: string }
  | { kind: "sessions revoke-all"; user: UserRef; reason: string }
  | { kind: "prune"; retention: number; idleTimeout: number };

/**
 * Whose sessions: the app's user id (`--user`), or what the app shows, such as an email address
 * (`--find`), turned into the id by the app's own SQL in SESSIONKEEPER_FIND_USER.
 */
export type UserRef = { id: string } | { find: string; sql: string };

/** A mistake in the command line or the environment: the only error reported as a usage error. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Topic = "migrate" | "sessions" | "prune";
type OptionName = keyof typeof OPTIONS;

// Every option is a string or a boolean, so no value is ever converted.
const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  user: { type: "string" },
  find: { type: "string" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  reason: { type: "string" },
  retention: { type: "string" },
  "idle-timeout": { type: "string" },
} as const;

/** The options each command takes (besides --help and --version), and how many positionals after its name. */
const COMMANDS: Record<string, { options: OptionName[]; positionals: number }> = {
  migrate: { options: [], positionals: 0 },
  "sessions list": { options: ["user", "find", "all", "json"], positionals: 0 },
  "sessions revoke": { options: ["reason"], positionals: 1 },
  "sessions revoke-all": { options: ["user", "find", "reason"], positionals: 0 },
  prune: { options: ["retention", "idle-timeout"], positionals: 0 },
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const REASON = /^[a-z_]{1,64}$/;
/** Longer than any sensible retention, and far inside what a millisecond timestamp column holds. */
const MAX_DURATION = 36_500 * 86_400_000;

/**
 * Reads the arguments (without "node" and the script) into a {@link Command}; `env` supplies
 * SESSION_IDLE_TIMEOUT. Throws {@link UsageError} naming the first problem found.
 * @example
 * parseCommand(["sessions", "list", "--user", "007"], {}) // { kind: "sessions list", user: { id: "007" }, all: false, json: false }
 */
export function parseCommand(args: readonly string[], env: NodeJS.ProcessEnv): Command {
  // Not strict: util.parseArgs would refuse with its own wording, and could not say which option
  // belongs to which command. Every token is checked below instead.
  const { tokens } = parseArgs({
    args: [...args],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positionals: string[] = [];
  const given = new Map<OptionName, string | true>();
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    if (!Object.hasOwn(OPTIONS, token.name))
      throw new UsageError(`Unknown option ${quote(token.rawName)}`);
    const name = token.name as OptionName;
    if (given.has(name)) throw new UsageError(`--${name} is given more than once`);
    if (OPTIONS[name].type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`--${name} takes no value`);
      given.set(name, true);
      continue;
    }
    if (token.value === undefined) throw new UsageError(`--${name} needs a value`);
    // `--user --json` took "--json" as the user id: far likelier a forgotten value than an id.
    if (!token.inlineValue && token.value.startsWith("-"))
      throw new UsageError(
        `--${name} needs a value, not the option ${quote(token.value)} (write --${name}=${printable(token.value)} if that is the value)`,
      );
    given.set(name, token.value);
  }

  const [first, second] = positionals;
  const topic = first === "migrate" || first === "sessions" || first === "prune" ? first : null;
  if (given.has("help")) return { kind: "help", topic };
  if (given.has("version")) return { kind: "version" };
  if (first === undefined) throw new UsageError("a command is required");
  if (topic === null) throw new UsageError(`unknown command ${quote(first)}`);

  let name: string = topic;
  if (topic === "sessions") {
    if (second === undefined)
      throw new UsageError("sessions needs an action: list, revoke or revoke-all");
    if (second !== "list" && second !== "revoke" && second !== "revoke-all")
      throw new UsageError(
        `unknown sessions action ${quote(second)} (use list, revoke or revoke-all)`,
      );
    name = `sessions ${second}`;
  }
  const spec = COMMANDS[name] as (typeof COMMANDS)[string];
  for (const option of given.keys())
    if (!spec.options.includes(option)) throw new UsageError(`${name} does not take --${option}`);
  const rest = positionals.slice(name.split(" ").length);
  const extra = rest[spec.positionals];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${quote(extra)} to ${name}`);

  const text = (option: OptionName) => given.get(option) as string | undefined;
  switch (name) {
    case "migrate":
      return { kind: "migrate" };
    case "sessions list":
      return {
        kind: "sessions list",
        user: userRef(text("user"), text("find"), env),
        all: given.has("all"),
        json: given.has("json"),
      };
    case "sessions revoke":
      return {
        kind: "sessions revoke",
        sessionId: sessionId(rest[0]),
        reason: reason(text("reason")),
      };
    case "sessions revoke-all":
      return {
        kind: "sessions revoke-all",
        user: userRef(text("user"), text("find"), env),
        reason: reason(text("reason")),
      };
    default: {
      // The idle timeout decides which sessions are dead; the app's own setting is the default.
      const idle = text("idle-timeout");
      return {
        kind: "prune",
        retention: duration(text("retention") ?? "30d", "--retention"),
        idleTimeout:
          idle !== undefined
            ? duration(idle, "--idle-timeout")
            : duration(env.SESSION_IDLE_TIMEOUT ?? "14d", "SESSION_IDLE_TIMEOUT"),
      };
    }
  }
}

function userRef(
  id: string | undefined,
  find: string | undefined,
  env: NodeJS.ProcessEnv,
): UserRef {
  if (find === undefined) return { id: userId(id) };
  if (id !== undefined) throw new UsageError("give --user or --find, not both");
  if (find.length === 0 || find.length > 255)
    throw new UsageError("--find needs what the app shows for the user, such as an email address");
  const sql = env.SESSIONKEEPER_FIND_USER;
  if (!sql)
    throw new UsageError(
      "--find needs SESSIONKEEPER_FIND_USER: your app's SQL that turns what it shows into the user id, with one ? for the value, e.g. select id from users where email = ?",
    );
  // One placeholder, bound as a parameter: the value never becomes part of the SQL.
  if (sql.split("?").length !== 2)
    throw new UsageError(
      "SESSIONKEEPER_FIND_USER must contain exactly one ? (where the value goes)",
    );
  return { find, sql };
}

function userId(value: string | undefined): string {
  if (value === undefined || value.length === 0 || value.length > 255)
    throw new UsageError(
      "--user <id> is required (the app's user id), or --find <email or name> with SESSIONKEEPER_FIND_USER",
    );
  return value;
}

function sessionId(value: string | undefined): string {
  if (value === undefined || !SESSION_ID.test(value))
    throw new UsageError(
      "sessions revoke needs a session id, e.g. `sessionkeeper sessions revoke <id>`",
    );
  return value;
}

function reason(value: string | undefined): string {
  if (value === undefined) return "revoked_by_admin";
  if (!REASON.test(value))
    throw new UsageError(
      "--reason must be lowercase letters and underscores, such as revoked_by_admin",
    );
  return value;
}

function duration(value: string, name: string): number {
  // Zero is refused with the reason: it would not keep "nothing old", it would erase everything.
  if (/^\s*0+(\.0+)?\s*(ms|s|m|h|d|w)\s*$/.test(value))
    throw new UsageError(
      name === "--retention"
        ? `--retention must be longer than zero (got ${quote(value)}): 0 would delete every ended session and the whole login history at once, including the events of sessions still active. To end sessions use \`sessions revoke-all\`; to keep only recent history, give a short retention such as 1h`
        : `${name} must be longer than zero (got ${quote(value)}): every session would count as idle at once`,
    );
  // A bare number is ambiguous on a command line (seconds? days?): require a unit.
  const ms = /^\d+$/.test(value) ? null : parseDuration(value);
  if (ms === null)
    throw new UsageError(
      `${name} must be a duration such as 30d, 12h or 90m (got ${quote(value)})`,
    );
  // Past this the cut-off time is no longer a valid timestamp, and the database would refuse it.
  if (ms > MAX_DURATION)
    throw new UsageError(`${name} must be at most 36500d (got ${quote(value)})`);
  return ms;
}

/** The text quoted for a message, with control characters shown as "?" so none drive the terminal. */
export function quote(value: string): string {
  return JSON.stringify(printable(value));
}

/** Strips control characters (stored values came from requests, arguments from anywhere). */
export function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").slice(0, 512);
}

/** The `--help` text: everything when `topic` is null, else one command's options. */
export function helpText(version: string, topic: Topic | null): string {
  const head = `sessionkeeper/${version}\n\nUsage:\n`;
  switch (topic) {
    case "migrate":
      return `${head}  $ sessionkeeper migrate

Creates or upgrades sessionkeeper's tables (safe while instances run or start).
Reads DATABASE_URL.`;
    case "sessions":
      return `${head}  $ sessionkeeper sessions list (--user ID | --find VALUE) [--all] [--json]
  $ sessionkeeper sessions revoke ID [--reason R]
  $ sessionkeeper sessions revoke-all (--user ID | --find VALUE) [--reason R]

Options:
  --user <id>        The user's id (list, revoke-all)
  --find <value>     What the app shows instead, such as an email address: turned into the id by
                     SESSIONKEEPER_FIND_USER, your SQL with one ? for the value
                     (e.g. select id from users where email = ?)
  --all              list: include ended sessions
  --json             list: print JSON
  --reason <reason>  revoke, revoke-all: the end reason recorded (default: revoked_by_admin)

Reads DATABASE_URL, and REDIS_URL (SESSIONKEEPER_REDIS_PREFIX) to broadcast a revocation.`;
    case "prune":
      return `${head}  $ sessionkeeper prune [--retention D] [--idle-timeout D]

Options:
  --retention <duration>     How long ended sessions and events are kept (default: 30d)
  --idle-timeout <duration>  The app's idle timeout (default: SESSION_IDLE_TIMEOUT or 14d)

Durations take a unit: 90m, 12h, 30d, 2w.`;
    default:
      return `${head}  $ sessionkeeper <command> [options]

Commands:
  migrate                                     Create or upgrade sessionkeeper's tables (safe while instances run or start)
  sessions list --user ID [--all] [--json]    A user's sessions (--all: ended ones too)
  sessions revoke ID [--reason R]             End one session, everywhere
  sessions revoke-all --user ID [--reason R]  End every session of a user, everywhere
  prune [--retention D] [--idle-timeout D]    Delete sessions ended (or dead) longer than the retention ago, and older events

For more info, run any command with the \`--help\` flag:
  $ sessionkeeper migrate --help
  $ sessionkeeper sessions --help
  $ sessionkeeper prune --help

Options:
  -h, --help     Display this message
  -v, --version  Display version number

Exit codes: 0 done, 1 the operation failed, 2 a usage or configuration mistake.`;
  }
}
