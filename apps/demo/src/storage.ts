import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { sqliteStorage } from "sessionkeeper/sqlite";
import type { DemoDeps } from "./app.js";

/** Opens the database named by DATABASE_URL. */
export async function openDemoStorage(url: string): Promise<DemoDeps["storage"]> {
  if (url.startsWith("sqlite:") || !url.includes("://")) {
    const path = resolve(url.startsWith("sqlite:") ? url.slice("sqlite:".length) : url);
    mkdirSync(dirname(path), { recursive: true });
    const store = sqliteStorage(new Database(path));
    return { store, db: store.db as never, close: () => store.close() };
  }
  throw new Error(`DATABASE_URL scheme not supported yet: ${url.split(":")[0]}`);
}
