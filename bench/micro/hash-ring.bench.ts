// consistent-hash's table, and why a ring: ring build time and memory per pool size, the cost of
// a health change (no rebuild), keys moved when one upstream leaves, joins or is ejected; and
// the same figures for a Maglev table (Eisenbud et al., NSDI 2016) built here for comparison
// only. pick() per call is pick.bench.ts's question (its consistent-hash rows).
//
// Run: npx node bench/micro/hash-ring.bench.ts [--sizes=3,100,1000,10000]

import { fullGc } from './expose-gc.ts';
import { ConsistentHashBalancer } from '../../src/balancer/consistent-hash.ts';
import { mix30 } from '../../src/balancer/hash-key.ts';
import { NO_KEY } from '../../src/balancer/types.ts';
import { UpstreamFlag, type Upstream } from '../../src/pool/upstream.ts';
import { defaultRng } from '../../src/util/rng.ts';
import { makeMembers } from './fixtures.ts';

const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
const SIZES = sizesArg === undefined ? [3, 100, 1_000, 10_000] : sizesArg.slice('--sizes='.length).split(',').map(Number);
/** Keys whose placement is compared before and after a change. */
const KEYS = Array.from({ length: 200_000 }, (_, i) => mix30(i + 7));

/** Best of `reps` wall times of fn (ms). */
function bestMs(reps: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** ns per call of fn over `calls` calls, best of 5. */
function nsPer(calls: number, fn: (i: number) => number): number {
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink += fn(i);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / calls);
  }
  if (sink === -1) console.log(sink);
  return best;
}

function balancer(): ConsistentHashBalancer {
  return new ConsistentHashBalancer({ rng: defaultRng, decayMs: 10_000, loadFactor: null });
}

/** Fraction of KEYS whose upstream differs between two placements. */
function moved(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n / a.length;
}

/** ---- Maglev, for comparison: a table of M slots (M prime ≥ 100·N), lookup = one read. ---- */
function nextPrime(n: number): number {
  for (let p = n | 1; ; p += 2) {
    let prime = true;
    for (let d = 3; d * d <= p; d += 2) {
      if (p % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return p;
  }
}

/** Maglev population (equal weights): each member fills its next preferred free slot in turn. */
function maglev(origins: readonly string[], m: number): Int32Array {
  const n = origins.length;
  const offset = new Int32Array(n);
  const skip = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const h = mix30(hashString(origins[i]!));
    offset[i] = h % m;
    skip[i] = (mix30(h ^ 0x5bd1e995) % (m - 1)) + 1;
  }
  const next = new Int32Array(n);
  const table = new Int32Array(m).fill(-1);
  let filled = 0;
  while (true) {
    for (let i = 0; i < n; i++) {
      let c = (offset[i]! + next[i]! * skip[i]!) % m;
      while (table[c]! >= 0) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % m;
      }
      table[c] = i;
      next[i]!++;
      if (++filled === m) return table;
    }
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

console.log(`node ${process.version}; ${KEYS.length.toLocaleString('en-US')} keys; ring = src/balancer/hash-ring.ts, Maglev = this file's comparison build`);
console.log('\nring (consistent-hash): build, memory, health change, keys moved');
console.log('size    weights  points     build ms  ring MiB  eject ms  rebuilds  moved: leave (its share)  join  eject');
for (const size of SIZES) {
  for (const weighting of ['equal', 'mixed'] as const) {
    const members = makeMembers(size, weighting);
    fullGc();
    const buildMs = bestMs(3, () => balancer().update(members, members));
    const b = balancer();
    b.update(members, members);
    const before = KEYS.map((k) => b.pick(null, k)!.id);
    // Health change: one member ejected, the pool hands the rest with `all` unchanged.
    const builds = b.builds;
    const victim = members[1]!;
    const total = members.reduce((a, u) => a + u.weight, 0);
    victim.flags = UpstreamFlag.Ejected;
    const rest = members.filter((u) => u !== victim);
    const ejectMs = bestMs(3, () => b.update(rest, members));
    const ejected = KEYS.map((k) => b.pick(null, k)!.id);
    const rebuilds = b.builds - builds;
    victim.flags = 0;
    // Leave (reload without it) and join (one more upstream).
    const left = balancer();
    left.update(rest, rest);
    const afterLeave = KEYS.map((k) => left.pick(null, k)!.id);
    const joiner = makeMembers(size + 1, weighting)[size]!;
    const grown = balancer();
    grown.update([...members, joiner], [...members, joiner]);
    const afterJoin = KEYS.map((k) => grown.pick(null, k)!.id);
    console.log(
      `${String(size).padEnd(7)} ${weighting.padEnd(8)} ${String(b.ringPoints).padEnd(10)} ${buildMs.toFixed(1).padStart(8)}  ${(b.ringBytes / 2 ** 20).toFixed(2).padStart(8)}  ${ejectMs.toFixed(2).padStart(8)}  ${String(rebuilds).padStart(8)}  ${pct(moved(before, afterLeave))} (${pct(victim.weight / total)})  ${pct(moved(before, afterJoin)).padStart(8)}  ${pct(moved(before, ejected)).padStart(8)}`,
    );
  }
}

console.log('\nMaglev (comparison only; equal weights, M = next prime ≥ 100·N): build, memory, lookup, keys moved');
console.log('size    M           build ms  table MiB  lookup ns  moved: leave (1/N)');
for (const size of SIZES) {
  if (size < 3) continue;
  const origins = makeMembers(size, 'equal').map((u: Upstream) => u.origin);
  const m = nextPrime(100 * size);
  fullGc();
  const buildMs = bestMs(2, () => maglev(origins, m));
  const table = maglev(origins, m);
  const lookup = nsPer(2_000_000, (i) => table[KEYS[i & 65535]! % m]!);
  const rest = origins.filter((_, i) => i !== 1);
  const after = maglev(rest, m);
  // Indexes shift by one above the removed member: compare origins.
  let n = 0;
  for (const k of KEYS) if (origins[table[k % m]!] !== rest[after[k % m]!]) n++;
  console.log(
    `${String(size).padEnd(7)} ${String(m).padEnd(11)} ${buildMs.toFixed(1).padStart(8)}  ${(table.byteLength / 2 ** 20).toFixed(2).padStart(9)}  ${lookup.toFixed(1).padStart(9)}  ${pct(n / KEYS.length)} (${pct(1 / size)})`,
  );
}

/** The ring's own pick without load or tried, for the same comparison (pick.bench.ts has the full figures). */
console.log('\nring pick(null, key) ns, loads off, same keys:');
for (const size of SIZES) {
  const members = makeMembers(size, 'equal');
  const b = balancer();
  b.update(members, members);
  const ns = nsPer(2_000_000, (i) => b.pick(null, KEYS[i & 65535]!)!.id);
  const random = nsPer(2_000_000, () => b.pick(null, NO_KEY)!.id);
  console.log(`${String(size).padEnd(7)} ${ns.toFixed(1)} ns (without a key, as random: ${random.toFixed(1)} ns)`);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.001 ? 3 : 2)} %`;
}
