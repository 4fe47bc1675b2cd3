// `npm run check:package` (CI runs it): packs the library from a fresh build as `npm publish`
// would, then checks what users would download: no tests or fixtures, JavaScript and types for
// every entry point (packProblems), publint, and Are The Types Wrong (ESM-only profile: the package
// is ESM; CommonJS users load it with require() on Node 20.19+, tested in readme-snippet.test.ts).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PACKAGE,
  packLibrary,
  packProblems,
  REPO,
  tarballFiles,
} from "../packages/sessionkeeper/test/package/pack.js";

const dir = mkdtempSync(join(tmpdir(), "sk-check-package-"));
let failed = false;
try {
  const tarball = packLibrary(dir);
  const files = tarballFiles(tarball);
  const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8"));
  const problems = packProblems(files, pkg);
  console.log(`== pack contents: ${files.length} files in ${tarball}`);
  for (const problem of problems) console.error(`  ${problem}`);
  if (problems.length > 0) failed = true;
  else console.log("  no tests or fixtures; JavaScript and types for every entry point");

  const unpacked = join(dir, "unpacked");
  mkdirSync(unpacked);
  execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
  const bin = join(REPO, "node_modules", ".bin");
  for (const [name, args] of [
    ["publint", [join(bin, "publint"), "--strict", join(unpacked, "package")]],
    ["attw", [join(bin, "attw"), tarball, "--profile", "esm-only"]],
  ] as const) {
    console.log(`== ${name}`);
    try {
      const [command, ...rest] = args;
      execFileSync(command, rest, { stdio: "inherit" });
    } catch {
      console.error(`${name} found problems`);
      failed = true;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
