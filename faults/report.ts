import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FlowResult } from "./crash-steps.js";
import type { DbCounts } from "./invariants.js";
import type { RevocationRun } from "./revocation.js";
import { ANSWER_BOUND_MS, type AnswerStats, percentile } from "./stats.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface FaultResult {
  name: string;
  title: string;
  durationMs: number;
  /** How long undoing the fault took (the killed instance's restart; ~0 for the others). */
  restoreMs?: number;
  stats: AnswerStats;
  recoveryMs: number | null;
  recoveryFailure: string | null;
  answerViolations: { [kind: string]: number };
  dbAcceptedAfterEnd: number;
  dbAcceptedAfterExpiry: number;
  db: DbCounts;
  notes: string[];
}

export interface Results {
  mode: "short" | "full" | "partial";
  machine: { cpus: number; node: string };
  config: { [key: string]: number | string };
  runSeconds: number;
  faults: FaultResult[];
  overall: { stats: AnswerStats; violations: { [kind: string]: number } };
  crash: {
    traced: string[];
    points: { point: string; crashed: boolean; stage: string; db: DbCounts }[];
    finalFlows: FlowResult[];
  } | null;
  revocation: { withRedis: RevocationRun; redisDown: RevocationRun };
}

/** Every broken invariant, as a line; empty when all held. */
export function failuresOf(r: Results): string[] {
  const out: string[] = [];
  const checkStats = (where: string, s: AnswerStats, lostAllowed: boolean) => {
    if (s.badStatus > 0)
      out.push(
        `${where}: ${s.badStatus} answers with a status outside 200/204/401/403/404/429/503`,
      );
    if (s.resets > 0) out.push(`${where}: ${s.resets} requests got no answer (reset)`);
    if (s.timeouts > 0) out.push(`${where}: ${s.timeouts} requests hung past the bound`);
    if (!lostAllowed && s.lostWithInstance > 0) out.push(`${where}: ${s.lostWithInstance} resets`);
  };
  const checkDb = (where: string, db: DbCounts) => {
    if (db.sessionWithoutSignInEvent > 0)
      out.push(`${where}: ${db.sessionWithoutSignInEvent} sessions without their sign_in event`);
    if (db.activeWithoutVerification > 0)
      out.push(
        `${where}: ${db.activeWithoutVerification} active sessions without the verification they required`,
      );
    // State changes and their history lines are written in one transaction each.
    if (db.activatedWithoutEvent > 0)
      out.push(`${where}: ${db.activatedWithoutEvent} activated sessions without their event`);
    if (db.endedWithoutEvent > 0)
      out.push(`${where}: ${db.endedWithoutEvent} ended sessions without an end event`);
  };
  for (const f of r.faults) {
    checkStats(f.name, f.stats, f.name === "instance_kill");
    for (const [kind, n] of Object.entries(f.answerViolations))
      out.push(`${f.name}: ${n} × ${kind}`);
    if (f.dbAcceptedAfterEnd > 0)
      out.push(`${f.name}: ${f.dbAcceptedAfterEnd} sessions accepted after their end (database)`);
    if (f.dbAcceptedAfterExpiry > 0)
      out.push(
        `${f.name}: ${f.dbAcceptedAfterExpiry} sessions accepted after their expiry (database)`,
      );
    checkDb(f.name, f.db);
    if (f.recoveryMs === null)
      out.push(`${f.name}: did not serve correctly again (${f.recoveryFailure})`);
  }
  checkStats("whole run", r.overall.stats, true);
  for (const [kind, n] of Object.entries(r.overall.violations))
    out.push(`whole run: ${n} × ${kind}`);
  if (r.crash) {
    for (const p of r.crash.points) {
      if (!p.crashed)
        out.push(`crash ${p.point}: the process did not die there (step not reached)`);
      checkDb(`crash ${p.point}`, p.db);
    }
    const stuck = r.crash.finalFlows.filter((f) => !f.done);
    if (stuck.length > 0)
      out.push(
        `crash steps: ${stuck.length} users could not sign in after the restart (${JSON.stringify(stuck[0])})`,
      );
  }
  const { withRedis, redisDown } = r.revocation;
  if (withRedis.acceptedAfter > 0)
    out.push(
      `revocation (Redis up): ${withRedis.acceptedAfter} requests accepted after the revoking answer`,
    );
  if (redisDown.acceptedAfter > 0)
    out.push(
      `revocation (Redis down): ${redisDown.acceptedAfter} requests accepted after the revoking answer`,
    );
  for (const [label, run] of [
    ["Redis up", withRedis],
    ["Redis down", redisDown],
  ] as const)
    if (run.neverRefused > 0)
      out.push(
        `revocation (${label}): ${run.neverRefused} times an instance still accepted the session 5 s after the revoking answer`,
      );
  if (withRedis.other > 0)
    out.push(`revocation (Redis up): ${withRedis.other} answers other than 200/401`);
  return out;
}

