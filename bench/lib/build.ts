import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Compiles sessionkeeper's sources with its own build config into `outDir` (under bench/.tmp,
 * where Node still finds the workspace's node_modules), so the servers run the JavaScript users
 * install rather than tsx's on-the-fly transform (which wraps every closure in a `__name` call).
 * tsc emits even when another engineer's work in progress has type errors; only missing output fails.
 */
export function buildSessionkeeper(outDir: string): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
  const args = [
    tsc,
    "-p",
    `${ROOT}packages/sessionkeeper/tsconfig.build.json`,
    "--outDir",
    outDir,
    "--declaration",
    "false",
    "--sourceMap",
    "false",
    "--incremental",
    "false",
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 300_000 }, (error, stdout) => {
      if (existsSync(`${outDir}/index.js`) && existsSync(`${outDir}/http/express.js`))
        return resolve();
      reject(new Error(`building sessionkeeper failed: ${stdout || error?.message}`));
    });
  });
}
