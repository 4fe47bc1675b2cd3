import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh directory for one example's SQLite file, removed by `remove()`. */
export function tempDatabase(prefix: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `sk-example-${prefix}-`));
  return {
    path: join(dir, "app.db"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
