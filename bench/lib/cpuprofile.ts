// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function, so the report can
// list where Fairway spends its CPU: overall, and only functions inside the repository's src/.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  /** "handle (src/server/handler.ts:42)" */
  name: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Top functions by self time, anywhere (node internals, undici, src). */
  top: HotFunction[];
  /** Top functions by self time whose script is under `srcPrefix`. */
  topInSrc: HotFunction[];
  /** Self time of everything under `srcPrefix`, % of the profile. */
  srcPct: number;
}

/** Sums self time per function of a .cpuprofile file; `srcPrefix` is a file:// URL prefix. */
export function summarizeProfile(file: string, srcPrefix: string, repoPrefix: string, n = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of p.nodes) byId.set(node.id, node);
  // Self time per node from samples × timeDeltas (µs); fall back to hitCount × mean interval.
  const selfUs = new Map<number, number>();
  if (p.samples !== undefined && p.timeDeltas !== undefined) {
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      // timeDeltas[i] is the time before sample i; attribute the next delta to this sample.
      const dt = p.timeDeltas[i + 1] ?? 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
    }
  } else {
    const hits = p.nodes.reduce((a, nd) => a + (nd.hitCount ?? 0), 0);
    const per = hits === 0 ? 0 : (p.endTime - p.startTime) / hits;
    for (const nd of p.nodes) selfUs.set(nd.id, (nd.hitCount ?? 0) * per);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, { us: number; inSrc: boolean }>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const where = cf.url === '' ? '' : ` (${cf.url.startsWith(repoPrefix) ? cf.url.slice(repoPrefix.length) : cf.url.replace(/^file:\/\//, '')}:${cf.lineNumber + 1})`;
    const name = `${cf.functionName === '' ? '(anonymous)' : cf.functionName}${where}`;
    const e = byFn.get(name) ?? { us: 0, inSrc: cf.url.startsWith(srcPrefix) };
    e.us += us;
    byFn.set(name, e);
  }
  const sorted = [...byFn].sort((a, b) => b[1].us - a[1].us);
  const fmt = ([name, e]: [string, { us: number }]): HotFunction => ({ name, selfMs: e.us / 1000, selfPct: totalUs === 0 ? 0 : (e.us / totalUs) * 100 });
  const srcUs = sorted.filter(([, e]) => e.inSrc).reduce((a, [, e]) => a + e.us, 0);
  return {
    totalMs: totalUs / 1000,
    top: sorted.slice(0, n).map(fmt),
    topInSrc: sorted.filter(([, e]) => e.inSrc).slice(0, n).map(fmt),
    srcPct: totalUs === 0 ? 0 : (srcUs / totalUs) * 100,
  };
}
