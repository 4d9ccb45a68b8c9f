// The throughput/cost matrix: 3 upstreams, every selected target started once and kept up, then
// repeats × workloads × targets measured interleaved (A B A B …) by the load process. Returns
// raw samples; medians and ratios are report.ts's job.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from '../lib/procs.ts';
import type { Profile, Workload } from '../lib/options.ts';
import type { LoadResult, LoadSpec } from './load-types.ts';
import {
  BENCH_KEY_HEADER,
  directTarget,
  peerMissing,
  startFairway,
  startPeer,
  startUpstream,
  type BalancerName,
  type PeerName,
  type Target,
  type Upstream,
} from './targets.ts';

export const LOAD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load.ts');

/** One measured run of one target on one workload. */
export interface Sample {
  target: string;
  workload: string;
  repeat: number;
  warmupS: number;
  result: LoadResult | null;
  error: string | null;
  /** Derived: the target's own CPU per response (for direct: the upstream's), µs. */
  cpuUsPerReq: number | null;
  /** Target CPU as % of one core over the run. */
  cpuPct: number | null;
  /** All upstreams' CPU per response, µs. */
  upstreamCpuUsPerReq: number | null;
  loadCpuPct: number | null;
  /** CPU used by processes outside the bench during the run, % of one core (noise indicator). */
  othersCpuPct: number | null;
}

export interface ThroughputResult {
  samples: Sample[];
  /** Targets that did not run, with the reason (peer missing or failed to start). */
  skipped: { target: string; reason: string }[];
  /** Peak RSS of each target's process at the end, KiB. */
  peakRssKiB: Record<string, number | null>;
}

export type Progress = (line: string) => void;

/** Runs one load process with `spec`; never throws (a failure becomes `error`). */
export async function runLoad(spec: LoadSpec): Promise<{ result: LoadResult | null; error: string | null }> {
  const budgetMs = (spec.warmupS + spec.durationS) * 1000 + 30_000;
  const r = await runToEnd(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], { timeoutMs: budgetMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code === 0 && line.startsWith('{')) return { result: JSON.parse(line) as LoadResult, error: null };
  return { result: null, error: `load exited ${r.timedOut ? 'on timeout' : (r.code ?? r.signal)}: ${r.stderr.trim().slice(-500)}` };
}

/** Starts the named target in front of `ups`; throws if it cannot start. */
async function startTarget(name: string, ups: readonly Upstream[], tmpDir: string): Promise<Target> {
  if (name === 'direct') return directTarget(ups[0]!);
  if (name.startsWith('fairway-')) return startFairway(name.slice('fairway-'.length) as BalancerName, ups);
  return startPeer(name as PeerName, ups, tmpDir);
}

/** Number of load runs the matrix will make (for progress lines and the time estimate). */
export function countRuns(profile: Profile, targets: readonly string[]): number {
  return profile.repeats * profile.workloads.length * targets.length;
}

