import { describe, expect, it } from 'vitest';
import { seededRng } from '../util/rng.ts';
import type { Upstream } from '../pool/upstream.ts';
import { Driver, makeUpstreams, runConformance } from './conformance.case.ts';
import { CYCLE_CAP, RoundRobinBalancer } from './round-robin.ts';

runConformance('round-robin', (opts) => new RoundRobinBalancer(opts));

const make = (seed: number) => new RoundRobinBalancer({ rng: seededRng(seed), decayMs: 10_000 });

/** nginx's smooth WRR, written the plain O(n) way, from counters at 0. */
function reference(weights: readonly number[], steps: number): number[] {
  const current = weights.map(() => 0);
  const total = weights.reduce((s, w) => s + w, 0);
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

/** The picks as member indexes. */
function run(b: RoundRobinBalancer, members: readonly Upstream[], steps: number): number[] {
  const d = new Driver(b);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(members.indexOf(d.oneShot()));
  return out;
}

/** True when `seq` (≥ one period long) is the periodic `cycle` read from some offset. */
function isRotationOf<T>(seq: readonly T[], cycle: readonly T[]): boolean {
  const p = cycle.length;
  for (let off = 0; off < p; off++) {
    let ok = true;
    for (let i = 0; i < seq.length && ok; i++) ok = seq[i] === cycle[(off + i) % p];
    if (ok) return true;
  }
  return false;
}

describe('round-robin: smooth weighted order', () => {
  it('weights 5,1,1 give the cycle a a b a c a a, from a random offset', () => {
    const members = makeUpstreams([5, 1, 1]);
    const offsets = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const b = make(seed);
      b.update(members);
      const seq = run(b, members, 21).map((i) => 'abc'[i]).join('');
      expect(isRotationOf([...seq], [...'aabacaa'])).toBe(true);
      offsets.add('aabacaaaabacaa'.indexOf(seq.slice(0, 7)));
    }
    // Different processes start at different points of the cycle.
    expect(offsets.size).toBeGreaterThan(2);
  });

  it('weights 8,1,1 never send the heavy member 8 in a row (nginx order: at most 6 across the cycle seam)', () => {
    const members = makeUpstreams([8, 1, 1]);
    const b = make(3);
    b.update(members);
    const seq = run(b, members, 100);
    let longest = 0;
    let runLen = 0;
    for (let i = 0; i < seq.length; i++) {
      runLen = i > 0 && seq[i] === seq[i - 1] ? runLen + 1 : 1;
      if (runLen > longest) longest = runLen;
    }
    expect(longest).toBeLessThanOrEqual(6);
    expect(isRotationOf(seq, reference([8, 1, 1], 10))).toBe(true);
  });

  it('matches plain nginx smooth WRR for random weight sets (grouped precomputed cycle)', () => {
    const rng = seededRng(42);
    for (let t = 0; t < 30; t++) {
      const n = 2 + ((rng() * 25) | 0);
      const weights: number[] = [];
      for (let i = 0; i < n; i++) weights.push(1 + ((rng() * 6) | 0));
      const total = weights.reduce((s, w) => s + w, 0);
      const members = makeUpstreams(weights);
      const b = make(t);
      b.update(members);
      const seq = run(b, members, total * 2);
      expect(isRotationOf(seq, reference(weights, total))).toBe(true);
    }
  });

  it('equal weights go round in member order', () => {
    const members = makeUpstreams(new Array<number>(1_000).fill(2));
    const b = make(5);
    b.update(members);
    const seq = run(b, members, 2_000);
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBe((seq[i - 1]! + 1) % 1_000);
  });

  it('live mode (non-integer weights) gives the same order', () => {
    const members = makeUpstreams([2.5, 0.5, 0.5]);
    const b = make(6);
    b.update(members);
    const seq = run(b, members, 21).map((i) => 'abc'[i]).join('');
    expect(isRotationOf([...seq], [...'aabacaa'])).toBe(true);
  });

  it(`live mode above the cycle cap (${CYCLE_CAP}) keeps exact shares and no bursts of the light member`, () => {
    const members = makeUpstreams([CYCLE_CAP, 1]);
    const b = make(7);
    b.update(members);
    const period = CYCLE_CAP + 1;
    const seq = run(b, members, period * 2);
    expect(seq.filter((i) => i === 1)).toHaveLength(2);
    const first = seq.indexOf(1);
    expect(seq.indexOf(1, first + 1) - first).toBe(period);
  });

  it('a re-pick steps past tried members and keeps the order smooth', () => {
    const members = makeUpstreams([5, 1, 1]);
    const [a, b, c] = members as [Upstream, Upstream, Upstream];
    const bal = make(8);
    bal.update(members);
    const seen: Upstream[] = [];
    for (let i = 0; i < 20; i++) seen.push(bal.pick([a])!);
    expect(seen.filter((u) => u === b).length).toBe(10);
    expect(seen.filter((u) => u === c).length).toBe(10);
    // Weights 1000,1 with the heavy one tried: found by the member scan, not a 1000-step walk.
    const heavy = makeUpstreams([1_000, 1], 4001);
    bal.update(heavy);
    expect(bal.pick([heavy[0]!])).toBe(heavy[1]);
  });

  it('divides weights by their gcd (weights 10,20 cycle every 3 picks)', () => {
    const members = makeUpstreams([10, 20]);
    const b = make(9);
    b.update(members);
    const seq = run(b, members, 9);
    expect(isRotationOf(seq, [1, 0, 1])).toBe(true);
  });
});
