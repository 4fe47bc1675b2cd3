import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../packages/sessionkeeper/test/many/services.js";

// The reference app as a separate process (main.ts, as `npm start` runs it), for tests that need
// several instances.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../src/main.ts");

export interface Instance {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts one instance with `env` on a free port; resolves once it listens. */
export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=sessionkeeper-source", MAIN],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        NEW_DEVICE_VERIFICATION: "off",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`instance did not start: ${output.slice(-800)}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited with ${code}: ${output.slice(-800)}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      await exited;
    },
  };
}