const ms = (n: number) => (n < 10 ? n.toFixed(1) : String(Math.round(n)));

export function latencySummary(run: RevocationRun) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/** Markdown tables of one run's figures (the part of docs/reliability.md the suite writes). */
export function figures(r: Results, svgName: string): string {
  const lines: string[] = [];
  lines.push(
    `Run: ${r.mode} (${r.config.users} users, ${r.config.instances} instances, ${r.config.concurrency} requests in flight, each fault held ${Number(r.config.faultMs) / 1000} s), ${r.machine.cpus} CPU cores, Node ${r.machine.node}, ${r.runSeconds} s in all.`,
    "",
    "| fault | requests | answers by status | worst / p99 latency | recovered in | accepted after end (answers / db) | half-made (no event / no verification) |",
    "|---|---:|---|---|---:|---|---|",
  );
  for (const f of r.faults) {
    const s = f.stats;
    const statuses = Object.entries(s.byStatus)
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
    const ended =
      (f.answerViolations.ended_session_accepted ?? 0) +
      (f.answerViolations.expired_session_accepted ?? 0);
    lines.push(
      `| ${f.title} | ${s.requests} | ${statuses} | ${s.worstLatencyMs} / ${s.p99LatencyMs} ms | ${f.recoveryMs === null ? "**never**" : `${f.recoveryMs} ms`} | ${ended} / ${f.dbAcceptedAfterEnd + f.dbAcceptedAfterExpiry} | ${f.db.sessionWithoutSignInEvent} / ${f.db.activeWithoutVerification} |`,
    );
  }
  const o = r.overall.stats;
  lines.push(
    "",
    `Whole run: ${o.requests} load requests; ${o.badStatus} answers outside the allowed statuses, ${o.resets} resets, ${o.timeouts} hangs past ${ANSWER_BOUND_MS / 1000} s; ${o.lostWithInstance} requests in flight on the killed instance failed with it.`,
  );
  const kill = r.faults.find((f) => f.name === "instance_kill");
  if (kill)
    lines.push(
      `Killed instance: ${kill.stats.lostWithInstance} in-flight requests reset with it (expected: an instance's in-flight requests fail); its restart took ${kill.restoreMs ?? "?"} ms, and recovery is counted from its end.`,
    );
  lines.push(
    "",
    "History lines (invariants: each state change is written with its event) and sessions that can never finish (reported):",
    "",
  );
  lines.push(
    "| fault | activated without its event | ended without an end event | pending without a mail row |",
    "|---|---:|---:|---:|",
  );
  for (const f of r.faults)
    lines.push(
      `| ${f.name} | ${f.db.activatedWithoutEvent} | ${f.db.endedWithoutEvent} | ${f.db.pendingWithoutVerification} |`,
    );
  if (r.crash) {
    lines.push(
      "",
      `Crash points (a held sign-in and its approval; writes traced: ${r.crash.traced.length}):`,
      "",
    );
    lines.push(
      "| SIGKILL | died | flow stopped at | db after: no event / no verification / activated w/o event / pending w/o mail |",
      "|---|---|---|---|",
    );
    for (const p of r.crash.points)
      lines.push(
        `| \`${p.point}\` | ${p.crashed ? "yes" : "**no**"} | ${p.stage} | ${p.db.sessionWithoutSignInEvent} / ${p.db.activeWithoutVerification} / ${p.db.activatedWithoutEvent} / ${p.db.pendingWithoutVerification} |`,
      );
    const done = r.crash.finalFlows.filter((f) => f.done).length;
    lines.push(
      "",
      `After the restart, ${done} of ${r.crash.finalFlows.length} users whose sign-in died completed a held sign-in and its approval.`,
    );
  }
  const up = latencySummary(r.revocation.withRedis);
  const down = latencySummary(r.revocation.redisDown);
  lines.push(
    "",
    "Revocation everywhere (ms from the revoking answer to the first refusal on each other instance):",
    "",
    "| Redis | revocations | measurements | p50 | p99 | max | accepted after the answer | one validation's round trip, p50 / p99 |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    `| up | ${r.revocation.withRedis.revocations} | ${up.n} | ${ms(up.p50)} | ${ms(up.p99)} | ${ms(up.max)} | ${r.revocation.withRedis.acceptedAfter} | ${rtt(r.revocation.withRedis)} |`,
    `| down (database fallback) | ${r.revocation.redisDown.revocations} | ${down.n} | ${ms(down.p50)} | ${ms(down.p99)} | ${ms(down.max)} | ${r.revocation.redisDown.acceptedAfter} | ${rtt(r.revocation.redisDown)} |`,
    "",
    "The first poll is sent as soon as the revoking answer arrives, so a refusal on the first poll measures that request's own round trip (last column) and the broadcast arrived before it.",
    "",
    `![Revocation latency distribution](${svgName})`,
  );
  return lines.join("\n");
}

