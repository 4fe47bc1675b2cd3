#!/usr/bin/env node
// The `sessionkeeper` command. A committed shim, so npm links the bin even before the first
// build; the command itself is compiled from src/cli.ts into dist/ (npm's prepare step builds it).
let cli;
try {
  cli = await import("../dist/cli.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("cli.js")) {
    console.error("sessionkeeper: not built yet; run `npm run build` in the repository first");
    process.exit(2);
  }
  throw error;
}
process.exitCode = await cli.runCli(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
