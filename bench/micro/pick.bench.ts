// ns per pick() alone and per request (pick + onStart + onFinish, 8 in flight) for each
// balancer × pool size × weights, and update() rebuild cost; with --crossover, the
// least-connections exact scan vs power-of-two-choices sizes that set EXACT_SCAN_MAX.
// Allocation is pick-alloc.ts's question.
//
// Two figures per cell, because they answer different questions: "pick() alone" is the
// target as the issues write it (≤ 50 ns at every size up to 10 000; consistent-hash ≤ 100 ns,
// with a key per pick from the harness's 65 536); "pick + onStart +
// onFinish" is what the pool pays per attempt. pick() alone is timed after warmUpSteps()
// simulated requests, so least-connections sees load and ewma reads measured, decaying
// estimates, not the never-measured members of a fresh pool.
//
// Each case is set up, warmed and timed on its own (one pool alive at a time), with mitata's
// measure() at a fixed CPU budget and always batched: a slow first call (a GC, a compile)
// otherwise made mitata time single calls, whose timer overhead read as a flat 30–40 ns.
// About 30 s in all on 2 shared cores.
//
// Run: npx node bench/micro/pick.bench.ts [--crossover] [--filter=REGEXP]
//   --filter matches "<balancer> <weights> <size>", "update <balancer> <size>", "lc-<mode> mixed <size>"
// consistent-hash's update() row is a health change (same configured set: no ring rebuild);
// its ring build is hash-ring.bench.ts's question.

import { fullGc } from './expose-gc.ts';
import { getHeapStatistics } from 'node:v8';
import { measure } from 'mitata';
import { balancerNames } from '../../src/balancer/index.ts';
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts';
import type { BalancerName } from '../../src/balancer/types.ts';
import { defaultRng } from '../../src/util/rng.ts';
import { IN_FLIGHT, SIZES, Traffic, WEIGHTINGS, makeBalancer, makeMembers, warmUpSteps, type Weighting } from './fixtures.ts';

const crossover = process.argv.includes('--crossover');
const filterArg = process.argv.find((a) => a.startsWith('--filter='));
const filter = filterArg === undefined ? /.*/ : new RegExp(filterArg.slice('--filter='.length));

/** CPU time each hot-path figure samples for (mitata's default is 642 ms). */
const HOT_CPU_NS = 400e6;
/**
 * Batched samples (4 096 calls each) whatever the first call took. A fresh object per call:
 * mitata writes its defaults into the one it gets.
 */
const hot = () => ({ gc: false, min_cpu_time: HOT_CPU_NS, batch_threshold: Infinity, warmup_threshold: Infinity });
/** update() allocates: sampled per call, with the heap it grows by. */
const rebuildOpts = () => ({ gc: false, min_cpu_time: 150e6, heap: heapNow });
/** The target for pick() alone (ns, p50): 50, and 100 for consistent-hash (its issue's figure). */
const TARGET_NS = 50;
const targetOf = (name: BalancerName): number => (name === 'consistent-hash' ? 100 : TARGET_NS);

function heapNow(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.malloced_memory;
}

/** mitata's stats, as far as this report reads them (times in ns, heap in bytes). */
interface Stats {
  avg: number;
  p50: number;
  heap?: { avg: number };
}

const alone = new Map<string, Stats>();
const request = new Map<string, Stats>();
const rebuild = new Map<string, Stats>();
const started = performance.now();

for (const name of balancerNames) {
  for (const weighting of WEIGHTINGS) {
    for (const size of SIZES) {
      const key = `${name} ${weighting} ${size}`;
      if (!filter.test(key)) continue;
      const members = makeMembers(size, weighting);
      const traffic = new Traffic(makeBalancer(name, members), members);
      traffic.warm(warmUpSteps(size));
      fullGc();
      alone.set(key, await measure(() => traffic.pickOnly(), hot()));
      request.set(key, await measure(() => traffic.step(), hot()));
    }
  }
}

for (const name of balancerNames) {
  for (const size of [1_000, 10_000]) {
    const key = `update ${name} ${size}`;
    if (!filter.test(key)) continue;
    const members = makeMembers(size, 'mixed');
    const balancer = makeBalancer(name, members);
    fullGc();
    rebuild.set(key, await measure(() => balancer.update(members), rebuildOpts()));
  }
}

