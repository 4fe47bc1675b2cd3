import type { Kysely, Selectable } from "kysely";
import { StorageError } from "../errors.js";
import type {
  CounterState,
  IpRule,
  PreviousSignIn,
  ProtectionStore,
  VerificationRecord,
} from "./protection-store.js";
import type { Database, IpRulesTable, VerificationsTable } from "./schema.js";

/**
 * The guard's storage over the same Kysely database as the sessions (SQLite, PostgreSQL, MySQL),
 * in the tables of migration `0002_protection`: `keeper.migrate()` creates them.
 * @example
 * const store = sqliteStorage(db);
 * const guard = createGuard({ keeper, store: protectionStore(store.db), mailer });
 */
export function protectionStore(db: Kysely<Database>): KyselyProtectionStore {
  return new KyselyProtectionStore(db);
}

/** {@link ProtectionStore} in SQL. Upserts are "update, else insert, else update again": portable and race-safe. */
export class KyselyProtectionStore implements ProtectionStore {
  constructor(readonly db: Kysely<Database>) {}

  /** Runs a storage step and turns any driver failure into a StorageError naming the step. */
  protected async run<T>(step: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(`protection storage failed during ${step}`, { cause: error });
    }
  }

  increment(key: string, options: { now: number; windowMs: number }): Promise<CounterState> {
    const { now, windowMs } = options;
    return this.run("increment", async () => {
      // One UPDATE is atomic per row on every engine; a window that ended restarts at 1. MySQL
      // applies SET left to right, so `count` must be assigned before `reset_at` changes.
      const bump = async () => {
        const result = await this.db
          .updateTable("sk_counters")
          .set((eb) => ({
            count: eb
              .case()
              .when("reset_at", "<=", now)
              .then(1)
              .else(eb("count", "+", 1))
              .end(),
            reset_at: eb
              .case()
              .when("reset_at", "<=", now)
              .then(now + windowMs)
              .else(eb.ref("reset_at"))
              .end(),
          }))
          .where("key", "=", key)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      };
      await upsert(bump, () =>
        this.db
          .insertInto("sk_counters")
          .values({ key, count: 1, reset_at: now + windowMs })
          .execute(),
      );
      const row = await this.db
        .selectFrom("sk_counters")
        .select(["count", "reset_at"])
        .where("key", "=", key)
        .executeTakeFirstOrThrow();
      return { count: Number(row.count), resetAt: Number(row.reset_at) };
    });
  }

  read(key: string, now: number): Promise<CounterState | null> {
    return this.run("read", async () => {
      const row = await this.db
        .selectFrom("sk_counters")
        .select(["count", "reset_at"])
        .where("key", "=", key)
        .executeTakeFirst();
      if (!row || Number(row.reset_at) <= now) return null;
      return { count: Number(row.count), resetAt: Number(row.reset_at) };
    });
  }

  reset(key: string): Promise<void> {
    return this.run("reset", async () => {
      await this.db.deleteFrom("sk_counters").where("key", "=", key).execute();
    });
  }

  listIpRules(): Promise<IpRule[]> {
    return this.run("listIpRules", async () => {
      const rows = await this.db
        .selectFrom("sk_ip_rules")
        .selectAll()
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(fromRuleRow);
    });
  }

  countIpRules(scope: IpRule["scope"], userId: string | null): Promise<number> {
    return this.run("countIpRules", async () => {
      let query = this.db
        .selectFrom("sk_ip_rules")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("scope", "=", scope);
      query =
        userId === null ? query.where("user_id", "is", null) : query.where("user_id", "=", userId);
      const row = await query.executeTakeFirst();
      return Number(row?.n ?? 0);
    });
  }

  addIpRule(rule: IpRule): Promise<void> {
    return this.run("addIpRule", async () => {
      await this.db
        .insertInto("sk_ip_rules")
        .values({
          id: rule.id,
          scope: rule.scope,
          user_id: rule.userId,
          action: rule.action,
          cidr: rule.cidr,
          note: rule.note,
          created_at: rule.createdAt,
        })
        .execute();
    });
  }

  removeIpRule(
    id: string,
    match: { scope: IpRule["scope"]; userId?: string | null },
  ): Promise<boolean> {
    return this.run("removeIpRule", async () => {
      let query = this.db
        .deleteFrom("sk_ip_rules")
        .where("id", "=", id)
        .where("scope", "=", match.scope);
      if (match.userId !== undefined && match.userId !== null)
        query = query.where("user_id", "=", match.userId);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  createVerification(record: VerificationRecord): Promise<void> {
    return this.run("createVerification", async () => {
      await this.db
        .insertInto("sk_verifications")
        .values({
          id: record.id,
          kind: record.kind,
          session_id: record.sessionId,
          user_id: record.userId,
          code_hash: record.codeHash,
          approve_hash: record.approveHash,
          deny_hash: record.denyHash,
          attempts: record.attempts,
          expires_at: record.expiresAt,
          approved_at: record.approvedAt,
          used_at: record.usedAt,
          created_at: record.createdAt,
        })
        .execute();
    });
  }

  findVerification(id: string): Promise<VerificationRecord | null> {
    return this.run("findVerification", async () => {
      const row = await this.db
        .selectFrom("sk_verifications")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row ? fromVerificationRow(row) : null;
    });
  }

  findOpenVerification(
    sessionId: string,
    kind: "verification" | "reauth" = "verification",
  ): Promise<VerificationRecord | null> {
    return this.run("findOpenVerification", async () => {
      const row = await this.db
        .selectFrom("sk_verifications")
        .selectAll()
        .where("session_id", "=", sessionId)
        .where("kind", "=", kind)
        .where("used_at", "is", null)
        .orderBy("created_at", "desc")
        .orderBy("id")
        .limit(1)
        .executeTakeFirst();
      return row ? fromVerificationRow(row) : null;
    });
  }

  addVerificationAttempt(id: string): Promise<number | null> {
    return this.run("addVerificationAttempt", async () => {
      const result = await this.db
        .updateTable("sk_verifications")
        .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
        .where("id", "=", id)
        .where("used_at", "is", null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return null;
      const row = await this.db
        .selectFrom("sk_verifications")
        .select("attempts")
        .where("id", "=", id)
        .executeTakeFirst();
      return row ? Number(row.attempts) : null;
    });
  }

  approveVerification(id: string, now: number): Promise<boolean> {
    return this.run("approveVerification", async () => {
      const result = await this.db
        .updateTable("sk_verifications")
        .set({ approved_at: now })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .where("approved_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  spendVerification(id: string, now: number): Promise<boolean> {
    return this.run("spendVerification", async () => {
      const result = await this.db
        .updateTable("sk_verifications")
        .set({ used_at: now })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  isKnownDevice(userId: string, deviceId: string): Promise<boolean> {
    return this.run("isKnownDevice", () => this.#isKnown(userId, "device", deviceId));
  }

  isKnownIp(userId: string, ip: string): Promise<boolean> {
    return this.run("isKnownIp", () => this.#isKnown(userId, "ip", ip));
  }

  async #isKnown(userId: string, kind: "device" | "ip", value: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("sk_known_devices")
      .select("kind")
      .where("user_id", "=", userId)
      .where("kind", "=", kind)
      .where("value", "=", value)
      .executeTakeFirst();
    return row !== undefined;
  }

  rememberSignIn(
    userId: string,
    signIn: {
      deviceId: string | null;
      ip: string;
      at: number;
      latitude: number | null;
      longitude: number | null;
    },
  ): Promise<void> {
    return this.run("rememberSignIn", async () => {
      if (signIn.deviceId !== null)
        await this.#remember(userId, "device", signIn.deviceId, signIn.at, null, null);
      await this.#remember(userId, "ip", signIn.ip, signIn.at, signIn.latitude, signIn.longitude);
    });
  }

  async #remember(
    userId: string,
    kind: "device" | "ip",
    value: string,
    at: number,
    latitude: number | null,
    longitude: number | null,
  ): Promise<void> {
    const place = kind === "ip" ? { latitude, longitude } : {};
    await upsert(
      async () => {
        const result = await this.db
          .updateTable("sk_known_devices")
          .set({ last_seen_at: at, ...place })
          .where("user_id", "=", userId)
          .where("kind", "=", kind)
          .where("value", "=", value)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      },
      () =>
        this.db
          .insertInto("sk_known_devices")
          .values({
            user_id: userId,
            kind,
            value,
            first_seen_at: at,
            last_seen_at: at,
            latitude,
            longitude,
          })
          .execute(),
    );
  }

  previousSignIn(userId: string): Promise<PreviousSignIn | null> {
    return this.run("previousSignIn", async () => {
      const row = await this.db
        .selectFrom("sk_known_devices")
        .select(["value", "last_seen_at", "latitude", "longitude"])
        .where("user_id", "=", userId)
        .where("kind", "=", "ip")
        .orderBy("last_seen_at", "desc")
        .limit(1)
        .executeTakeFirst();
      if (!row) return null;
      return {
        ip: row.value,
        at: Number(row.last_seen_at),
        latitude: numOrNull(row.latitude),
        longitude: numOrNull(row.longitude),
      };
    });
  }

  pruneProtection(options: {
    now: number;
    verificationsBefore: number;
  }): Promise<{ counters: number; verifications: number }> {
    return this.run("pruneProtection", async () => {
      const counters = await this.db
        .deleteFrom("sk_counters")
        .where("reset_at", "<=", options.now)
        .executeTakeFirst();
      const verifications = await this.db
        .deleteFrom("sk_verifications")
        .where("expires_at", "<", options.verificationsBefore)
        .executeTakeFirst();
      return {
        counters: Number(counters.numDeletedRows),
        verifications: Number(verifications.numDeletedRows),
      };
    });
  }
}

/**
 * Update-or-insert without dialect-specific SQL. Two instances may both find no row and both
 * insert: the loser's insert fails on the primary key, and its second update then succeeds.
 */
async function upsert(
  update: () => Promise<boolean>,
  insert: () => Promise<unknown>,
): Promise<void> {
  if (await update()) return;
  try {
    await insert();
  } catch (error) {
    if (await update()) return;
    throw error;
  }
}

function numOrNull(value: number | string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function fromRuleRow(r: Selectable<IpRulesTable>): IpRule {
  return {
    id: r.id,
    scope: r.scope === "account" ? "account" : "global",
    userId: r.user_id,
    action: r.action === "allow" ? "allow" : "deny",
    cidr: r.cidr,
    note: r.note,
    createdAt: Number(r.created_at),
  };
}

function fromVerificationRow(r: Selectable<VerificationsTable>): VerificationRecord {
  return {
    id: r.id,
    kind: r.kind === "alert" ? "alert" : "verification",
    sessionId: r.session_id,
    userId: r.user_id,
    codeHash: r.code_hash,
    approveHash: r.approve_hash,
    denyHash: r.deny_hash,
    attempts: Number(r.attempts),
    expiresAt: Number(r.expires_at),
    approvedAt: numOrNull(r.approved_at),
    usedAt: numOrNull(r.used_at),
    createdAt: Number(r.created_at),
  };
}
