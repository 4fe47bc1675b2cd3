import { ANSWER_BOUND_MS } from "./http.js";
import { ALLOWED } from "./load.js";
import type { Record, Violation } from "./model.js";

/** What one fault did to the answers (requests started while it was on, or in its recovery). */
export interface AnswerStats {
  requests: number;
  byStatus: { [status: string]: number };
  worstLatencyMs: number;
  p99LatencyMs: number;
  /** 500s and other unexpected statuses. */
  badStatus: number;
  /** No answer at all (a reset), not explained by an instance killed while serving it. */
  resets: number;
  /** Resets of requests in flight on an instance when it was killed (its in-flight requests fail). */
  lostWithInstance: number;
  timeouts: number;
  /** Per operation: how many, median and worst latency (ms). */
  byOp: { [op: string]: { n: number; p50: number; max: number } };
  /** The slowest request: what it was and how it ended (to tell a slow fault from a busy machine). */
  slowest: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** An instance's death: when SIGKILL was sent and when its exit was seen. */
export interface Kill {
  sentAt: number;
  diedAt: number;
  /** When the restarted instance was serving again (set by the restore). */
  backAt?: number;
}

export function answerStats(records: Record[], kills: Kill[] = []): AnswerStats {
  const byStatus: { [status: string]: number } = {};
  const latencies: number[] = [];
  let badStatus = 0;
  let resets = 0;
  let lostWithInstance = 0;
  let timeouts = 0;
  for (const r of records) {
    const { status, startedAt, endedAt } = r.answer;
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
    latencies.push(endedAt - startedAt);
    if (status === "timeout") timeouts++;
    else if (status === "reset") {
      // The killed instance's fallout: begun before it was serving again (the front may reach
      // its port until the process is gone, and again while the new one starts) and failed
      // within a second of that. Any other reset breaks "every request got an answer".
      if (
        kills.some((k) => {
          const back = k.backAt ?? k.diedAt;
          return startedAt <= back && endedAt >= k.sentAt && endedAt <= back + 1000;
        })
      )
        lostWithInstance++;
      else resets++;
    } else if (!ALLOWED.has(status)) badStatus++;
  }
  let slowest = "";
  let worst = -1;
  for (const r of records) {
    const took = r.answer.endedAt - r.answer.startedAt;
    if (took > worst) {
      worst = took;
      slowest = `${r.op} ${r.answer.status} ${Math.round(took)} ms`;
    }
  }
  const perOp = new Map<string, number[]>();
  for (const r of records) {
    const list = perOp.get(r.op) ?? [];
    list.push(r.answer.endedAt - r.answer.startedAt);
    perOp.set(r.op, list);
  }
  const byOp: AnswerStats["byOp"] = {};
  for (const [op, list] of perOp) {
    list.sort((a, b) => a - b);
    byOp[op] = {
      n: list.length,
      p50: Math.round(percentile(list, 50)),
      max: Math.round(list[list.length - 1] ?? 0),
    };
  }
  latencies.sort((a, b) => a - b);
  return {
    requests: records.length,
    byStatus,
    worstLatencyMs: Math.round(latencies[latencies.length - 1] ?? 0),
    p99LatencyMs: Math.round(percentile(latencies, 99)),
    badStatus,
    resets,
    lostWithInstance,
    timeouts,
    slowest,
    byOp,
  };
}

export function countKinds(violations: Violation[]): { [kind: string]: number } {
  const out: { [kind: string]: number } = {};
  for (const v of violations) out[v.kind] = (out[v.kind] ?? 0) + 1;
  return out;
}

export { ANSWER_BOUND_MS };
