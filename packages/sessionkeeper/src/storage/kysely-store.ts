import { CompiledQuery, type Kysely, type Selectable, sql } from "kysely";
import { StorageError } from "../errors.js";
import type { MaybePromise } from "../maybe-promise.js";
import type {
  AuthFactor,
  DeviceKeyAlg,
  LoginEvent,
  PasskeyRecord,
  ReauthState,
  SessionRecord,
  SessionStatus,
} from "../types.js";
import type {
  EndSessionInput,
  SessionBinding,
  SessionStore,
  StoreHealth,
  StoreHealthCheck,
} from "./contract.js";
import { migrateToLatest } from "./migrations.js";
import type {
  Database,
  LoginEventsTable,
  PasskeysTable,
  ReauthStateTable,
  SessionsTable,
} from "./schema.js";

const LIVE: SessionStatus[] = ["active", "pending"];
/** Rows a page's stories may read at most (a few per sign-in is usual). */
const STORY_LIMIT = 2000;

export interface KyselyStoreOptions {
  /** Called once by `close()`, e.g. to end a pool the store was given. */
  onClose?: () => Promise<void> | void;
  /**
   * The dialect has `UPDATE … RETURNING` (SQLite, PostgreSQL): a user's sessions are ended in one
   * statement that reports exactly the rows it changed. Without it (MySQL, MariaDB) the live rows
   * are locked with `SELECT … FOR UPDATE` first. Default false.
   */
  updateReturning?: boolean;
}

/** A session store over SQL, with its Kysely instance (e.g. for `protectionStore(store.db)`). */
export interface SqlSessionStore extends SessionStore, StoreHealthCheck {
  readonly db: Kysely<Database>;
}

/**
 * The one SQL implementation of {@link SessionStore}, over any Kysely dialect (SQLite, PostgreSQL,
 * MySQL). Driver errors become `StorageError`s so adapters can fail closed with a 503.
 */
export function createKyselyStore(
  db: Kysely<Database>,
  options: KyselyStoreOptions = {},
): KyselyStore {
  return new KyselyStore(db, options);
}

export class KyselyStore implements SessionStore, StoreHealthCheck {
  #findSessionSql: string | undefined;

  constructor(
    readonly db: Kysely<Database>,
    private readonly options: KyselyStoreOptions = {},
  ) {}

