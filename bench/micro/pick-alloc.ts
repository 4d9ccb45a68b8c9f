// Does the hot path allocate? For each balancer × pool size, one million simulated requests
// (pick + onStart + onFinish, 8 in flight) under a PerformanceObserver('gc'), then one
// million pick() calls alone: expect zero collections. Speed is pick.bench.ts's question.
//
// Run: npx node bench/micro/pick-alloc.ts [balancer-name ...]   (default: all)

import { fullGc } from './expose-gc.ts';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { balancerNames } from '../../src/balancer/index.ts';
import { IN_FLIGHT, SIZES, Traffic, makeBalancer, makeMembers } from './fixtures.ts';

const REQUESTS = 1_000_000;
/**
 * Calls before each measured run, to let V8 settle: a row can take code paths earlier rows
 * never did (ewma's pick() draws from a pair table up to 16 members, alias tables above), and
 * the one deoptimisation that causes took up to a few hundred thousand calls to re-optimise,
 * whose interpreter-boxed doubles (up to 4 MB: enough for a minor GC) a 200 000-call warm-up
 * counted as the hot path's.
 */
const WARMUP = 1_000_000;

let minor = 0;
let major = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    if ((e.detail?.kind ?? 0) === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    else major++;
  }
});
observer.observe({ entryTypes: ['gc'] });

/** Lets the observer deliver pending entries. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

interface Measured {
  minor: number;
  major: number;
  heapDeltaKiB: number;
  nsPerOp: number;
}

async function measure(op: () => void): Promise<Measured> {
  fullGc();
  await settle();
  minor = 0;
  major = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) op();
  const t1 = process.hrtime.bigint();
  const heapAfter = process.memoryUsage().heapUsed;
  await settle();
  return { minor, major, heapDeltaKiB: (heapAfter - heapBefore) / 1024, nsPerOp: Number(t1 - t0) / REQUESTS };
}

console.log(
  `node ${process.version}; per row ${REQUESTS.toLocaleString('en')} ops after ${WARMUP.toLocaleString('en')} warm-up; mixed weights; ${IN_FLIGHT} in flight`,
);
console.log('                          pick + onStart + onFinish               | pick() alone');
console.log('balancer           size   minor  major  heap Δ KiB  ns/request | minor  major');
let dirtyPicks = 0;
let dirtyRequests = 0;
const only = process.argv.slice(2);
for (const name of balancerNames) {
  if (only.length > 0 && !only.includes(name)) continue;
  for (const size of SIZES) {
    const members = makeMembers(size, 'mixed');
    const traffic = new Traffic(makeBalancer(name, members), members);
    for (let i = 0; i < WARMUP; i++) traffic.step();
    const full = await measure(() => traffic.step());
    for (let i = 0; i < WARMUP; i++) traffic.pickOnly();
    const alone = await measure(() => void traffic.pickOnly());
    traffic.drain();
    if (full.minor + full.major > 0) dirtyRequests++;
    if (alone.minor + alone.major > 0) dirtyPicks++;
    console.log(
      `${name.padEnd(18)} ${String(size).padStart(5)}  ${String(full.minor).padStart(5)}  ${String(full.major).padStart(5)}  ${full.heapDeltaKiB.toFixed(1).padStart(10)}  ${full.nsPerOp.toFixed(1).padStart(10)} | ${String(alone.minor).padStart(5)}  ${String(alone.major).padStart(5)}`,
    );
  }
}
observer.disconnect();
console.log(dirtyPicks === 0 ? 'pick(): no collection in any row' : `pick(): ${dirtyPicks} row(s) collected garbage: pick() allocates`);
console.log(
  dirtyRequests === 0
    ? 'pick + onStart + onFinish: no collection in any row'
    : `pick + onStart + onFinish: ${dirtyRequests} row(s) collected garbage`,
);
