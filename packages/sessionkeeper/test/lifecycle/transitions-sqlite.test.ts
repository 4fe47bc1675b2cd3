import Database from "better-sqlite3";
import { createSessionKeeper } from "../../src/session-keeper.js";
import { sqliteStorage } from "../../src/storage/sqlite.js";
import { tempSqlite } from "../helpers/sqlite-fixture.js";
import { runTransitionTable } from "./transition-table.js";

// Two instances on one SQLite file: separate connections, each with its own read cache, kept
// coherent by the other's commits (PRAGMA data_version).
runTransitionTable("SQLite, two connections with their read caches", async () => {
  const t = await tempSqlite("sk-transitions-");
  const clock = { now: Date.UTC(2026, 0, 5, 9) };
  const timeouts = { idleTimeout: "10m", absoluteTimeout: "1h", now: () => clock.now } as const;
  const a = createSessionKeeper({ storage: t.store, ...timeouts });
  const second = new Database(t.file);
  const b = createSessionKeeper({ storage: sqliteStorage(second), ...timeouts });
  await a.migrate();
  return {
    a,
    b,
    clock,
    async close() {
      await b.close();
      await t.cleanup();
    },
  };
});
