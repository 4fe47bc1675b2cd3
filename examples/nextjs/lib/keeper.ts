import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { createSessionKeeper, type SessionKeeper } from "sessionkeeper";
import { sqliteStorage } from "sessionkeeper/sqlite";

// One keeper per server process. Next may load this module once per route bundle, so the keeper
// lives on globalThis: two keepers on one SQLite file would each cache and touch on their own.
const KEY = Symbol.for("sessionkeeper-example-next.keeper");
type Holder = { [KEY]?: Promise<SessionKeeper> };

/** The process's keeper, migrated before first use. */
export function getKeeper(): Promise<SessionKeeper> {
  const holder = globalThis as Holder;
  holder[KEY] ??= open();
  return holder[KEY];
}

async function open(): Promise<SessionKeeper> {
  const path = process.env.DATABASE_PATH ?? "data/next-example.db";
  mkdirSync(dirname(path), { recursive: true });
  const keeper = createSessionKeeper({
    storage: sqliteStorage(new Database(path)),
    // Route handlers never see the socket: `next start` passes the peer address on as
    // X-Forwarded-For (only when the request has none). Trust exactly one hop only when a proxy
    // you run sits in front and appends to that header; without it the client's IP is unknown.
    ...(process.env.TRUST_PROXY === "1" ? { trustProxy: 1 } : {}),
  });
  await keeper.migrate();
  return keeper;
}
