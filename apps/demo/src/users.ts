import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { StorageError } from "sessionkeeper";

/** The demo's own accounts table, kept in the same database as the sessions. */
interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: number | string;
}
interface DemoDatabase {
  demo_users: UsersTable;
}

export interface User {
  id: string;
  email: string;
  createdAt: number;
}

export class EmailTakenError extends Error {
  override readonly name = "EmailTakenError";
}

// Refused anywhere in an address, before trimming: C0 and C1 controls (NUL included), format
// characters (bidi overrides and isolates U+202A–202E and U+2066–2069, zero-width U+200B–200D,
// U+2060, U+FEFF, the soft hyphen), lone surrogates, private-use and unassigned code points (all
// of \p{C}), and U+FFFD, what invalid UTF-8 in a request body decodes to. They make the address a
// person reads differ from the one stored and mailed. The library's mailer refuses them too.
const BAD_CHARACTER = /[\p{C}\uFFFD]/u;

/**
 * Normalises an e-mail address for lookup (trimmed, NFC, lower-cased) or returns null when it is
 * not a plausible address. Bounded at 254 characters, the SMTP limit.
 */
export function normalizeEmail(value: unknown): string | null {
  if (typeof value !== "string" || BAD_CHARACTER.test(value)) return null;
  const email = value.trim().normalize("NFC").toLowerCase();
  if (email.length < 3 || email.length > 254) return null;
  // One bare address: no list separators (",", ";"), groups (":"), comments or quoting, which a
  // mail library would read as a second recipient.
  if (!/^[^\s@<>"'`,;:()[\]\\]+@[^\s@<>"'`,;:()[\]\\]+\.[^\s@<>"'`,;:()[\]\\]+$/.test(email))
    return null;
  return email;
}

/** A database failure in the users table is a storage failure too: the app answers 503, not 500. */
async function guarded<T>(step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof EmailTakenError || error instanceof StorageError) throw error;
    throw new StorageError(`users table failed during ${step}`, { cause: error });
  }
}

export class UserStore {
  readonly #db: Kysely<DemoDatabase>;

  constructor(db: Kysely<unknown>) {
    this.#db = db as Kysely<DemoDatabase>;
  }

  async migrate(): Promise<void> {
    try {
      await this.#db.schema
        .createTable("demo_users")
        .ifNotExists()
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("email", "varchar(254)", (c) => c.notNull().unique())
        .addColumn("password_hash", "varchar(255)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
    } catch (error) {
      // Two instances starting together can race on CREATE TABLE; fine if the table now exists.
      const exists = await this.#db
        .selectFrom("demo_users")
        .select("id")
        .limit(1)
        .execute()
        .then(
          () => true,
          () => false,
        );
      if (!exists) throw error;
    }
  }

  async create(email: string, passwordHash: string): Promise<User> {
    const user = { id: randomUUID(), email, password_hash: passwordHash, created_at: Date.now() };
    try {
      await this.#db.insertInto("demo_users").values(user).execute();
    } catch (error) {
      if (await this.findByEmail(email)) throw new EmailTakenError("email taken");
      throw new StorageError("users table failed during create", { cause: error });
    }
    return { id: user.id, email, createdAt: user.created_at };
  }

  findByEmail(email: string): Promise<(User & { passwordHash: string }) | null> {
    return this.#findBy("email", email);
  }

  findById(id: string): Promise<(User & { passwordHash: string }) | null> {
    return this.#findBy("id", id);
  }

  async #findBy(column: "id" | "email", value: string) {
    const row = await guarded("find", () =>
      this.#db.selectFrom("demo_users").selectAll().where(column, "=", value).executeTakeFirst(),
    );
    if (!row) return null;
    return {
      id: row.id,
      email: row.email,
      createdAt: Number(row.created_at),
      passwordHash: row.password_hash,
    };
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await guarded("setPassword", () =>
      this.#db
        .updateTable("demo_users")
        .set({ password_hash: passwordHash })
        .where("id", "=", id)
        .execute(),
    );
  }
}

export function publicUser(user: User) {
  return { id: user.id, email: user.email, createdAt: new Date(user.createdAt).toISOString() };
}
