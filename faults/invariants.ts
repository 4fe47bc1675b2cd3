import Database from "better-sqlite3";
import pg from "pg";
import { clock, type Record } from "./model.js";

/**
 * What the database must never hold, counted after each fault. All but the last must be 0: the
 * first two are "half-made" sessions; the next two a state change without its history line (each
 * change and its event are one transaction). Pending sessions without a mail row are reported.
 */
export interface DbCounts {
  /** A session row without its sign_in event (they are written in one transaction). */
  sessionWithoutSignInEvent: number;
  /** An active session whose sign-in was held for verification, with no approved or used verification. */
  activeWithoutVerification: number;
  /** A held session activated without its session_activated event. */
  activatedWithoutEvent: number;
  /** An ended session without any end event. */
  endedWithoutEvent: number;
  /** Reported: a pending session with no verification mail row (it can never be activated; it expires). */
  pendingWithoutVerification: number;
}

/** The two databases the suite reads (PostgreSQL for the cluster, SQLite for the disk-full fault). */
export interface Db {
  count(sql: string): Promise<number>;
  ends(ids: string[]): Promise<Map<string, { ended: number | null; expires: number }>>;
  close(): Promise<void>;
}

export async function pgDb(url: string): Promise<Db> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    count: async (sql) => Number((await client.query(sql)).rows[0].n),
    async ends(ids) {
      const rows = new Map<string, { ended: number | null; expires: number }>();
      for (let i = 0; i < ids.length; i += 5000) {
        const res = await client.query(
          "SELECT id, ended_at, expires_at FROM sk_sessions WHERE id = ANY($1)",
          [ids.slice(i, i + 5000)],
        );
        for (const row of res.rows)
          rows.set(row.id, {
            ended: row.ended_at === null ? null : Number(row.ended_at),
            expires: Number(row.expires_at),
          });
      }
      return rows;
    },
    close: () => client.end(),
  };
}

export function sqliteDb(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  return {
    count: async (sql) => Number((db.prepare(sql).get() as { n: number }).n),
    async ends(ids) {
      const rows = new Map<string, { ended: number | null; expires: number }>();
      const get = db.prepare("SELECT ended_at, expires_at FROM sk_sessions WHERE id = ?");
      for (const id of ids) {
        const row = get.get(id) as { ended_at: number | null; expires_at: number } | undefined;
        if (row)
          rows.set(id, {
            ended: row.ended_at === null ? null : Number(row.ended_at),
            expires: Number(row.expires_at),
          });
      }
      return rows;
    },
    close: async () => void db.close(),
  };
}

export async function countDb(db: Db): Promise<DbCounts> {
  const one = (sql: string) => db.count(sql);
  const heldSignIn = `EXISTS (SELECT 1 FROM sk_login_events e WHERE e.session_id = s.id AND e.type = 'sign_in' AND e.reason = 'pending_verification')`;
  return {
    sessionWithoutSignInEvent: await one(
      `SELECT count(*) AS n FROM sk_sessions s WHERE NOT EXISTS (SELECT 1 FROM sk_login_events e WHERE e.session_id = s.id AND e.type = 'sign_in')`,
    ),
    activeWithoutVerification: await one(
      `SELECT count(*) AS n FROM sk_sessions s WHERE s.status = 'active' AND ${heldSignIn}
         AND NOT EXISTS (SELECT 1 FROM sk_verifications v WHERE v.session_id = s.id AND v.kind = 'verification'
                         AND (v.approved_at IS NOT NULL OR v.used_at IS NOT NULL))`,
    ),
    activatedWithoutEvent: await one(
      `SELECT count(*) AS n FROM sk_sessions s WHERE s.status = 'active' AND ${heldSignIn}
         AND NOT EXISTS (SELECT 1 FROM sk_login_events e WHERE e.session_id = s.id AND e.type = 'session_activated')`,
    ),
    // Ended over 5 s ago: the load goes on while this runs, and a request may be between the
    // two writes right now.
    endedWithoutEvent: await one(
      `SELECT count(*) AS n FROM sk_sessions s WHERE s.status NOT IN ('active', 'pending') AND s.ended_at < ${Date.now() - 5000}
         AND NOT EXISTS (SELECT 1 FROM sk_login_events e WHERE e.session_id = s.id
                         AND e.type NOT IN ('sign_in', 'session_activated', 'token_rotated'))`,
    ),
    pendingWithoutVerification: await one(
      `SELECT count(*) AS n FROM sk_sessions s WHERE s.status = 'pending'
         AND NOT EXISTS (SELECT 1 FROM sk_verifications v WHERE v.session_id = s.id)`,
    ),
  };
}

/** Margin for the database cross-check: a request that began this long after ended_at must be refused. */
export const DB_END_MARGIN_MS = 2000;

/**
 * The answers against the database: a 200 for a session whose row says it had ended (ended_at)
 * or expired (expires_at) before the request began. Catches ends whose answer the suite never
 * saw (a 503 that still committed, an instance killed after the write).
 */
export async function acceptedAfterEndInDb(
  db: Db,
  records: Record[],
): Promise<{ afterEnd: number; afterExpiry: number }> {
  const ok = records.filter((r) => r.op === "validate" && r.answer.status === 200 && r.token);
  const rows = await db.ends([...new Set(ok.map((r) => r.token?.id as string))]);
  let afterEnd = 0;
  let afterExpiry = 0;
  for (const r of ok) {
    const row = rows.get(r.token?.id as string);
    if (!row) continue;
    const began = clock.toEpoch(r.answer.startedAt);
    if (row.ended !== null && row.ended < began - DB_END_MARGIN_MS) afterEnd++;
    if (row.expires < began) afterExpiry++;
  }
  return { afterEnd, afterExpiry };
}