function rtt(run: RevocationRun): string {
  const sorted = [...run.roundTrips].sort((a, b) => a - b);
  return `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 99))}`;
}

/** A small SVG: the share of refusals arrived by each latency (one line per Redis state). */
export function latencySvg(r: Results): string {
  const W = 560;
  const H = 260;
  const pad = { l: 50, r: 20, t: 30, b: 40 };
  const runs = [
    {
      name: "Redis up",
      color: "#1f77b4",
      data: [...r.revocation.withRedis.latencies].sort((a, b) => a - b),
    },
    {
      name: "Redis down",
      color: "#d62728",
      data: [...r.revocation.redisDown.latencies].sort((a, b) => a - b),
    },
  ];
  const maxX = Math.max(10, ...runs.map((x) => percentile(x.data, 99.9)));
  const x = (v: number) => pad.l + (Math.min(v, maxX) / maxX) * (W - pad.l - pad.r);
  const y = (p: number) => H - pad.b - p * (H - pad.t - pad.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    "<title>Revocation latency: the share of other instances that refused a revoked session, by ms after the revoking answer</title>",
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${pad.l}" y="18" font-size="12">Revocation: ms from the revoking answer to the first refusal on another instance</text>`,
    `<line x1="${pad.l}" y1="${y(0)}" x2="${W - pad.r}" y2="${y(0)}" stroke="#333"/>`,
    `<line x1="${pad.l}" y1="${y(0)}" x2="${pad.l}" y2="${y(1)}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (maxX * i) / 5;
    parts.push(`<text x="${x(v)}" y="${H - pad.b + 15}" text-anchor="middle">${ms(v)}</text>`);
    parts.push(`<line x1="${x(v)}" y1="${y(0)}" x2="${x(v)}" y2="${y(1)}" stroke="#eee"/>`);
  }
  for (const p of [0, 0.5, 0.99, 1])
    parts.push(`<text x="${pad.l - 5}" y="${y(p) + 4}" text-anchor="end">${p * 100}%</text>`);
  parts.push(
    `<text x="${(W + pad.l) / 2}" y="${H - 8}" text-anchor="middle">milliseconds (axis cut at the 99.9th percentile, ${ms(maxX)} ms)</text>`,
  );
  runs.forEach((run, k) => {
    if (run.data.length === 0) return;
    const pts = run.data.map(
      (v, i) => `${x(v).toFixed(1)},${y((i + 1) / run.data.length).toFixed(1)}`,
    );
    parts.push(
      `<polyline fill="none" stroke="${run.color}" stroke-width="2" points="${x(0)},${y(0)} ${pts.join(" ")}"/>`,
    );
    const s = latencySummary({ ...r.revocation.withRedis, latencies: run.data });
    parts.push(
      `<text x="${W - pad.r - 5}" y="${y(0.3) + k * 16}" text-anchor="end" fill="${run.color}">${run.name}: p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)} ms (n=${s.n})</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/**
 * Writes faults/results/<mode>.json and .md and the chart; a full run also replaces the figures
 * in docs/reliability.md (between its markers). Returns the broken invariants.
 */
export function writeReport(r: Results): string[] {
  const dir = join(ROOT, "faults", "results");
  mkdirSync(dir, { recursive: true });
  const failures = failuresOf(r);
  writeFileSync(join(dir, `${r.mode}.json`), `${JSON.stringify({ ...r, failures }, null, 1)}\n`);
  const svg = latencySvg(r);
  writeFileSync(join(dir, `revocation-${r.mode}.svg`), svg);
  writeFileSync(join(dir, `${r.mode}.md`), `${figures(r, `revocation-${r.mode}.svg`)}\n`);
  if (r.mode === "full" && failures.length === 0) {
    writeFileSync(join(ROOT, "docs", "reliability-revocation.svg"), svg);
    const doc = join(ROOT, "docs", "reliability.md");
    const text = readFileSync(doc, "utf8");
    const start = "<!-- figures:start (written by npm run faults) -->";
    const end = "<!-- figures:end -->";
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a >= 0 && b > a)
      writeFileSync(
        doc,
        `${text.slice(0, a + start.length)}\n${figures(r, "reliability-revocation.svg")}\n${text.slice(b)}`,
      );
  }
  return failures;
}
