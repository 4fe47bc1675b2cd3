import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, type } from "node:os";
import { fileURLToPath } from "node:url";
import type { BenchConfig } from "./config.js";
import type { PhaseResult, SteadyResult } from "./measure.js";
import type { ScaleResult } from "./scale.js";
import { round } from "./stats.js";
import { TARGETS, VARIANTS, type Variant } from "./variants.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const PACKAGES = [
  "express",
  "hono",
  "@hono/node-server",
  "fastify",
  "express-session",
  "connect-pg-simple",
  "connect-redis",
  "@fastify/session",
  "@fastify/cookie",
  "better-auth",
  "redis",
  "pg",
  "better-sqlite3",
  "kysely",
  "autocannon",
  "sessionkeeper",
];

/** Installed versions of the packages the bench measures. */
export function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  for (const name of PACKAGES) {
    for (const base of ["bench/node_modules", "node_modules", "packages"]) {
      const file =
        name === "sessionkeeper"
          ? `${ROOT}packages/sessionkeeper/package.json`
          : `${ROOT}${base}/${name}/package.json`;
      if (existsSync(file)) {
        out[name] = (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
        break;
      }
    }
  }
  return out;
}

/** The machine, as far as Node can tell. */
export function machine() {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    os: type(),
    loadAverage: loadavg().map((n) => round(n, 2)),
  };
}

export interface Ratio {
  variant: string;
  against: string;
  ratio: number;
}

/** Variants whose rows show ratios: sessionkeeper and the references and floors it is judged by. */
const COMPARED = new Set<Variant["kind"]>(["sessionkeeper", "reference", "floor"]);

/**
 * Each sessionkeeper figure as a ratio to its framework's ceiling, to its hashed-token floor and
 * to the anchors it replaces; references and floors as ratios to their ceiling.
 */
export function ratios(results: PhaseResult[]): Ratio[] {
  const rps = new Map(results.map((r) => [r.variant, r.requestsPerSecond]));
  const out: Ratio[] = [];
  for (const v of VARIANTS.filter((x) => COMPARED.has(x.kind))) {
    const own = rps.get(v.name);
    if (!own) continue;
    for (const against of [v.ceiling, v.floor, ...(v.anchors ?? [])]) {
      const base = against ? rps.get(against) : undefined;
      if (against && base) out.push({ variant: v.name, against, ratio: round(own / base, 2) });
    }
  }
  return out;
}

export interface TargetResult {
  label: string;
  phase: string;
  ratio: number | null;
  atLeast: number;
  met: boolean | null;
  /** For a ceiling target: the hashed-token floor's ratio to the same ceiling in the same phase. */
  floorRatio?: number | null;
  /** The ratio within each round (both measured in that round), in round order. */
  perRound?: number[];
}

/** Ratios of two variants' req/s round by round: each pair was measured in the same round. */
function perRound(a: PhaseResult | undefined, b: PhaseResult | undefined): number[] {
  if (!a || !b) return [];
  const n = Math.min(a.rounds.length, b.rounds.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = b.rounds[i]?.requestsPerSecond ?? 0;
    if (base > 0) out.push(round((a.rounds[i]?.requestsPerSecond ?? 0) / base, 2));
  }
  return out;
}

/** The issue's targets, judged on one phase's medians. */
export function judgeTargets(phase: string, results: PhaseResult[]): TargetResult[] {
  const rps = new Map(results.map((r) => [r.variant, r.requestsPerSecond]));
  const byName = new Map(results.map((r) => [r.variant, r]));
  const out: TargetResult[] = TARGETS.map((t) => {
    const a = rps.get(t.variant);
    const b = rps.get(t.baseline);
    const ratio = a && b ? round(a / b, 2) : null;
    const floor = t.floor ? rps.get(t.floor) : undefined;
    return {
      label: t.label,
      phase,
      ratio,
      atLeast: t.atLeast,
      met: ratio === null ? null : ratio >= t.atLeast,
      ...(t.floor ? { floorRatio: floor && b ? round(floor / b, 2) : null } : {}),
      perRound: perRound(byName.get(t.variant), byName.get(t.baseline)),
    };
  });
  const writes = results.filter(
    (r) => r.variant.startsWith("sk-") && r.rowsWrittenPerRequest !== null,
  );
  if (writes.length > 0) {
    const worst = Math.max(...writes.map((r) => r.rowsWrittenPerRequest as number));
    // Informative: rounds revisit a variant after more than a touch interval, so every session is
    // due a last-seen write at the start of each round. The steady-state pass decides the target.
    out.push({
      label: "sessionkeeper rows written per request in the rounds (informative)",
      phase,
      ratio: worst,
      atLeast: 0.01,
      met: null,
    });
  }
  return out;
}

const fmt = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined || Number.isNaN(n) ? "—" : String(round(n, digits));

