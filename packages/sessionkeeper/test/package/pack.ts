import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The library's folder and the repository root. */
export const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));
export const REPO = join(PACKAGE, "..", "..");

/**
 * Packs the library as `npm publish` would, from a fresh build of src/ made in a staging folder
 * (the working copy's dist/ may be stale, and other tests may be reading it), into `dest`.
 * Returns the tarball's path.
 */
export function packLibrary(dest: string): string {
  const stage = mkdtempSync(join(tmpdir(), "sk-pack-"));
  try {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    execFileSync(
      process.execPath,
      [tsc, "-p", join(PACKAGE, "tsconfig.build.json"), "--outDir", join(stage, "dist")],
      { stdio: "pipe" },
    );
    for (const entry of ["package.json", "README.md", "LICENSE", "bin", "src"])
      cpSync(join(PACKAGE, entry), join(stage, entry), { recursive: true });
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], {
      cwd: stage,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [packed] = JSON.parse(out) as Array<{ filename: string }>;
    if (!packed) throw new Error(`npm pack printed no file: ${out}`);
    return join(dest, packed.filename);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Files a published package must never carry: tests, fixtures, databases, build caches, secrets. */
const FORBIDDEN = [
  /(^|\/)(test|tests|__tests__|fixtures?)\//,
  /\.test\.[cm]?[jt]s$/,
  /\.(db|sqlite|db-wal|db-shm)$/,
  /\.tsbuildinfo$/,
  /(^|\/)\.env/,
  /(^|\/)node_modules\//,
];

interface ExportTarget {
  types?: string;
  default?: string;
  "sessionkeeper-source"?: string;
}

/**
 * What is wrong with a packed file list (paths without the "package/" prefix), or []: forbidden
 * files, and every entry point's JavaScript and types present, with a .d.ts beside each module.
 */
export function packProblems(
  files: readonly string[],
  pkg: { exports: Record<string, string | ExportTarget>; bin?: Record<string, string> },
): string[] {
  const have = new Set(files);
  const problems: string[] = [];
  for (const file of files)
    if (FORBIDDEN.some((pattern) => pattern.test(file)))
      problems.push(`must not be packed: ${file}`);
  for (const file of ["package.json", "README.md", "LICENSE"])
    if (!have.has(file)) problems.push(`missing: ${file}`);
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === "string") {
      if (!have.has(target.replace(/^\.\//, "")))
        problems.push(`exports["${subpath}"]: ${target} is not packed`);
      continue;
    }
    for (const condition of ["types", "default"] as const) {
      const path = target[condition];
      if (!path) problems.push(`exports["${subpath}"] has no "${condition}"`);
      else if (!have.has(path.replace(/^\.\//, "")))
        problems.push(`exports["${subpath}"].${condition}: ${path} is not packed`);
    }
  }
  for (const path of Object.values(pkg.bin ?? {}))
    if (!have.has(path.replace(/^\.\//, ""))) problems.push(`bin ${path} is not packed`);
  for (const file of files)
    if (/^dist\/.*\.js$/.test(file) && !have.has(file.replace(/\.js$/, ".d.ts")))
      problems.push(`no types beside ${file}`);
  return problems;
}

/** The paths inside a tarball made by npm pack, without the leading "package/". */
export function tarballFiles(tarball: string): string[] {
  return execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith("package/") && !line.endsWith("/"))
    .map((line) => line.slice("package/".length));
}
