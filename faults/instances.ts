import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = join(HERE, ".tmp", "app.mjs");

/**
 * Bundles app.ts (and the library's source) into one file: on a busy 2-core machine, starting it
 * takes less than half the time of compiling it through tsx at each start, and the suite starts
 * instances dozens of times.
 */
export async function buildApp(): Promise<void> {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(HERE, "app.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: APP,
    conditions: ["sessionkeeper-source"],
    // The native SQLite driver stays a package; MySQL is never used here.
    external: ["better-sqlite3", "mysql2", "mysql2/*"],
    banner: {
      js: "import { createRequire as __faultsRequire } from 'node:module'; const require = __faultsRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
}

/** One reference-app process (app.ts) on a fixed port, which can be SIGKILLed and started again. */
export interface Instance {
  name: string;
  port: number;
  url: string;
  readonly running: boolean;
  /** The process id (with fsizeLimit, the shell exec'd into Node, so it is Node's). */
  readonly pid: number | undefined;
  /** Lines the process printed (FAULTS-STEP, FAULTS-CRASH, errors), newest last. */
  output: string[];
  start(extraEnv?: Record<string, string>): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the process exits on its own (a crash at a step). */
  exited(): Promise<number | null>;
}

export function instance(
  name: string,
  port: number,
  env: Record<string, string>,
  options: { fsizeLimit?: boolean } = {},
): Instance {
  let proc: ChildProcess | null = null;
  let exit: Promise<number | null> = Promise.resolve(null);
  const output: string[] = [];
  const self: Instance = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    get running() {
      return proc !== null && proc.exitCode === null && proc.signalCode === null;
    },
    get pid() {
      return proc?.pid;
    },
    output,
    async start(extraEnv = {}) {
      const node = [process.execPath, APP];
      const childEnv = {
        ...process.env,
        ...env,
        ...extraEnv,
        PORT: String(port),
        HOST: "127.0.0.1",
      };
      // For the disk-full fault without mount rights: a shell that ignores SIGXFSZ, so writes past
      // the file-size limit (set later with prlimit) fail with EFBIG instead of killing Node.
      const [cmd, ...args] = options.fsizeLimit
        ? ["bash", "-c", `trap '' XFSZ; exec ${node.map((a) => `'${a}'`).join(" ")}`]
        : node;
      const child = spawn(cmd as string, args, {
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe"],
      });
      proc = child;
      exit = once(child, "exit").then(([code]) => code as number | null);
      let buffer = "";
      const onChunk = (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        output.push(...lines);
        if (output.length > 2000) output.splice(0, output.length - 2000);
      };
      child.stdout?.on("data", onChunk);
      child.stderr?.on("data", onChunk);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} did not start: ${output.slice(-10).join("\n")}`)),
          60_000,
        );
        const check = () => {
          if (output.some((l) => l.includes("listening on"))) {
            clearTimeout(timer);
            child.stdout?.off("data", check);
            resolve();
          }
        };
        child.stdout?.on("data", check);
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code}: ${output.slice(-10).join("\n")}`));
        });
      });
      // Older lines are from this start-up; keep them for failures, but not as "listening" next time.
      for (let i = 0; i < output.length; i++)
        if (output[i]?.includes("listening on")) output[i] = "(started)";
    },
    async kill() {
      const child = proc;
      if (!child || !self.running) return;
      const done = once(child, "exit");
      child.kill("SIGKILL");
      await done;
    },
    async stop() {
      const child = proc;
      if (!child || !self.running) return;
      const done = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await done;
      clearTimeout(timer);
    },
    exited: () => exit,
  };
  return self;
}
