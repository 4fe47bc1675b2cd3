import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** One function's share of the samples: self (in the function itself) and total (with callees). */
export interface Frame {
  frame: string;
  selfPercent: number;
  totalPercent: number;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\//, "")
    .replace(/^.*\/work\/main\//, "");
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
}

/** A profile's nodes with the lookups every summary needs: by id, each node's parent, all samples. */
function loadProfile(path: string) {
  const profile = JSON.parse(readFileSync(path, "utf8")) as {
    nodes: ProfileNode[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const all = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
  return { profile, byId, parent, all };
}

/** Reads a V8 `.cpuprofile` and ranks functions by self and total time. */
export function summarizeProfile(
  path: string,
  top = 25,
): { bySelf: Frame[]; byTotal: Frame[]; durationMicros: number } {
  const { profile, byId, parent, all } = loadProfile(path);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    self.set(label(node), (self.get(label(node)) ?? 0) + hits);
    // Count a function once per sample even when it recurses.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const name = label(byId.get(id) as ProfileNode);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + hits);
    }
  }
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame]) => ({
        frame,
        selfPercent: Math.round(((self.get(frame) ?? 0) / all) * 1000) / 10,
        totalPercent: Math.round(((total.get(frame) ?? 0) / all) * 1000) / 10,
      }));
  return {
    bySelf: rank(self),
    byTotal: rank(total),
    durationMicros: profile.endTime - profile.startTime,
  };
}

/** The call paths (leaf first) that lead to frames matching `pattern`, with their share of samples. */
export function callersOf(
  path: string,
  pattern: RegExp,
  depth = 8,
): Array<{ stack: string; percent: number }> {
  const { profile, byId, parent, all } = loadProfile(path);
  const stacks = new Map<string, number>();
  for (const node of profile.nodes) {
    if (!node.hitCount || !pattern.test(label(node))) continue;
    const frames: string[] = [];
    for (
      let id: number | undefined = node.id;
      id !== undefined && frames.length < depth;
      id = parent.get(id)
    ) {
      frames.push(label(byId.get(id) as ProfileNode));
    }
    const key = frames.join(" < ");
    stacks.set(key, (stacks.get(key) ?? 0) + node.hitCount);
  }
  return [...stacks]
    .sort((a, b) => b[1] - a[1])
    .map(([stack, hits]) => ({ stack, percent: Math.round((hits / all) * 1000) / 10 }));
}

/** Where the time under frames matching `pattern` goes: each frame's self time inside them. */
export function selfTimeUnder(
  path: string,
  pattern: RegExp,
): Array<{ frame: string; percent: number }> {
  const { profile, byId, parent, all } = loadProfile(path);
  const self = new Map<string, number>();
  for (const node of profile.nodes) {
    if (!node.hitCount) continue;
    let inside = false;
    for (let id: number | undefined = node.id; id !== undefined && !inside; id = parent.get(id))
      inside = pattern.test(label(byId.get(id) as ProfileNode));
    if (!inside) continue;
    self.set(label(node), (self.get(label(node)) ?? 0) + node.hitCount);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .map(([frame, hits]) => ({ frame, percent: Math.round((hits / all) * 1000) / 10 }));
}