function ratioCell(all: Ratio[], v: Variant): { ceiling: string; floor: string; anchor: string } {
  const mine = all.filter((r) => r.variant === v.name);
  const ceiling = mine.find((r) => r.against === v.ceiling);
  const floor = mine.find((r) => r.against === v.floor);
  const anchors = mine
    .filter((r) => r.against !== v.ceiling && r.against !== v.floor)
    .map((r) => `${r.ratio}× ${short(r.against)}`);
  return {
    ceiling: ceiling ? `${ceiling.ratio}×` : "",
    floor: floor ? `${floor.ratio}×` : "",
    anchor: anchors.join(", "),
  };
}

function short(name: string): string {
  return (
    (
      {
        "express-session-memory": "MemoryStore",
        "express-session-pg": "connect-pg-simple",
        "express-session-redis": "connect-redis",
        "better-auth-pg": "Better Auth",
        "better-auth-pg-cookie-cache": "Better Auth (cookie cache)",
      } as Record<string, string>
    )[name] ?? name
  );
}

/** One phase as a Markdown table. */
export function phaseTable(results: PhaseResult[], allRatios: Ratio[]): string {
  const lines = [
    "| variant | framework | store | req/s | p50 ms | p99 ms | server CPU µs/req | RSS MiB | DB statements/req | rows written/req | Redis cmds/req | × ceiling | × floor | × anchor | wrk req/s |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
  ];
  for (const r of results) {
    const v = VARIANTS.find((x) => x.name === r.variant) as Variant;
    const cells = COMPARED.has(v.kind)
      ? ratioCell(allRatios, v)
      : { ceiling: "", floor: "", anchor: "" };
    const name = v.kind === "sessionkeeper" ? `**${v.label}**` : v.label;
    lines.push(
      `| ${name} | ${v.framework} | ${v.store} | ${r.requestsPerSecond} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuMicrosPerRequest, 0)} | ${fmt(r.rssMiB, 0)} | ${fmt(r.statementsPerRequest, 3)} | ${fmt(r.rowsWrittenPerRequest, 3)} | ${fmt(r.redisCommandsPerRequest, 2)} | ${cells.ceiling} | ${cells.floor} | ${cells.anchor} | ${r.wrk ? Math.round(r.wrk.requestsPerSecond) : "—"} |`,
    );
  }
  return lines.join("\n");
}

export function targetsTable(targets: TargetResult[]): string {
  const lines = [
    "| target | phase | measured | met | the floor reaches | per round |",
    "|---|---|--:|:-:|--:|---|",
  ];
  const floorCell = (t: TargetResult) =>
    t.floorRatio === undefined ? "" : t.floorRatio === null ? "not run" : `${t.floorRatio}×`;
  for (const t of targets)
    lines.push(
      `| ${t.label} | ${t.phase} | ${t.ratio === null ? "not run" : t.label.startsWith("sessionkeeper rows") ? String(t.ratio) : `${t.ratio}×`} | ${t.met === null ? "—" : t.met ? "yes" : "**no**"} | ${floorCell(t)} | ${t.perRound?.join(" ") ?? ""} |`,
    );
  return lines.join("\n");
}

export function steadyTable(steady: SteadyResult[]): string {
  const lines = [
    "| variant | req/s | requests | rows written | rows written/req | statements/req |",
    "|---|--:|--:|--:|--:|--:|",
  ];
  for (const s of steady)
    lines.push(
      `| ${s.variant} | ${s.requestsPerSecond} | ${s.requests} | ${s.rowsWritten} | ${s.rowsWrittenPerRequest} | ${s.statementsPerRequest} |`,
    );
  return lines.join("\n");
}

export function scaleTable(scale: ScaleResult): string {
  return [
    `| stored sessions | req/s | p99 ms |`,
    `|--:|--:|--:|`,
    `| 1,000 | ${scale.requestsPerSecondFew} | ${scale.p99Few} |`,
    `| ${scale.stored.toLocaleString("en")} | ${scale.requestsPerSecondMany} | ${scale.p99Many} |`,
    "",
    `Ratio ${scale.ratio}× (target ≥ 0.9×: ${scale.ratio >= 0.9 ? "met" : "**not met**"}); seeding took ${scale.seedSeconds} s; the database file was ${scale.databaseMiB} MiB.`,
    "",
    "| `listSessions(user)` | stored | p50 ms | p99 ms |",
    "|---|--:|--:|--:|",
    ...scale.listSessions.map(
      (l) =>
        `| user with ${l.sessionsOfUser} sessions${l.sessionsOfUser > 200 ? " (first 200 returned)" : ""} | ${l.stored.toLocaleString("en")} | ${l.p50Ms} | ${l.p99Ms} |`,
    ),
  ].join("\n");
}

/** What micro.ts prints: operations per second of the validation path and of its steps. */
export interface MicroResult {
  sessions: number;
  stored: number;
  authenticatePerSecond: number;
  steps: {
    cookieParsePerSecond: number;
    findSessionPerSecond: number;
    hashComparePerSecond: number;
  };
  malformedCookiePerSecond: number;
}

