import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runExampleScenario } from "../../test-kit/scenario.js";
import { tempDatabase } from "../../test-kit/temp-db.js";

// Nest's decorators need this folder's tsconfig (experimentalDecorators), which tsx reads from
// the working directory: the app runs as its own process here, as `npm start` would run it.
const HERE = join(dirname(fileURLToPath(import.meta.url)), "..");

runExampleScenario("NestJS", async () => {
  const db = tempDatabase("nestjs");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=sessionkeeper-source", "src/main.ts"],
    {
      cwd: HERE,
      env: { ...process.env, PORT: "0", DATABASE_PATH: db.path, NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const found = /on (http:\/\/\S+)/.exec(output)?.[1];
      if (found) resolve(found.replace("[::1]", "127.0.0.1"));
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) =>
      reject(new Error(`the NestJS example exited (${code}):\n${output}`)),
    );
  });
  return {
    baseUrl,
    async close() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      db.remove();
    },
  };
});
