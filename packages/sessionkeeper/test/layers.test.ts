import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

// The parts and which may import which (docs/architecture.md draws the same table). A change that
// makes the core reach into an adapter, the pages or Redis fails here, not in review.
const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** The part a source file belongs to: its folder, or "core" for the top level and core folders. */
function partOf(file: string): string {
  const path = relative(SRC, file);
  // The package's entry points (`sessionkeeper`, the CLI, `sessionkeeper/mail`) gather every part.
  if (path === "index.ts" || path === "cli.ts" || path === "mail/index.ts") return "entry";
  const folder = path.includes("/") ? (path.split("/")[0] as string) : "core";
  return ["storage", "protection", "geo", "mail", "live", "device-binding"].includes(folder)
    ? "core"
    : folder;
}

// passkeys/ is the one part that loads @simplewebauthn/server (an optional peer): nothing else
// may import it, so apps without passkeys never need that package.
const FORBIDDEN: Record<string, string[]> = {
  core: ["http", "ui", "cache", "entry", "passkeys"],
  ui: ["http", "cache", "entry", "passkeys"],
  cache: ["http", "ui", "entry", "passkeys"],
  http: ["cache", "entry", "passkeys"],
  passkeys: ["http", "ui", "cache", "entry"],
  entry: ["passkeys"],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("layers", () => {
  it("no part imports a part it must not (core never imports http/, ui/ or cache/)", () => {
    const broken: string[] = [];
    for (const file of sources(SRC)) {
      const from = partOf(file);
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
        const target = join(file, "..", (match[1] as string).replace(/\.js$/, ".ts"));
        const to = partOf(target);
        if (FORBIDDEN[from]?.includes(to))
          broken.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("knows every folder of src/", () => {
    const parts = new Set(sources(SRC).map(partOf));
    assert.deepEqual([...parts].sort(), ["cache", "core", "entry", "http", "passkeys", "ui"]);
  });
});
