import type { Kysely } from "kysely";
import { openStorage } from "sessionkeeper";
import type { DemoDeps } from "./app.js";

/**
 * Opens the database DATABASE_URL names (`sqlite:<path>`, `postgres://…`, `mysql://…`). The demo
 * keeps its own users table beside the sessions, on the same Kysely handle.
 */
export async function openDemoStorage(url: string): Promise<DemoDeps["storage"]> {
  const opened = await openStorage(url);
  return {
    store: opened.store,
    db: opened.store.db as unknown as Kysely<unknown>,
    close: () => opened.close(),
  };
}