/** Everything one run measured: written as JSON and rendered into docs/benchmarks.md. */
export interface BenchReport {
  date: string;
  minutes: number;
  machine: ReturnType<typeof machine> & { loadAverageAtStart: number[] };
  versions: Record<string, string>;
  config: Omit<BenchConfig, "only" | "skip"> & { only: string | null; skip: string[] };
  notes: string[];
  phases: Record<string, PhaseResult[]>;
  ratios: Record<string, Ratio[]>;
  targets: TargetResult[];
  steady: SteadyResult[];
  micro: MicroResult | null;
  scale: ScaleResult | null;
}

/** Every target of the issue this run can judge: per phase, the steady state and the scale check. */
export function allTargets(
  phases: Record<string, PhaseResult[]>,
  steady: SteadyResult[],
  scale: ScaleResult | null,
): TargetResult[] {
  const targets = Object.entries(phases).flatMap(([phase, results]) =>
    judgeTargets(phase, results),
  );
  if (steady.length > 0) {
    const worst = Math.max(...steady.map((s) => s.rowsWrittenPerRequest));
    targets.push({
      label: "sessionkeeper rows written per request in steady state ≈ 0 (≤ 0.01)",
      phase: "steady",
      ratio: worst,
      atLeast: 0.01,
      met: worst <= 0.01,
    });
  }
  if (scale) {
    targets.push({
      label: `≤ 10 % slower at ${scale.stored.toLocaleString("en")} stored sessions than at 1,000`,
      phase: "scale",
      ratio: scale.ratio,
      atLeast: 0.9,
      met: scale.ratio >= 0.9,
    });
  }
  return targets;
}

function microTable(micro: MicroResult): string {
  const n = (x: number) => x.toLocaleString("en");
  return [
    "| step | operations/s | µs each |",
    "|---|--:|--:|",
    `| \`keeper.authenticate(info)\` (all of it) | ${n(micro.authenticatePerSecond)} | ${round(1e6 / micro.authenticatePerSecond, 1)} |`,
    `| cookie parse (\`readSingleCookie\` + \`parseToken\`) | ${n(micro.steps.cookieParsePerSecond)} | ${round(1e6 / micro.steps.cookieParsePerSecond, 2)} |`,
    `| lookup (\`storage.findSession\`) | ${n(micro.steps.findSessionPerSecond)} | ${round(1e6 / micro.steps.findSessionPerSecond, 1)} |`,
    `| hash compare (\`verifySecret\`: SHA-256 + \`timingSafeEqual\`) | ${n(micro.steps.hashComparePerSecond)} | ${round(1e6 / micro.steps.hashComparePerSecond, 1)} |`,
    `| a malformed cookie (rejected before any lookup) | ${n(micro.malformedCookiePerSecond)} | ${round(1e6 / micro.malformedCookiePerSecond, 2)} |`,
  ].join("\n");
}

/** The results section of docs/benchmarks.md. */
export function renderMarkdown(report: BenchReport): string {
  const { config } = report;
  const sections = [
    `Run of ${report.date.slice(0, 16).replace("T", " ")} UTC, ${report.minutes} min in all; ${report.machine.cores} × ${report.machine.cpu}, ${report.machine.memoryGiB} GiB; load average at the start ${report.machine.loadAverageAtStart.join(" / ")} (the machine was shared with other work). ${config.rounds} rounds × ${config.durationSeconds} s after a ${config.warmupSeconds} s warm-up each, ${config.connections} connections; medians of the rounds.`,
    ...Object.entries(report.phases).map(
      ([phase, results]) =>
        `\n#### ${Number(phase).toLocaleString("en")} sessions stored\n\n${phaseTable(results, ratios(results))}`,
    ),
    report.steady.length
      ? `\n#### Steady state (continuous load for ${config.steadySeconds} s, ${config.sessions.toLocaleString("en")} sessions)\n\n${steadyTable(report.steady)}`
      : "",
    `\n#### Targets\n\n${targetsTable(report.targets)}`,
    report.micro
      ? `\n#### Validation path alone (SQLite, ${report.micro.stored.toLocaleString("en")} stored, best of three slices)\n\n${microTable(report.micro)}`
      : "",
    report.scale
      ? `\n#### Scale check (sessionkeeper, Express, SQLite)\n\n${scaleTable(report.scale)}`
      : "",
    report.notes.length
      ? `\n#### Notes from this run\n\n${report.notes.map((n) => `- ${n}`).join("\n")}`
      : "",
    `\nVersions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
  ];
  return sections.filter(Boolean).join("\n");
}

const DOCS = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));
const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

/** Replaces what lies between the results markers of docs/benchmarks.md; the rest is hand-written. */
export function writeResultsIntoDocs(markdown: string): void {
  const text = existsSync(DOCS) ? readFileSync(DOCS, "utf8") : `# Benchmarks\n\n${START}\n${END}\n`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a === -1 || b === -1)
    throw new Error(`docs/benchmarks.md lacks the ${START} … ${END} markers`);
  writeFileSync(DOCS, `${text.slice(0, a + START.length)}\n${markdown}\n${text.slice(b)}`);
}