export async function runThroughput(
  profile: Profile,
  targetNames: readonly string[],
  tmpDir: string,
  progress: Progress,
  step: () => string,
): Promise<ThroughputResult> {
  const skipped: { target: string; reason: string }[] = [];
  const targets: Target[] = [];
  const ups: Upstream[] = [];
  const samples: Sample[] = [];
  const peakRssKiB: Record<string, number | null> = {};
  try {
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(n));
    for (const name of targetNames) {
      const missing = name === 'direct' || name.startsWith('fairway-') ? null : peerMissing(name as PeerName);
      if (missing !== null) {
        skipped.push({ target: name, reason: missing });
        progress(`${step()} skip ${name}: ${missing}`);
        continue;
      }
      try {
        targets.push(await startTarget(name, ups, tmpDir));
      } catch (err) {
        const reason = `failed to start: ${(err as Error).message.split('\n').slice(0, 4).join(' | ')}`;
        skipped.push({ target: name, reason });
        progress(`${step()} skip ${name}: ${reason}`);
      }
    }
    const upPids = ups.map((u) => u.child.pid);
    const seen = new Set<string>();
    for (let repeat = 1; repeat <= profile.repeats; repeat++) {
      for (const w of profile.workloads) {
        for (const t of targets) {
          const key = `${t.name}|${w.name}`;
          const warmupS = seen.has(key) ? profile.warmNextS : profile.warmFirstS;
          seen.add(key);
          const sample = await measure(t, w, repeat, warmupS, profile.measureS, upPids);
          samples.push(sample);
          progress(`${step()} e2e ${w.name} r${repeat}/${profile.repeats} ${t.name.padEnd(24)} ${describe(sample)}`);
        }
      }
    }
    for (const t of targets) {
      const rss = samples.filter((s) => s.target === t.name && s.result !== null).map((s) => s.result!.peakRssKiB[0] ?? 0);
      peakRssKiB[t.name] = rss.length === 0 ? null : Math.max(...rss);
    }
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
    await Promise.all(ups.map((u) => u.child.stop()));
  }
  return { samples, skipped, peakRssKiB };
}

async function measure(t: Target, w: Workload, repeat: number, warmupS: number, measureS: number, upPids: number[]): Promise<Sample> {
  const own = t.pids[0]!;
  // The target's process first, then each upstream's (for direct, the target is upstream a).
  const pids = [own, ...upPids.filter((p) => p !== own)];
  const spec: LoadSpec = {
    url: `${t.url}${w.path}`,
    connections: w.connections,
    durationS: measureS,
    warmupS,
    timeoutS: 10,
    pids,
    probes: [],
    // consistent-hash hashes this header; one key for the whole run (bounded loads spread it).
    ...(t.name === 'fairway-consistent-hash' ? { headers: { [BENCH_KEY_HEADER]: 'bench' } } : {}),
  };
  const { result, error } = await runLoad(spec);
  const sample: Sample = { target: t.name, workload: w.name, repeat, warmupS, result, error, cpuUsPerReq: null, cpuPct: null, upstreamCpuUsPerReq: null, loadCpuPct: null, othersCpuPct: null };
  if (result !== null) {
    const n = result.ok + result.non2xx;
    const ownCpu = result.cpuS[0] ?? null;
    const upCpu = result.cpuS.reduce<number | null>((sum, c, i) => (sum === null || c === null ? null : upPids.includes(pids[i]!) ? sum + c : sum), 0);
    if (n > 0 && ownCpu !== null) sample.cpuUsPerReq = (ownCpu * 1e6) / n;
    if (ownCpu !== null) sample.cpuPct = (ownCpu / result.elapsedS) * 100;
    if (n > 0 && upCpu !== null) sample.upstreamCpuUsPerReq = (upCpu * 1e6) / n;
    sample.loadCpuPct = (result.loadCpuS / result.elapsedS) * 100;
    sample.othersCpuPct = othersCpuPct(result);
  }
  return sample;
}

/** Machine-wide busy CPU minus the bench's own processes, % of one core; clamped at 0. */
export function othersCpuPct(r: LoadResult): number | null {
  if (r.systemBusyS === null || r.cpuS.some((c) => c === null)) return null;
  const ours = r.cpuS.reduce<number>((a, c) => a + (c ?? 0), 0) + r.loadCpuS;
  return Math.max(0, ((r.systemBusyS - ours) / r.elapsedS) * 100);
}

function describe(s: Sample): string {
  if (s.result === null) return `FAILED ${s.error ?? ''}`;
  const r = s.result;
  const bad = r.non2xx + r.errors;
  return (
    `${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p99 ${((r.latencyUs.p99 ?? 0) / 1000).toFixed(2)} ms  ` +
    `CPU ${s.cpuUsPerReq?.toFixed(1) ?? '–'} µs/req (${s.cpuPct?.toFixed(0) ?? '–'}%)${bad > 0 ? `  ${bad} failed` : ''}`
  );
}
