import {
  CreateTableNode,
  type Kysely,
  type KyselyPlugin,
  type Migration,
  type MigrationProvider,
  Migrator,
  MysqlAdapter,
  PostgresAdapter,
  type RootOperationNode,
  sql,
} from "kysely";

// Bounded column sizes: every value comes from a request and is capped before it is stored.
const ID = "varchar(32)";
const USER = "varchar(255)";
const IP = "varchar(64)";
const NAME = "varchar(64)";
const PLACE = "varchar(128)";

const migrations: Record<string, Migration> = {
  "0001_sessions": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("sk_sessions")
        .addColumn("id", ID, (c) => c.primaryKey())
        .addColumn("secret_hash", "char(64)", (c) => c.notNull())
        .addColumn("user_id", USER, (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("end_reason", NAME)
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("last_seen_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("ended_at", "bigint")
        .addColumn("ip", IP, (c) => c.notNull())
        .addColumn("last_ip", IP, (c) => c.notNull())
        .addColumn("user_agent", "varchar(512)", (c) => c.notNull())
        .addColumn("browser_name", NAME)
        .addColumn("browser_version", NAME)
        .addColumn("os_name", NAME)
        .addColumn("os_version", NAME)
        .addColumn("device_type", NAME)
        .addColumn("country", PLACE)
        .addColumn("region", PLACE)
        .addColumn("city", PLACE)
        .addColumn("device_id", "char(64)")
        .execute();
      await db.schema
        .createIndex("sk_sessions_user_status")
        .on("sk_sessions")
        .columns(["user_id", "status"])
        .execute();
      await db.schema
        .createIndex("sk_sessions_ended_at")
        .on("sk_sessions")
        .column("ended_at")
        .execute();
      await db.schema
        .createIndex("sk_sessions_status_expires")
        .on("sk_sessions")
        .columns(["status", "expires_at"])
        .execute();

      await db.schema
        .createTable("sk_login_events")
        .addColumn("id", ID, (c) => c.primaryKey())
        .addColumn("user_id", USER)
        .addColumn("session_id", ID)
        .addColumn("type", NAME, (c) => c.notNull())
        .addColumn("reason", NAME)
        .addColumn("ip", IP)
        .addColumn("user_agent", "varchar(512)")
        .addColumn("browser_name", NAME)
        .addColumn("browser_version", NAME)
        .addColumn("os_name", NAME)
        .addColumn("os_version", NAME)
        .addColumn("device_type", NAME)
        .addColumn("country", PLACE)
        .addColumn("region", PLACE)
        .addColumn("city", PLACE)
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sk_login_events_user_time")
        .on("sk_login_events")
        .columns(["user_id", "created_at"])
        .execute();
      await db.schema
        .createIndex("sk_login_events_time")
        .on("sk_login_events")
        .column("created_at")
        .execute();
    },
  },
  "0002_protection": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("sk_ip_rules")
        .addColumn("id", ID, (c) => c.primaryKey())
        .addColumn("scope", "varchar(16)", (c) => c.notNull())
        .addColumn("user_id", USER)
        .addColumn("action", "varchar(16)", (c) => c.notNull())
        .addColumn("cidr", IP, (c) => c.notNull())
        .addColumn("note", "varchar(255)")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sk_ip_rules_scope_user")
        .on("sk_ip_rules")
        .columns(["scope", "user_id"])
        .execute();
      // One row per emailed confirmation: a new-device verification (code, approve and not-me link
      // tokens) or a sign-in alert (not-me link only). Only SHA-256 hashes of the secrets are kept.
      await db.schema
        .createTable("sk_verifications")
        .addColumn("id", ID, (c) => c.primaryKey())
        .addColumn("kind", "varchar(16)", (c) => c.notNull())
        .addColumn("session_id", ID, (c) => c.notNull())
        .addColumn("user_id", USER, (c) => c.notNull())
        .addColumn("code_hash", "char(64)")
        .addColumn("approve_hash", "char(64)")
        .addColumn("deny_hash", "char(64)", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("approved_at", "bigint")
        .addColumn("used_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sk_verifications_session")
        .on("sk_verifications")
        .column("session_id")
        .execute();
      await db.schema
        .createIndex("sk_verifications_expires")
        .on("sk_verifications")
        .column("expires_at")
        .execute();
      // What completed a sign-in for a user: devices (hashed device cookie) and IPs, with the
      // location of the latest sign-in from that IP for the impossible-travel check.
      await db.schema
        .createTable("sk_known_devices")
        .addColumn("user_id", USER, (c) => c.notNull())
        .addColumn("kind", "varchar(8)", (c) => c.notNull())
        .addColumn("value", IP, (c) => c.notNull())
        .addColumn("first_seen_at", "bigint", (c) => c.notNull())
        .addColumn("last_seen_at", "bigint", (c) => c.notNull())
        .addColumn("latitude", "double precision")
        .addColumn("longitude", "double precision")
        .addPrimaryKeyConstraint("sk_known_devices_pk", ["user_id", "kind", "value"])
        .execute();
      await db.schema
        .createTable("sk_counters")
        .addColumn("key", "varchar(255)", (c) => c.primaryKey())
        .addColumn("count", "integer", (c) => c.notNull())
        .addColumn("reset_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sk_counters_reset_at")
        .on("sk_counters")
        .column("reset_at")
        .execute();
    },
  },
  // Issue 17: the app's per-session data and the remember-me choice. One column per ALTER, as
  // SQLite takes only one. Sessions from before were all given lasting cookies: remember_me 1.
  "0003_session_data": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("sk_sessions")
        .addColumn("remember_me", "integer", (c) => c.notNull().defaultTo(1))
        .execute();
      // TEXT: up to 65,535 bytes on MySQL/MariaDB, which bounds the dataMaxBytes option.
      await db.schema.alterTable("sk_sessions").addColumn("data", "text").execute();
    },
  },
  // Re-authentication: when and how each session was last
  // proven, and the passkeys (WebAuthn public keys) users register.
  "0004_reauth": {
    async up(db: Kysely<unknown>) {
      // Sessions from before this migration have no proof recorded (null): their first sensitive
      // action asks for one, which fails safe.
      await db.schema.alterTable("sk_sessions").addColumn("authenticated_at", "bigint").execute();
      await db.schema.alterTable("sk_sessions").addColumn("auth_factor", "varchar(16)").execute();
      await db.schema.alterTable("sk_sessions").addColumn("proof_used_at", "bigint").execute();
      await db.schema
        .createTable("sk_passkeys")
        .addColumn("id", "varchar(255)", (c) => c.primaryKey())
        .addColumn("user_id", USER, (c) => c.notNull())
        .addColumn("name", NAME, (c) => c.notNull())
        .addColumn("public_key", "varchar(1024)", (c) => c.notNull())
        .addColumn("counter", "bigint", (c) => c.notNull())
        .addColumn("transports", "varchar(128)")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("last_used_at", "bigint")
        .execute();
      await db.schema.createIndex("sk_passkeys_user").on("sk_passkeys").column("user_id").execute();
    },
  },
  // Device-bound sessions (DBSC): the session's public key and its current short-lived bound
  // cookie sit on the session row, so the per-request check stays the one lookup; challenges are
  // rows of their own, so any instance can check (and use up) one another instance issued.
  "0005_device_binding": {
    async up(db: Kysely<unknown>) {
      // A P-256 JWK is ~130 characters and an RSA-4096 one ~750; larger keys are refused.
      await db.schema.alterTable("sk_sessions").addColumn("dbsc_key", "varchar(1024)").execute();
      await db.schema.alterTable("sk_sessions").addColumn("dbsc_alg", "varchar(8)").execute();
      await db.schema
        .alterTable("sk_sessions")
        .addColumn("dbsc_cookie_hash", "varchar(64)")
        .execute();
      await db.schema
        .alterTable("sk_sessions")
        .addColumn("dbsc_cookie_expires_at", "bigint")
        .execute();
      await db.schema.alterTable("sk_sessions").addColumn("dbsc_bound_at", "bigint").execute();
      await db.schema
        .createTable("sk_dbsc_challenges")
        .addColumn("hash", "varchar(64)", (c) => c.primaryKey())
        .addColumn("session_id", ID, (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sk_dbsc_challenges_expires_at")
        .on("sk_dbsc_challenges")
        .column("expires_at")
        .execute();
    },
  },
  // Short-lived, single-use state of a re-authentication, bound to one session and kept in SQL so
  // any instance can finish what another began: WebAuthn challenges (their SHA-256 only) and form
  // posts kept while the user proves it's them (encrypted with a key only the browser holds).
  "0006_reauth_state": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("sk_reauth_state")
        .addColumn("id", ID, (c) => c.primaryKey())
        .addColumn("session_id", ID, (c) => c.notNull())
        .addColumn("kind", "varchar(16)", (c) => c.notNull())
        .addColumn("secret_hash", "char(64)", (c) => c.notNull())
        .addColumn("path", "varchar(512)")
        // A kept form body, encrypted and base64url: at most ~22 KB for a 16 KB form (TEXT: 64 KB).
        .addColumn("data", "text")
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sk_reauth_state_session")
        .on("sk_reauth_state")
        .columns(["session_id", "kind"])
        .execute();
      await db.schema
        .createIndex("sk_reauth_state_expires")
        .on("sk_reauth_state")
        .column("expires_at")
        .execute();
    },
  },
  // Device names (issue 15): the user's own name for a session's device, the model the browser's
  // client hints told, and the index that counts one browser's sign-ins (sessions tied by the
  // device cookie's hash).
  "0007_device_names": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("sk_sessions").addColumn("name", NAME).execute();
      await db.schema.alterTable("sk_sessions").addColumn("device_model", NAME).execute();
      await db.schema
        .createIndex("sk_sessions_user_device")
        .on("sk_sessions")
        .columns(["user_id", "device_id"])
        .execute();
    },
  },
  // The history's pages: a keyset on (user_id, created_at, id) needs the id in the index to walk
  // it in order without a sort, and a sign-in's story is found by its session id. The new index
  // starts with the old one's columns, which it replaces (one index less to write per event).
  "0009_history_index": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex("sk_login_events_user_at_id")
        .on("sk_login_events")
        .columns(["user_id", "created_at", "id"])
        .execute();
      await db.schema
        .createIndex("sk_login_events_session")
        .on("sk_login_events")
        .columns(["session_id", "created_at"])
        .execute();
      // MySQL names the table of an index it drops; PostgreSQL and SQLite refuse the clause.
      const drop = db.schema.dropIndex("sk_login_events_user_time");
      const mysql = db.getExecutor().adapter instanceof MysqlAdapter;
      await (mysql ? drop.on("sk_login_events") : drop).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Applies sessionkeeper's migrations in order. Kysely's migrator takes a lock (an advisory lock on
 * PostgreSQL, GET_LOCK on MySQL) so two instances starting together apply each migration once.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  const schema = await postgresSchema(db);
  const tableOptions = await mysqlTableOptions(db);
  const migrator = new Migrator({
    db: tableOptions ? db.withPlugin(tableOptions) : db,
    provider,
    migrationTableName: "sk_migrations",
    migrationLockTableName: "sk_migrations_lock",
    // Kysely looks for its tables in every schema unless told which: name the current one, or a
    // second app (or test) in another schema of the same database would find ours and skip its own.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`sessionkeeper migration ${failed ?? "(unknown)"} failed`, { cause: error });
  }
}

