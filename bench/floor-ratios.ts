// Prints each sessionkeeper variant against its framework's hashed-token floor from a results
// file, round by round: a median hides how far one loaded round strays, and on a shared machine
// that spread is the error bar. Also the ratio of server CPU per request (floor ÷ sessionkeeper),
// which moves less than req/s when other work takes the cores.
//   npx tsx bench/floor-ratios.ts bench/results/before-lifecycle.json [phase, default 1000]
import { readFileSync } from "node:fs";
import type { PhaseResult } from "./lib/measure.js";
import { median, round } from "./lib/stats.js";
import { VARIANTS } from "./lib/variants.js";

const [file, phase = "1000"] = process.argv.slice(2);
if (!file) throw new Error("usage: floor-ratios.ts <results.json> [phase]");
const report = JSON.parse(readFileSync(file, "utf8")) as {
  date: string;
  machine: { loadAverageAtStart: number[] };
  phases: Record<string, PhaseResult[]>;
};
const results = new Map((report.phases[phase] ?? []).map((r) => [r.variant, r]));
console.log(`${file}: run of ${report.date}, load at start ${report.machine.loadAverageAtStart}`);
console.log("| variant | × floor (median) | per round | CPU µs/req (sk / floor) | CPU × floor |");
console.log("|---|--:|---|--:|--:|");
for (const v of VARIANTS) {
  const sk = results.get(v.name);
  const floor = v.floor ? results.get(v.floor) : undefined;
  if (v.kind !== "sessionkeeper" || !sk || !floor) continue;
  const perRound = sk.rounds.map((r, i) =>
    round(r.requestsPerSecond / (floor.rounds[i]?.requestsPerSecond ?? Number.NaN)),
  );
  console.log(
    `| ${v.name} | ${round(sk.requestsPerSecond / floor.requestsPerSecond)}× | ${perRound.join(" ")} (median ${median(perRound)}) | ${sk.cpuMicrosPerRequest} / ${floor.cpuMicrosPerRequest} | ${round(floor.cpuMicrosPerRequest / sk.cpuMicrosPerRequest)}× |`,
  );
}
