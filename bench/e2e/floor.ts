// The "floor" passes of a run, decided in one place: syscalls per request of every target
// (strace, after the matrix while the targets are up), a CPU profile of every Node target, and
// the conn-scale part. run.ts asks `floorPlan` what to do and calls the passes; this module owns
// no measuring of its own.

import type { Profile } from '../lib/options.ts';
import { WORKLOADS, type Workload } from '../lib/options.ts';
import { BASELINE_TARGET, type Selection } from '../lib/select.ts';
import { CONN_SCALE_TARGETS } from './conn-scale.ts';
import { profileTarget, type ProfileResult } from './profile.ts';
import { straceMissing, straceRun, type SyscallRow } from './syscalls.ts';
import type { Target } from './targets.ts';
import { isNodeTarget, type Progress } from './throughput.ts';

export interface FloorPlan {
  /** Workloads each target is straced on; empty = no strace pass. */
  straceWorkloads: Workload[];
  /** Why there is no strace pass although one was wanted, else null. */
  straceSkipped: string | null;
  /** Node targets to CPU-profile (one Fairway balancer: round-robin, plus the baseline). */
  profileTargets: string[];
  connScaleTargets: string[];
}

export interface FloorAsk {
  /** --strace */
  strace: boolean;
  /** --profile */
  cpuProfile: boolean;
  /** No --only: a full run. */
  full: boolean;
  hasBaseline: boolean;
}

/** What the floor passes will do in this run. Pure apart from looking for strace. */
export function floorPlan(p: Profile, sel: Selection, ask: FloorAsk): FloorPlan {
  const wantStrace = sel.targets.length > 0 && p.mode !== 'smoke' && (ask.strace || sel.peers);
  const missing = wantStrace ? straceMissing() : null;
  const wantProfiles = sel.targets.length > 0 && (ask.cpuProfile || sel.peers || (p.alwaysProfile && ask.full));
  return {
    straceWorkloads: wantStrace && missing === null ? WORKLOADS.filter((w) => p.straceWorkloads.includes(w.name)) : [],
    straceSkipped: wantStrace ? missing : null,
    profileTargets: wantProfiles
      ? sel.targets.filter((t) => isNodeTarget(t) && (!t.startsWith('fairway-') || t === 'fairway-round-robin' || t === BASELINE_TARGET))
      : ask.cpuProfile
        ? ['fairway-round-robin']
        : [],
    connScaleTargets: sel.connScale ? CONN_SCALE_TARGETS.filter((t) => t !== BASELINE_TARGET || ask.hasBaseline) : [],
  };
}

/** Steps and rough seconds the floor passes add (progress lines and the estimate). */
export function floorCost(p: Profile, plan: FloorPlan, targets: readonly string[]): { steps: number; seconds: number } {
  const straceRuns = plan.straceWorkloads.length * Math.max(0, targets.filter((t) => t !== 'direct' && (!t.startsWith('fairway-') || t === 'fairway-round-robin' || t === BASELINE_TARGET)).length);
  const cs = p.connScale;
  const perConnScale = 3 + cs.rounds * (2 * cs.measureS + 1.5 + cs.idle / 2000) + cs.measureS + 2 * cs.measureS + 2 + (cs.heapIdle > 0 ? 15 : 0);
  return {
    steps: straceRuns + plan.profileTargets.length + plan.connScaleTargets.length,
    seconds: straceRuns * (p.straceS + 1.5) + plan.profileTargets.length * (p.profileS + 4) + plan.connScaleTargets.length * perConnScale,
  };
}

/** The strace pass as a throughput `afterMatrix` hook: every target but direct, on each planned workload. */
export function stracePass(p: Profile, plan: FloorPlan, out: SyscallRow[], progress: Progress, step: () => string): (targets: readonly Target[]) => Promise<void> {
  return async (targets) => {
    for (const w of plan.straceWorkloads) {
      for (const t of targets) {
        // The other balancers share round-robin's I/O path: their syscalls would repeat it.
        if (t.kind === 'direct' || (t.name.startsWith('fairway-') && t.name !== 'fairway-round-robin' && t.name !== BASELINE_TARGET)) continue;
        const r = await straceRun(t, w, p.straceS);
        out.push(r);
        progress(`${step()} strace ${w.name} ${t.name.padEnd(24)} ${r.error ?? `${r.total.toFixed(2)} syscalls/req (${Math.round(r.rps)} req/s under strace)`}`);
      }
    }
  };
}

/** CPU-profiles each planned Node target, one after another (fresh processes). */
export async function profilePass(p: Profile, plan: FloorPlan, outDir: string, tmpDir: string, baselineDir: string | undefined, progress: Progress, step: () => string): Promise<ProfileResult[]> {
  const results: ProfileResult[] = [];
  for (const name of plan.profileTargets) {
    const r = await profileTarget(name, p, outDir, { tmpDir, ...(baselineDir === undefined ? {} : { baselineDir }) });
    results.push(r);
    progress(`${step()} profile ${name.padEnd(24)} ${r.error ?? `${r.cpuUsPerReq?.toFixed(1) ?? '–'} µs/req while profiled → ${r.file}`}`);
  }
  return results;
}