async function postgresSchema(db: Kysely<unknown>): Promise<string | null> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return null;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
    db,
  );
  return rows[0]?.schema ?? null;
}

/**
 * MySQL/MariaDB tables get utf8mb4 and a binary, no-pad collation: the server default (often case-
 * and trailing-space-insensitive) would let user "Bob" match "bob" and session ids collide by case.
 * A plugin adds it to every CREATE TABLE, so each migration stays dialect-neutral.
 */
async function mysqlTableOptions(db: Kysely<unknown>): Promise<KyselyPlugin | null> {
  if (!(db.getExecutor().adapter instanceof MysqlAdapter)) return null;
  const { rows } = await sql<{ v: string }>`select version() as v`.execute(db);
  const version = rows[0]?.v ?? "";
  const major = Number.parseInt(version, 10);
  const collation = /mariadb/i.test(version)
    ? "utf8mb4_nopad_bin"
    : major >= 8
      ? "utf8mb4_0900_bin"
      : "utf8mb4_bin";
  const modifier = sql.raw(`default character set utf8mb4 collate ${collation}`).toOperationNode();
  return {
    transformQuery: ({ node }): RootOperationNode =>
      CreateTableNode.is(node) ? CreateTableNode.cloneWithEndModifier(node, modifier) : node,
    transformResult: async ({ result }) => result,
  };
}
