// Reads a V8 .cpuprofile (node --cpu-prof): self and inclusive time per function, and busy time
// by area (Fairway's src/, undici, node core, native calls, GC), so a report can say where CPU goes.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  /** "handleRequest (src/server/handler.ts:27)" */
  name: string;
  ms: number;
  /** Share of busy time (the profile minus idle). */
  pct: number;
}

export interface ProfileSummary {
  /** Profiled time, and the part that was not idle. */
  totalMs: number;
  busyMs: number;
  /** Busy time by area, largest first. */
  byArea: HotFunction[];
  /** Top functions by self time, anywhere. */
  top: HotFunction[];
  /** Top functions by self time inside src/. */
  topInSrc: HotFunction[];
  /** Top functions inside src/ by inclusive time (self + everything they call). */
  topInSrcInclusive: HotFunction[];
}

const IDLE = '(idle)';

/** Area of a call frame: what the time is spent on, broadly. */
function areaOf(url: string, fn: string, srcPrefix: string): string {
  if (url === '') {
    if (fn === '(garbage collector)') return 'garbage collector';
    if (fn === '(program)' || fn === '(root)') return 'V8 / runtime (program)';
    if (fn === IDLE) return IDLE;
    return 'native calls (socket writes/reads: writev, writeLatin1String, …)';
  }
  if (url.startsWith(srcPrefix)) return 'Fairway src/';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/')) return 'other dependencies (pino, …)';
  if (url.startsWith('node:')) return 'node core JS (http, net, streams, timers)';
  return 'other JS';
}

/**
 * Summarizes a .cpuprofile file. `srcPrefix` and `repoPrefix` are file:// URL prefixes; names are
 * shown relative to the repository. O(samples × stack depth).
 */
export function summarizeProfile(file: string, srcPrefix: string, repoPrefix: string, n = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of p.nodes) {
    byId.set(node.id, node);
    for (const c of node.children ?? []) parent.set(c, node.id);
  }
  const nameOf = (node: ProfileNode): string => {
    const cf = node.callFrame;
    const where = cf.url === '' ? '' : ` (${cf.url.startsWith(repoPrefix) ? cf.url.slice(repoPrefix.length) : cf.url.replace(/^file:\/\//, '')}:${cf.lineNumber + 1})`;
    return `${cf.functionName === '' ? '(anonymous)' : cf.functionName}${where}`;
  };

  // Time per sample: timeDeltas[i + 1] is the gap after sample i (the DevTools convention).
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const self = new Map<string, number>();
  const inclusiveSrc = new Map<string, number>();
  const area = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, deltas[i + 1] ?? 0);
    const leaf = byId.get(samples[i]!);
    if (leaf === undefined) continue;
    totalUs += dt;
    const leafName = nameOf(leaf);
    if (leaf.callFrame.functionName === IDLE) {
      idleUs += dt;
      continue;
    }
    self.set(leafName, (self.get(leafName) ?? 0) + dt);
    const a = areaOf(leaf.callFrame.url, leaf.callFrame.functionName, srcPrefix);
    area.set(a, (area.get(a) ?? 0) + dt);
    // Inclusive: each src/ function on this stack once (recursion counted once).
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      if (!node.callFrame.url.startsWith(srcPrefix)) continue;
      const name = nameOf(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusiveSrc.set(name, (inclusiveSrc.get(name) ?? 0) + dt);
    }
  }
  const busyUs = totalUs - idleUs;
  const list = (m: Map<string, number>, filter: (name: string) => boolean = () => true): HotFunction[] =>
    [...m]
      .filter(([name]) => filter(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: busyUs === 0 ? 0 : (us / busyUs) * 100 }));
  const srcRel = srcPrefix.startsWith(repoPrefix) ? srcPrefix.slice(repoPrefix.length) : srcPrefix;
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    byArea: list(area),
    top: list(self),
    topInSrc: list(self, (name) => name.includes(`(${srcRel}`)),
    topInSrcInclusive: list(inclusiveSrc),
  };
}
