// ns per request on the balancer hot path (pick + onStart + onFinish, 8 in flight) for each
// balancer × pool size × weights, and update() rebuild cost; with --crossover, the
// least-connections exact scan vs power-of-two-choices sizes that set EXACT_SCAN_MAX.
// Allocation is pick-alloc.ts's question.
//
// Run: npx node bench/micro/pick.bench.ts [--crossover] [--filter=REGEXP]

import './expose-gc.ts';
import { bench, group, run } from 'mitata';
import { balancerNames } from '../../src/balancer/index.ts';
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts';
import { defaultRng } from '../../src/util/rng.ts';
import { IN_FLIGHT, SIZES, Traffic, WEIGHTINGS, makeBalancer, makeMembers } from './fixtures.ts';

const crossover = process.argv.includes('--crossover');
const filterArg = process.argv.find((a) => a.startsWith('--filter='));
const filter = filterArg === undefined ? /.*/ : new RegExp(filterArg.slice('--filter='.length));

for (const name of balancerNames) {
  group(`${name}: pick + onStart + onFinish`, () => {
    for (const weighting of WEIGHTINGS) {
      for (const size of SIZES) {
        const members = makeMembers(size, weighting);
        const traffic = new Traffic(makeBalancer(name, members), members);
        bench(`${name} ${weighting} ${size}`, () => traffic.step()).gc(false);
      }
    }
  });
}

group('update(): rebuild after a membership or weight change (mixed weights)', () => {
  for (const name of balancerNames) {
    for (const size of [1_000, 10_000]) {
      const members = makeMembers(size, 'mixed');
      const balancer = makeBalancer(name, members);
      bench(`update ${name} ${size}`, () => balancer.update(members)).gc(false);
    }
  }
});

if (crossover) {
  group('least-connections: exact scan vs P2C (mixed weights)', () => {
    for (const size of [4, 8, 12, 16, 32]) {
      for (const [mode, max] of [['scan', Infinity], ['p2c', 0]] as const) {
        const members = makeMembers(size, 'mixed');
        const balancer = new LeastConnectionsBalancer({ rng: defaultRng, decayMs: 10_000 }, max);
        balancer.update(members);
        const traffic = new Traffic(balancer, members);
        bench(`lc-${mode} mixed ${size}`, () => traffic.step()).gc(false);
      }
    }
  });
}

const started = performance.now();
const { benchmarks } = await run({ format: 'quiet', filter });

/** mitata's stats, as far as this report reads them (times in ns, heap in bytes). */
interface Stats {
  avg: number;
  min: number;
  p50: number;
  p99: number;
  heap?: { avg: number };
}
const rows = new Map<string, Stats>();
for (const trial of benchmarks) {
  for (const r of trial.runs) if (r.stats !== undefined) rows.set(r.name, r.stats as unknown as Stats);
}

const fmt = (ns: number) => (ns >= 10_000 ? `${(ns / 1_000).toFixed(0)} µs` : ns >= 1_000 ? `${(ns / 1_000).toFixed(1)} µs` : `${ns.toFixed(1)} ns`);
console.log(`node ${process.version}, ${IN_FLIGHT} in flight, mixed weights cycle 1,2,3,5,8; p50 (avg) per request`);
console.log(`${'balancer'.padEnd(18)} ${'weights'.padEnd(7)} ${SIZES.map((s) => `${s} members`.padStart(24)).join('')}`);
const names: string[] = [...balancerNames];
if (crossover) names.push('lc-scan', 'lc-p2c');
for (const name of names) {
  for (const weighting of name.startsWith('lc-') ? (['mixed'] as const) : WEIGHTINGS) {
    const sizes = name.startsWith('lc-') ? [4, 8, 12, 16, 32] : SIZES;
    const cells = sizes.map((size) => {
      const s = rows.get(`${name} ${weighting} ${size}`);
      const cell = s === undefined ? '-' : `${fmt(s.p50)} (${fmt(s.avg)})`;
      return (name.startsWith('lc-') ? `${size}: ${cell}` : cell).padStart(24);
    });
    if (cells.every((c) => c.trim() === '-')) continue;
    console.log(`${name.padEnd(18)} ${weighting.padEnd(7)} ${cells.join('')}`);
  }
}
console.log('\nupdate() per call, p50 (avg), heap allocated per call');
for (const name of balancerNames) {
  const cells = [1_000, 10_000].map((size) => {
    const s = rows.get(`update ${name} ${size}`);
    if (s === undefined) return '-';
    return `${size}: ${fmt(s.p50)} (${fmt(s.avg)}), ${((s.heap?.avg ?? 0) / 1024).toFixed(0)} KiB`;
  });
  if (cells.every((c) => c === '-')) continue;
  console.log(`${name.padEnd(18)} ${cells.map((c) => c.padEnd(34)).join('')}`);
}
console.log(`\n${rows.size} benchmarks in ${((performance.now() - started) / 1000).toFixed(1)} s`);
