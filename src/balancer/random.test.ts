import { describe, expect, it } from 'vitest';
import { seededRng } from '../util/rng.ts';
import type { Upstream } from '../pool/upstream.ts';
import { Driver, makeUpstreams, runConformance } from './conformance.case.ts';
import { RandomBalancer } from './random.ts';

runConformance('random', (opts) => new RandomBalancer(opts));

const make = (seed: number) => new RandomBalancer({ rng: seededRng(seed), decayMs: 10_000 });

function shares(b: RandomBalancer, members: readonly Upstream[], n: number, tried: readonly Upstream[] | null = null): number[] {
  const d = new Driver(b);
  const c = members.map(() => 0);
  for (let i = 0; i < n; i++) c[members.indexOf(d.oneShot(1, tried))]!++;
  return c.map((x) => x / n);
}

describe('random: weighted shares', () => {
  it('5,1,1 → each share within ±3 % of its weight over 100 000 seeded picks', () => {
    const members = makeUpstreams([5, 1, 1]);
    const b = make(1);
    b.update(members);
    const s = shares(b, members, 100_000);
    const want = [5 / 7, 1 / 7, 1 / 7];
    for (let i = 0; i < 3; i++) expect(Math.abs(s[i]! - want[i]!) / want[i]!).toBeLessThan(0.03);
  });

  it('an alias table over 10 000 mixed weights matches the weights per class', () => {
    const weights: number[] = [];
    for (let i = 0; i < 10_000; i++) weights.push([1, 2, 5, 10][i % 4]!);
    const members = makeUpstreams(weights);
    const b = make(2);
    b.update(members);
    const d = new Driver(b);
    const byWeight = new Map<number, number>();
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      const w = d.oneShot().weight;
      byWeight.set(w, (byWeight.get(w) ?? 0) + 1);
    }
    for (const w of [1, 2, 5, 10]) expect(Math.abs(byWeight.get(w)! / N - w / 18) / (w / 18)).toBeLessThan(0.03);
  });

  it('a re-pick keeps the weights among untried members', () => {
    const members = makeUpstreams([5, 3, 1]);
    const b = make(3);
    b.update(members);
    const s = shares(b, members, 60_000, [members[0]!]);
    expect(s[0]).toBe(0);
    expect(Math.abs(s[1]! - 0.75)).toBeLessThan(0.02);
  });

  it('the exact fallback for heavy tried members keeps weights among the rest', () => {
    const members = makeUpstreams([10_000, 10_000, 1, 3]);
    const b = make(4);
    b.update(members);
    const s = shares(b, members, 40_000, [members[0]!, members[1]!]);
    expect(s[0]! + s[1]!).toBe(0);
    expect(Math.abs(s[3]! - 0.75)).toBeLessThan(0.02);
  });
});
