import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { createSessionKeeper, type SessionKeeper, type SessionStore } from "sessionkeeper";
import { hashPassword } from "../apps/demo/src/passwords.js";
import { sessionIdOf, type Token, type User } from "./model.js";

export const PASSWORD = "correct horse battery";
const INFO = {
  cookieHeader: null,
  ip: "127.0.0.1",
  userAgent: "Mozilla/5.0 (X11; Linux x86_64) faults-seed/1.0 Chrome/131.0 Safari/537.36",
  secure: false,
};

/**
 * Users go straight into the demo's own table (one scrypt hash for all: seeding thousands of
 * accounts through sign-up would cost a scrypt each). Sessions are made by the keeper's own
 * signIn, the library's one life cycle, in this process, on the same database.
 */
export class Seeder {
  readonly keeper: SessionKeeper;
  readonly shortKeeper: SessionKeeper;
  #hash: Promise<string>;

  constructor(
    readonly store: SessionStore,
    readonly db: Kysely<unknown>,
    options: { shortLifetime: string },
  ) {
    this.keeper = createSessionKeeper({ storage: store });
    // Sessions that expire during the run: a validation after their expiry must be refused.
    this.shortKeeper = createSessionKeeper({
      storage: store,
      absoluteTimeout: options.shortLifetime,
    });
    this.#hash = hashPassword(PASSWORD);
  }

  async users(count: number, prefix: string): Promise<User[]> {
    const hash = await this.#hash;
    const now = Date.now();
    const users: User[] = [];
    const rows = [];
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      const email = `${prefix}${i}@faults.example`;
      rows.push({ id, email, password_hash: hash, created_at: now });
      users.push({
        id,
        email,
        password: PASSWORD,
        live: [],
        ended: [],
        busy: false,
        retired: false,
      });
    }
    const db = this.db as Kysely<{ demo_users: (typeof rows)[number] }>;
    for (let i = 0; i < rows.length; i += 500)
      await db
        .insertInto("demo_users")
        .values(rows.slice(i, i + 500))
        .execute();
    return users;
  }

  async session(user: User, options: { short?: boolean } = {}): Promise<Token> {
    const keeper = options.short ? this.shortKeeper : this.keeper;
    const result = await keeper.signIn(user.id, INFO, { replaces: null });
    const cookie = result.setCookies[0] as string;
    const value = cookie.slice(cookie.indexOf("=") + 1, cookie.indexOf(";"));
    const token: Token = {
      value,
      id: sessionIdOf(value),
      userId: user.id,
      expiresAt: result.record.expiresAt,
      endedAt: null,
      uncertain: false,
    };
    user.live.push(token);
    return token;
  }
}