  /** Runs a storage step and turns any driver failure into a StorageError naming the step. */
  protected async run<T>(step: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(`session storage failed during ${step}`, { cause: error });
    }
  }

  migrate(): Promise<void> {
    return this.run("migrate", () => migrateToLatest(this.db as Kysely<unknown>));
  }

  createSession(session: SessionRecord, event: LoginEvent): Promise<void> {
    return this.run("createSession", () =>
      this.db.transaction().execute(async (trx) => {
        await trx.insertInto("sk_sessions").values(toSessionRow(session)).execute();
        await trx.insertInto("sk_login_events").values(toEventRow(event)).execute();
      }),
    );
  }

  // Typed as the contract's MaybePromise so that a synchronous driver's store may answer at once.
  findSession(id: string): MaybePromise<SessionRecord | null> {
    return this.run("findSession", async () => {
      // Every request runs this one query: compile it once (the same SQL, a fresh parameter) rather
      // than build and compile it per request, which bench/ profiles showed on the request path.
      this.#findSessionSql ??= this.db
        .selectFrom("sk_sessions")
        .selectAll()
        .where("id", "=", "")
        .compile().sql;
      const { rows } = await this.db.executeQuery<Selectable<SessionsTable>>(
        CompiledQuery.raw(this.#findSessionSql, [id]),
      );
      const row = rows[0];
      return row ? fromSessionRow(row) : null;
    });
  }

  touchSession(id: string, update: Parameters<SessionStore["touchSession"]>[1]): Promise<boolean> {
    return this.run("touchSession", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({
          last_seen_at: update.lastSeenAt,
          last_ip: update.lastIp,
          ...(update.location ? update.location : {}),
        })
        .where("id", "=", id)
        .where("last_seen_at", "=", update.previousLastSeenAt)
        .where("status", "in", LIVE)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  rotateSession(
    id: string,
    update: Parameters<SessionStore["rotateSession"]>[1],
  ): Promise<boolean> {
    return this.run("rotateSession", () =>
      this.#withEvent(update.event, async (db) => {
        const result = await db
          .updateTable("sk_sessions")
          .set({
            secret_hash: update.secretHash,
            ...(update.status ? { status: update.status } : {}),
            // A new proof starts a new window: the sliding mark of the old one goes.
            ...(update.proof
              ? {
                  authenticated_at: update.proof.at,
                  auth_factor: update.proof.factor,
                  proof_used_at: null,
                }
              : {}),
          })
          .where("id", "=", id)
          .where("status", "=", update.expectStatus)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      }),
    );
  }

  /**
   * Runs a single-row write; with an event, in a transaction that also inserts the event when the
   * write changed the row, so a crash between the two cannot leave the state without its history.
   */
  #withEvent(
    event: LoginEvent | undefined,
    write: (db: Kysely<Database>) => Promise<boolean>,
  ): Promise<boolean> {
    if (!event) return write(this.db);
    return this.db.transaction().execute(async (trx) => {
      const changed = await write(trx);
      if (changed) await trx.insertInto("sk_login_events").values(toEventRow(event)).execute();
      return changed;
    });
  }

  updateSessionData(id: string, update: { data: string | null }): Promise<boolean> {
    return this.run("updateSessionData", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({ data: update.data })
        .where("id", "=", id)
        .where("status", "=", "active")
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  markProofUsed(id: string, update: { at: number }): Promise<boolean> {
    return this.run("markProofUsed", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({ proof_used_at: update.at })
        .where("id", "=", id)
        .where("status", "=", "active")
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  renameSession(
    id: string,
    update: Parameters<SessionStore["renameSession"]>[1],
  ): Promise<boolean> {
    return this.run("renameSession", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({ name: update.name })
        .where("id", "=", id)
        .where("user_id", "=", update.userId)
        .where("status", "in", LIVE)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  deviceSignIns(userId: string, deviceId: string): ReturnType<SessionStore["deviceSignIns"]> {
    return this.run("deviceSignIns", async () => {
      // The (user_id, device_id) index finds the rows; only proven sign-ins count.
      const row = await this.db
        .selectFrom("sk_sessions")
        .select((eb) => [eb.fn.countAll().as("count"), eb.fn.min("created_at").as("first")])
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("authenticated_at", "is not", null)
        .executeTakeFirst();
      const count = Number(row?.count ?? 0);
      return { count, firstAt: count > 0 ? numOrNull(row?.first ?? null) : null };
    });
  }

  listUserSessions(
    userId: string,
    options: Parameters<SessionStore["listUserSessions"]>[1],
  ): Promise<SessionRecord[]> {
    return this.run("listUserSessions", async () => {
      let query = this.db.selectFrom("sk_sessions").selectAll().where("user_id", "=", userId);
      if (!options.includeEnded) query = query.where("status", "in", LIVE);
      if (!options.includeEnded && options.liveAt) {
        const { now, idleTimeout, browserSessionIdleTimeout: short } = options.liveAt;
        query = query.where("expires_at", ">", now).where("last_seen_at", ">", now - idleTimeout);
        if (short !== undefined && short < idleTimeout)
          query = query.where((eb) =>
            eb.or([eb("remember_me", "<>", 0), eb("last_seen_at", ">", now - short)]),
          );
      }
      const rows = await query
        .orderBy("last_seen_at", "desc")
        .orderBy("id")
        .limit(options.limit)
        .execute();
      return rows.map(fromSessionRow);
    });
  }

  endSession(
    id: string,
    end: EndSessionInput,
    options: { userId?: string; event?: LoginEvent } = {},
  ): Promise<boolean> {
    return this.run("endSession", () =>
      this.#withEvent(options.event, async (db) => {
        let query = db
          .updateTable("sk_sessions")
          .set({ status: end.status, end_reason: end.reason, ended_at: end.endedAt })
          .where("id", "=", id)
          .where("status", "in", LIVE);
        if (options.userId !== undefined) query = query.where("user_id", "=", options.userId);
        const result = await query.executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      }),
    );
  }

  endUserSessions(
    userId: string,
    end: EndSessionInput,
    options: { exceptId?: string; eventFor?: (ended: SessionRecord) => LoginEvent } = {},
  ): Promise<string[]> {
    const ended = { status: end.status, end_reason: end.reason, ended_at: end.endedAt };
    const eventFor = options.eventFor;
    // Only the ids this call changed: one another request ended at the same moment is its own
    // (and its event too), so it must not be reported, or the history would show it twice.
    if (this.options.updateReturning && !eventFor) {
      return this.run("endUserSessions", async () => {
        let update = this.db
          .updateTable("sk_sessions")
          .set(ended)
          .where("user_id", "=", userId)
          .where("status", "in", LIVE);
        if (options.exceptId !== undefined) update = update.where("id", "!=", options.exceptId);
        return (await update.returning("id").execute()).map((r) => r.id);
      });
    }
    // With events: the rows ended and their events in one transaction, so that a crash cannot
    // leave ended sessions without their history.
    return this.run("endUserSessions", () =>
      this.db.transaction().execute(async (trx) => {
        let records: SessionRecord[];
        if (this.options.updateReturning) {
          let update = trx
            .updateTable("sk_sessions")
            .set(ended)
            .where("user_id", "=", userId)
            .where("status", "in", LIVE);
          if (options.exceptId !== undefined) update = update.where("id", "!=", options.exceptId);
          records = (await update.returningAll().execute()).map(fromSessionRow);
        } else {
          let select = trx
            .selectFrom("sk_sessions")
            .selectAll()
            .where("user_id", "=", userId)
            .where("status", "in", LIVE)
            // A locking read waits for a concurrent ending to commit and then sees it.
            .forUpdate();
          if (options.exceptId !== undefined) select = select.where("id", "!=", options.exceptId);
          const rows = (await select.execute()).map(fromSessionRow);
          if (rows.length === 0) return [];
          await trx
            .updateTable("sk_sessions")
            .set(ended)
            .where(
              "id",
              "in",
              rows.map((r) => r.id),
            )
            .where("status", "in", LIVE)
            .execute();
          records = rows.map((r) => ({
            ...r,
            status: end.status,
            endReason: end.reason,
            endedAt: end.endedAt,
          }));
        }
        if (eventFor && records.length > 0) {
          await trx
            .insertInto("sk_login_events")
            .values(records.map((r) => toEventRow(eventFor(r))))
            .execute();
        }
        return records.map((r) => r.id);
      }),
    );
  }

  bindSession(id: string, binding: SessionBinding): Promise<boolean> {
    return this.run("bindSession", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({
          dbsc_key: binding.key,
          dbsc_alg: binding.alg,
          dbsc_cookie_hash: binding.cookieHash,
          dbsc_cookie_expires_at: binding.cookieExpiresAt,
          dbsc_bound_at: binding.boundAt,
        })
        .where("id", "=", id)
        .where("status", "=", "active")
        // Never re-bound: whoever held both cookies for a moment must not move it to their own key.
        .where("dbsc_key", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  refreshBinding(
    id: string,
    update: { cookieHash: string; cookieExpiresAt: number },
  ): Promise<boolean> {
    return this.run("refreshBinding", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({
          dbsc_cookie_hash: update.cookieHash,
          dbsc_cookie_expires_at: update.cookieExpiresAt,
        })
        .where("id", "=", id)
        .where("status", "=", "active")
        .where("dbsc_key", "is not", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  endBinding(id: string): Promise<boolean> {
    return this.run("endBinding", async () => {
      const result = await this.db
        .updateTable("sk_sessions")
        .set({ dbsc_cookie_hash: null, dbsc_cookie_expires_at: null })
        .where("id", "=", id)
        .where("status", "not in", LIVE)
        .where("dbsc_cookie_hash", "is not", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  addDeviceChallenge(challenge: {
    hash: string;
    sessionId: string;
    expiresAt: number;
    keep?: number;
  }): Promise<void> {
    return this.run("addDeviceChallenge", async () => {
      await this.db
        .insertInto("sk_dbsc_challenges")
        .values({
          hash: challenge.hash,
          session_id: challenge.sessionId,
          expires_at: challenge.expiresAt,
        })
        .execute();
      if (challenge.keep === undefined) return;
      // Two statements (MySQL refuses LIMIT in an IN subquery); a race keeps one or two more.
      const rows = await this.db
        .selectFrom("sk_dbsc_challenges")
        .select("hash")
        .where("session_id", "=", challenge.sessionId)
        .orderBy("expires_at", "desc")
        .orderBy("hash", "desc")
        .limit(challenge.keep + 50)
        .execute();
      const older = rows.slice(challenge.keep).map((r) => r.hash);
      if (older.length > 0)
        await this.db
          .deleteFrom("sk_dbsc_challenges")
          .where("session_id", "=", challenge.sessionId)
          .where("hash", "in", older)
          .execute();
    });
  }

  takeDeviceChallenge(hash: string, options: { sessionId: string; now: number }): Promise<boolean> {
    return this.run("takeDeviceChallenge", async () => {
      // Deleting it is using it: of two requests (or instances) presenting it, one deletes the row.
      const result = await this.db
        .deleteFrom("sk_dbsc_challenges")
        .where("hash", "=", hash)
        .where("session_id", "=", options.sessionId)
        .where("expires_at", ">", options.now)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  recordEvent(event: LoginEvent): Promise<void> {
    return this.run("recordEvent", async () => {
      await this.db.insertInto("sk_login_events").values(toEventRow(event)).execute();
    });
  }

  listEvents(userId: string, options: { limit: number }): Promise<LoginEvent[]> {
    return this.run("listEvents", async () => {
      const rows = await this.db
        .selectFrom("sk_login_events")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(options.limit)
        .execute();
      return rows.map(fromEventRow);
    });
  }

  listEventsPage(
    userId: string,
    options: Parameters<SessionStore["listEventsPage"]>[1],
  ): Promise<LoginEvent[]> {
    return this.run("listEventsPage", async () => {
      const { before, types } = options;
      if (types && types.length === 0) return [];
      let query = this.db
        .selectFrom("sk_login_events")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(options.limit);
      // Keyset: a range on the (user_id, created_at, id) index, walked backwards, as fast on page
      // 500 as on page 1. `<=` bounds the range on every dialect; the OR settles ties in time.
      if (before)
        query = query
          .where("created_at", "<=", before.at)
          .where((eb) => eb.or([eb("created_at", "<", before.at), eb("id", "<", before.id)]));
      if (types) query = query.where("type", "in", [...types]);
      return (await query.execute()).map(fromEventRow);
    });
  }

  listSessionEvents(userId: string, sessionIds: readonly string[]): Promise<LoginEvent[]> {
    return this.run("listSessionEvents", async () => {
      if (sessionIds.length === 0) return [];
      // By session id alone, so the planner takes the session index (with user_id in the query,
      // SQLite would walk all of the user's events instead); the user is checked on the rows.
      const rows = await this.db
        .selectFrom("sk_login_events")
        .selectAll()
        .where("session_id", "in", [...sessionIds])
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(STORY_LIMIT)
        .execute();
      return rows.filter((r) => r.user_id === userId).map(fromEventRow);
    });
  }

  prune(
    options: Parameters<SessionStore["prune"]>[0],
  ): Promise<{ sessions: number; events: number }> {
    return this.run("prune", async () => {
      const sessions = await this.db
        .deleteFrom("sk_sessions")
        .where((eb) =>
          eb.or([
            eb.and([eb("status", "not in", LIVE), eb("ended_at", "<", options.endedBefore)]),
            eb.and([eb("status", "in", LIVE), eb("expires_at", "<", options.expiredBefore)]),
            eb.and([eb("status", "in", LIVE), eb("last_seen_at", "<", options.idleBefore)]),
          ]),
        )
        .executeTakeFirst();
      if (options.challengesBefore !== undefined)
        await this.db
          .deleteFrom("sk_dbsc_challenges")
          .where("expires_at", "<", options.challengesBefore)
          .execute();
      const events = await this.db
        .deleteFrom("sk_login_events")
        .where("created_at", "<", options.eventsBefore)
        .executeTakeFirst();
      // An expired challenge or kept post can serve nothing: with `challengesBefore` (the keeper
      // passes now) they all go, sign-in ceremonies anyone can start among them.
      await this.db
        .deleteFrom("sk_reauth_state")
        .where("expires_at", "<", options.challengesBefore ?? options.expiredBefore)
        .execute();
      return { sessions: Number(sessions.numDeletedRows), events: Number(events.numDeletedRows) };
    });
  }

  /** One trivial query: `{ ok: true }` when it answers; a failure rejects with a `StorageError`. */
  checkHealth(): Promise<StoreHealth> {
    return this.run("checkHealth", async () => {
      await sql`select 1`.execute(this.db);
      return { ok: true } as const;
    });
  }

  async close(): Promise<void> {
    await this.options.onClose?.();
  }

  addPasskey(passkey: PasskeyRecord): Promise<void> {
    return this.run("addPasskey", async () => {
      await this.db.insertInto("sk_passkeys").values(toPasskeyRow(passkey)).execute();
    });
  }

  listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return this.run("listPasskeys", async () => {
      const rows = await this.db
        .selectFrom("sk_passkeys")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at", "asc")
        .orderBy("id", "asc")
        .execute();
      return rows.map(fromPasskeyRow);
    });
  }

  findPasskey(id: string): Promise<PasskeyRecord | null> {
    return this.run("findPasskey", async () => {
      const row = await this.db
        .selectFrom("sk_passkeys")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row ? fromPasskeyRow(row) : null;
    });
  }

  renamePasskey(id: string, update: { userId: string; name: string }): Promise<boolean> {
    return this.run("renamePasskey", async () => {
      const result = await this.db
        .updateTable("sk_passkeys")
        .set({ name: update.name })
        .where("id", "=", id)
        .where("user_id", "=", update.userId)
        .executeTakeFirst();
      // MySQL counts changed rows only: a rename to the same name still found the passkey.
      return Number(result.numUpdatedRows) > 0 || (await this.#ownsPasskey(id, update.userId));
    });
  }

  async #ownsPasskey(id: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("sk_passkeys")
      .select("id")
      .where("id", "=", id)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  removePasskey(id: string, match: { userId: string }): Promise<boolean> {
    return this.run("removePasskey", async () => {
      const result = await this.db
        .deleteFrom("sk_passkeys")
        .where("id", "=", id)
        .where("user_id", "=", match.userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  recordPasskeyUse(id: string, update: { counter: number; usedAt: number }): Promise<boolean> {
    return this.run("recordPasskeyUse", async () => {
      const result = await this.db
        .updateTable("sk_passkeys")
        .set({ counter: update.counter, last_used_at: update.usedAt })
        .where("id", "=", id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  saveReauthState(state: ReauthState): Promise<void> {
    return this.run("saveReauthState", () =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .updateTable("sk_reauth_state")
          .set({ used_at: state.createdAt })
          .where("session_id", "=", state.sessionId)
          .where("kind", "=", state.kind)
          .where("used_at", "is", null)
          .execute();
        await trx.insertInto("sk_reauth_state").values(toStateRow(state)).execute();
      }),
    );
  }

  findReauthStates(
    sessionId: string,
    kind: ReauthState["kind"],
    now: number,
  ): Promise<ReauthState[]> {
    return this.run("findReauthStates", async () => {
      const rows = await this.db
        .selectFrom("sk_reauth_state")
        .selectAll()
        .where("session_id", "=", sessionId)
        .where("kind", "=", kind)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .orderBy("created_at", "desc")
        .limit(5)
        .execute();
      return rows.map(fromStateRow);
    });
  }

  spendReauthState(id: string, now: number): Promise<boolean> {
    return this.run("spendReauthState", async () => {
      const result = await this.db
        .updateTable("sk_reauth_state")
        .set({ used_at: now })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }
}

function toPasskeyRow(p: PasskeyRecord): PasskeysTable {
  return {
    id: p.id,
    user_id: p.userId,
    name: p.name,
    public_key: p.publicKey,
    counter: p.counter,
    transports: p.transports.length > 0 ? p.transports.join(",") : null,
    created_at: p.createdAt,
    last_used_at: p.lastUsedAt,
  };
}

function fromPasskeyRow(r: Selectable<PasskeysTable>): PasskeyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    publicKey: r.public_key,
    counter: num(r.counter),
    transports: r.transports ? r.transports.split(",") : [],
    createdAt: num(r.created_at),
    lastUsedAt: numOrNull(r.last_used_at),
  };
}

function toStateRow(s: ReauthState): ReauthStateTable {
  return {
    id: s.id,
    session_id: s.sessionId,
    kind: s.kind,
    secret_hash: s.secretHash,
    path: s.path,
    data: s.data,
    expires_at: s.expiresAt,
    used_at: s.usedAt,
    created_at: s.createdAt,
  };
}

function fromStateRow(r: Selectable<ReauthStateTable>): ReauthState {
  return {
    id: r.id,
    sessionId: r.session_id,
    kind: r.kind as ReauthState["kind"],
    secretHash: r.secret_hash,
    path: r.path,
    data: r.data,
    expiresAt: num(r.expires_at),
    usedAt: numOrNull(r.used_at),
    createdAt: num(r.created_at),
  };
}

function num(value: number | string): number {
  return typeof value === "number" ? value : Number(value);
}

function numOrNull(value: number | string | null): number | null {
  return value === null ? null : num(value);
}

export function toSessionRow(s: SessionRecord): SessionsTable {
  return {
    id: s.id,
    secret_hash: s.secretHash,
    user_id: s.userId,
    status: s.status,
    end_reason: s.endReason,
    created_at: s.createdAt,
    last_seen_at: s.lastSeenAt,
    expires_at: s.expiresAt,
    ended_at: s.endedAt,
    ip: s.ip,
    last_ip: s.lastIp,
    user_agent: s.userAgent,
    browser_name: s.browserName,
    browser_version: s.browserVersion,
    os_name: s.osName,
    os_version: s.osVersion,
    device_type: s.deviceType,
    country: s.country,
    region: s.region,
    city: s.city,
    device_id: s.deviceId,
    remember_me: s.rememberMe ? 1 : 0,
    data: s.data,
    authenticated_at: s.authenticatedAt,
    auth_factor: s.authFactor,
    proof_used_at: s.proofUsedAt,
    dbsc_key: s.deviceKey,
    dbsc_alg: s.deviceKeyAlg,
    dbsc_cookie_hash: s.boundCookieHash,
    dbsc_cookie_expires_at: s.boundCookieExpiresAt,
    dbsc_bound_at: s.boundAt,
    name: s.name,
    device_model: s.deviceModel,
  };
}

export function fromSessionRow(r: Selectable<SessionsTable>): SessionRecord {
  return {
    id: r.id,
    secretHash: r.secret_hash,
    userId: r.user_id,
    status: r.status as SessionStatus,
    endReason: r.end_reason,
    createdAt: num(r.created_at),
    lastSeenAt: num(r.last_seen_at),
    expiresAt: num(r.expires_at),
    endedAt: numOrNull(r.ended_at),
    ip: r.ip,
    lastIp: r.last_ip,
    userAgent: r.user_agent,
    browserName: r.browser_name,
    browserVersion: r.browser_version,
    osName: r.os_name,
    osVersion: r.os_version,
    deviceType: r.device_type,
    country: r.country,
    region: r.region,
    city: r.city,
    deviceId: r.device_id,
    // 0 or 1 from every driver (some as a string); a row from before migration 0003 reads as 1.
    rememberMe: Number(r.remember_me ?? 1) !== 0,
    data: r.data ?? null,
    authenticatedAt: numOrNull(r.authenticated_at),
    authFactor: r.auth_factor as AuthFactor | null,
    proofUsedAt: numOrNull(r.proof_used_at),
    // Absent (undefined) on a row read before migration 0005 ran: not bound.
    deviceKey: r.dbsc_key ?? null,
    deviceKeyAlg: (r.dbsc_alg ?? null) as DeviceKeyAlg | null,
    boundCookieHash: r.dbsc_cookie_hash ?? null,
    boundCookieExpiresAt: numOrNull(r.dbsc_cookie_expires_at ?? null),
    boundAt: numOrNull(r.dbsc_bound_at ?? null),
    // Rows from before migration 0007 have neither column: null.
    name: r.name ?? null,
    deviceModel: r.device_model ?? null,
  };
}

function toEventRow(e: LoginEvent): LoginEventsTable {
  return {
    id: e.id,
    user_id: e.userId,
    session_id: e.sessionId,
    type: e.type,
    reason: e.reason,
    ip: e.ip,
    user_agent: e.userAgent,
    browser_name: e.browserName,
    browser_version: e.browserVersion,
    os_name: e.osName,
    os_version: e.osVersion,
    device_type: e.deviceType,
    country: e.country,
    region: e.region,
    city: e.city,
    created_at: e.createdAt,
  };
}

function fromEventRow(r: Selectable<LoginEventsTable>): LoginEvent {
  return {
    id: r.id,
    userId: r.user_id,
    sessionId: r.session_id,
    type: r.type,
    reason: r.reason,
    ip: r.ip,
    userAgent: r.user_agent,
    browserName: r.browser_name,
    browserVersion: r.browser_version,
    osName: r.os_name,
    osVersion: r.os_version,
    deviceType: r.device_type,
    country: r.country,
    region: r.region,
    city: r.city,
    createdAt: num(r.created_at),
  };
}
