// The throughput/cost matrix: 3 upstreams, every selected target started once and kept up, then
// repeats × workloads × targets measured interleaved (A B A B …) by the load process. Returns
// raw samples; medians and ratios are report.ts's job.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from '../lib/procs.ts';
import { BASELINE_TARGET } from '../lib/select.ts';
import type { Variant } from '../lib/variants.ts';
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
  /** The kernel part (stime) of cpuUsPerReq, µs. */
  sysCpuUsPerReq: number | null;
  /** Minor page faults of the target per response. */
  faultsPerReq: number | null;
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

/** What the matrix needs besides the target names. */
export interface ThroughputOptions {
  /** Root of the `--baseline` tree that target `fairway-baseline` runs from. */
  baselineDir?: string;
  /** --variant targets (copies of Node targets with extra node flags / env). */
  variants?: readonly Variant[];
  /** Runs after the measured matrix, while every target is still up (strace pass). */
  afterMatrix?: (targets: readonly Target[]) => Promise<void>;
}

export interface StartTargetOptions {
  baselineDir?: string;
  /** Extra node flags for a Node target's process (--cpu-prof …). */
  nodeArgs?: readonly string[];
  /** Connection cap for nginx / HAProxy configs (conn-scale). */
  maxConns?: number;
  /** Extra environment for a Node target (variants). */
  env?: Readonly<Record<string, string>>;
  /** Target name when not the base name (variants). */
  name?: string;
}

/** Starts the named target in front of `ups`; throws if it cannot start. */
export async function startTarget(name: string, ups: readonly Upstream[], tmpDir: string, opts: StartTargetOptions = {}): Promise<Target> {
  const nodeArgs = opts.nodeArgs ?? [];
  const env = opts.env ?? {};
  if (name === 'direct') return directTarget(ups[0]!);
  if (name === BASELINE_TARGET) {
    if (opts.baselineDir === undefined) throw new Error(`${name}: no --baseline tree`);
    return startFairway('round-robin', ups, { root: opts.baselineDir, name: opts.name ?? name, nodeArgs, env });
  }
  if (name.startsWith('fairway-')) return startFairway(name.slice('fairway-'.length) as BalancerName, ups, { nodeArgs, env, ...(opts.name === undefined ? {} : { name: opts.name }) });
  return startPeer(name as PeerName, ups, tmpDir, { nodeArgs, env, ...(opts.maxConns === undefined ? {} : { maxConns: opts.maxConns }), ...(opts.name === undefined ? {} : { name: opts.name }) });
}

/** True for targets that are one Node process (their CPU can be profiled with --cpu-prof). */
export function isNodeTarget(name: string): boolean {
  const plus = name.indexOf('+');
  if (plus > 0) return isNodeTarget(name.slice(0, plus)); // a --variant of a Node target
  return name.startsWith('fairway-') || name === 'undici-dispatch' || name === 'relay' || name === 'http-proxy-3' || name === 'fastify-http-proxy';
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
  opts: ThroughputOptions = {},
): Promise<ThroughputResult> {
  const skipped: { target: string; reason: string }[] = [];
  const targets: Target[] = [];
  const ups: Upstream[] = [];
  const samples: Sample[] = [];
  const peakRssKiB: Record<string, number | null> = {};
  try {
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(n));
    for (const name of targetNames) {
      const baseName = opts.variants?.find((x) => x.name === name)?.base ?? name;
      const missing = baseName === 'direct' || baseName.startsWith('fairway-') ? null : peerMissing(baseName as PeerName);
      if (missing !== null) {
        skipped.push({ target: name, reason: missing });
        progress(`${step()} skip ${name}: ${missing}`);
        continue;
      }
      try {
        const v = opts.variants?.find((x) => x.name === name);
        const base = opts.baselineDir === undefined ? {} : { baselineDir: opts.baselineDir };
        targets.push(await startTarget(v?.base ?? name, ups, tmpDir, v === undefined ? base : { ...base, nodeArgs: v.nodeArgs, env: v.env, name: v.name }));
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
    if (opts.afterMatrix !== undefined) await opts.afterMatrix(targets);
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
  const sample: Sample = { target: t.name, workload: w.name, repeat, warmupS, result, error, cpuUsPerReq: null, cpuPct: null, sysCpuUsPerReq: null, faultsPerReq: null, upstreamCpuUsPerReq: null, loadCpuPct: null, othersCpuPct: null };
  if (result !== null) {
    const n = result.ok + result.non2xx;
    const ownCpu = result.cpuS[0] ?? null;
    const upCpu = result.cpuS.reduce<number | null>((sum, c, i) => (sum === null || c === null ? null : upPids.includes(pids[i]!) ? sum + c : sum), 0);
    if (n > 0 && ownCpu !== null) sample.cpuUsPerReq = (ownCpu * 1e6) / n;
    if (ownCpu !== null) sample.cpuPct = (ownCpu / result.elapsedS) * 100;
    const ownSys = result.cpuSysS?.[0] ?? null;
    if (n > 0 && ownSys !== null) sample.sysCpuUsPerReq = (ownSys * 1e6) / n;
    const faults = result.minorFaults?.[0] ?? null;
    if (n > 0 && faults !== null) sample.faultsPerReq = faults / n;
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