const CROSSOVER_SIZES = [4, 8, 12, 16, 32];
if (crossover) {
  for (const size of CROSSOVER_SIZES) {
    for (const [mode, max] of [['scan', Infinity], ['p2c', 0]] as const) {
      const key = `lc-${mode} mixed ${size}`;
      if (!filter.test(key)) continue;
      const members = makeMembers(size, 'mixed');
      const balancer = new LeastConnectionsBalancer({ rng: defaultRng, decayMs: 10_000 }, max);
      balancer.update(members);
      const traffic = new Traffic(balancer, members);
      traffic.warm(warmUpSteps(size));
      request.set(key, await measure(() => traffic.step(), hot()));
    }
  }
}

const fmt = (ns: number) => (ns >= 10_000 ? `${(ns / 1_000).toFixed(0)} µs` : ns >= 1_000 ? `${(ns / 1_000).toFixed(1)} µs` : `${ns.toFixed(1)} ns`);
const cell = (s: Stats | undefined) => (s === undefined ? '-' : `${fmt(s.p50)} (${fmt(s.avg)})`);
const header = `${'balancer'.padEnd(18)} ${'weights'.padEnd(7)} ${SIZES.map((s) => `${s} members`.padStart(24)).join('')}`;

/** One row per balancer × weighting that has a figure. */
function table(rows: Map<string, Stats>, names: readonly string[]): void {
  for (const name of names) {
    const weightings: readonly Weighting[] = name.startsWith('lc-') ? ['mixed'] : WEIGHTINGS;
    for (const weighting of weightings) {
      const sizes: readonly number[] = name.startsWith('lc-') ? CROSSOVER_SIZES : SIZES;
      const cells = sizes.map((size) => {
        const c = cell(rows.get(`${name} ${weighting} ${size}`));
        return (name.startsWith('lc-') ? `${size}: ${c}` : c).padStart(24);
      });
      if (cells.every((c) => c.trim() === '-' || c.trim().endsWith(': -'))) continue;
      console.log(`${name.padEnd(18)} ${weighting.padEnd(7)} ${cells.join('')}`);
    }
  }
}

/** Worst pick() alone p50 of one balancer over sizes and weightings, or undefined. */
function worstAlone(name: BalancerName): number | undefined {
  let worst: number | undefined;
  for (const [key, s] of alone) if (key.startsWith(`${name} `)) worst = Math.max(worst ?? 0, s.p50);
  return worst;
}

console.log(`node ${process.version}, ${IN_FLIGHT} in flight, mixed weights cycle 1,2,3,5,8; cells: p50 (avg)`);
const worst = balancerNames.flatMap((n) => {
  const w = worstAlone(n);
  return w === undefined ? [] : [`${n} ${fmt(w)}`];
});
if (worst.length > 0) {
  const missed = balancerNames.filter((n) => (worstAlone(n) ?? 0) > targetOf(n));
  console.log(
    `pick() alone, worst p50 over sizes and weights: ${worst.join(', ')}; target ≤ ${TARGET_NS} ns (consistent-hash ≤ 100 ns): ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`}`,
  );
}

// This table comes first and update()'s next: bench/lib/micro.ts reads the balancer rows above
// the first "update()" line as the per-request figures.
console.log('\npick + onStart + onFinish, per request (the pool hot path), p50 (avg)');
console.log(header);
table(request, [...balancerNames, ...(crossover ? ['lc-scan', 'lc-p2c'] : [])]);

console.log('\nupdate() per call, p50 (avg), heap allocated per call');
for (const name of balancerNames) {
  const cells = [1_000, 10_000].map((size) => {
    const s = rebuild.get(`update ${name} ${size}`);
    if (s === undefined) return '-';
    return `${size}: ${cell(s)}, ${((s.heap?.avg ?? 0) / 1024).toFixed(0)} KiB`;
  });
  if (cells.every((c) => c === '-')) continue;
  console.log(`${name.padEnd(18)} ${cells.map((c) => c.padEnd(34)).join('')}`);
}

console.log(`\npick() alone, per call after warm-up traffic (target ≤ ${TARGET_NS} ns; consistent-hash ≤ 100 ns), p50 (avg)`);
console.log(header);
table(alone, balancerNames);

console.log(`\n${alone.size + request.size + rebuild.size} measurements in ${((performance.now() - started) / 1000).toFixed(1)} s`);
