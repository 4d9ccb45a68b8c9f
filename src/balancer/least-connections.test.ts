import { describe, expect, it } from 'vitest';
import { seededRng } from '../util/rng.ts';
import type { Upstream } from '../pool/upstream.ts';
import { Driver, makeUpstreams, openLoop, runConformance } from './conformance.case.ts';
import { EXACT_SCAN_MAX, LeastConnectionsBalancer } from './least-connections.ts';

runConformance('least-connections', (opts) => new LeastConnectionsBalancer(opts));

const opts = (seed: number) => ({ rng: seededRng(seed), decayMs: 10_000 });

describe('least-connections: exact scan', () => {
  it('prefers the member with fewer in-flight requests', () => {
    const [a, b, c] = makeUpstreams([1, 1, 1]) as [Upstream, Upstream, Upstream];
    const bal = new LeastConnectionsBalancer(opts(1));
    bal.update([a, b, c]);
    a.inflight = 3;
    b.inflight = 1;
    c.inflight = 2;
    for (let i = 0; i < 50; i++) expect(bal.pick(null)).toBe(b);
    expect(bal.pick([b])).toBe(c);
  });

  it('compares in-flight relative to weight', () => {
    const [a, b] = makeUpstreams([4, 1]) as [Upstream, Upstream];
    const bal = new LeastConnectionsBalancer(opts(2));
    bal.update([a, b]);
    a.inflight = 3; // 3/4
    b.inflight = 1; // 1/1
    expect(bal.pick(null)).toBe(a);
    a.inflight = 5; // 5/4
    expect(bal.pick(null)).toBe(b);
  });

  it('splits evenly between two idle members', () => {
    const members = makeUpstreams([1, 1]);
    const bal = new LeastConnectionsBalancer(opts(3));
    bal.update(members);
    const d = new Driver(bal);
    let first = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) if (d.oneShot() === members[0]) first++;
    expect(Math.abs(first / N - 0.5)).toBeLessThan(0.015);
  });

  it('breaks ties by weight, so idle members share load in proportion to weight', () => {
    const members = makeUpstreams([5, 1, 1]);
    const bal = new LeastConnectionsBalancer(opts(4));
    bal.update(members);
    const d = new Driver(bal);
    let heavy = 0;
    const N = 30_000;
    for (let i = 0; i < N; i++) if (d.oneShot() === members[0]) heavy++;
    expect(Math.abs(heavy / N - 5 / 7)).toBeLessThan(0.015);
  });

  it('under concurrency keeps in-flight proportional to weight', () => {
    const members = makeUpstreams([3, 1]);
    const bal = new LeastConnectionsBalancer(opts(5));
    bal.update(members);
    const d = new Driver(bal);
    for (let i = 0; i < 40; i++) d.start(bal.pick(null)!);
    expect(members[0]!.inflight).toBe(30);
    expect(members[1]!.inflight).toBe(10);
  });
});

describe(`least-connections: power of two choices above ${EXACT_SCAN_MAX} members`, () => {
  it('never picks a member more loaded than every other', () => {
    const members = makeUpstreams(new Array<number>(200).fill(1));
    const bal = new LeastConnectionsBalancer(opts(6));
    bal.update(members);
    members[7]!.inflight = 100;
    for (let i = 0; i < 5_000; i++) expect(bal.pick(null)).not.toBe(members[7]);
  });

  it('spreads idle load over every member, roughly evenly', () => {
    const members = makeUpstreams(new Array<number>(100).fill(1));
    const bal = new LeastConnectionsBalancer(opts(7));
    bal.update(members);
    const d = new Driver(bal);
    const c = new Map<Upstream, number>();
    for (let i = 0; i < 50_000; i++) {
      const u = d.oneShot();
      c.set(u, (c.get(u) ?? 0) + 1);
    }
    expect(c.size).toBe(100);
    for (const n of c.values()) expect(Math.abs(n - 500)).toBeLessThan(150);
  });

  it('keeps concurrent load balanced (max in-flight close to the mean)', () => {
    const members = makeUpstreams(new Array<number>(100).fill(1));
    const bal = new LeastConnectionsBalancer(opts(8));
    bal.update(members);
    const d = new Driver(bal);
    for (let i = 0; i < 1_000; i++) d.start(bal.pick(null)!);
    let max = 0;
    for (const u of members) if (u.inflight > max) max = u.inflight;
    // Mean 10; P2C keeps the maximum within a couple of requests of it.
    expect(max).toBeLessThanOrEqual(13);
  });

  it('gives the exact answer with the scan forced on a large pool', () => {
    const members = makeUpstreams(new Array<number>(200).fill(1));
    const bal = new LeastConnectionsBalancer(opts(9), Infinity);
    bal.update(members);
    for (const u of members) u.inflight = 5;
    members[123]!.inflight = 4;
    expect(bal.pick(null)).toBe(members[123]);
  });
});

describe('least-connections: failures count (a fast 503 does not attract traffic)', () => {
  for (const [label, size] of [['exact scan', 3], ['power of two choices', 12]] as const) {
    it(`an upstream that always fails fast gets little traffic, not the most (${label})`, () => {
      const members = makeUpstreams(new Array<number>(size).fill(1));
      const failing = members[size - 1]!;
      const bal = new LeastConnectionsBalancer(opts(11));
      bal.update(members);
      // Healthy members answer in 4 ms, the failing one in 1 ms: at 1 request per ms the fast
      // one is the least loaded most of the time.
      const c = openLoop(new Driver(bal, 0), members, 30_000, 20_000, (u) => (u === failing ? 1 : 4), (u) => u !== failing, 1);
      const share = c[size - 1]! / 20_000;
      expect(share).toBeLessThan(0.2 / size);
    });
  }

  it('an upstream failing 20 % of the time loses most of its share; its peers split the rest evenly', () => {
    const members = makeUpstreams([1, 1, 1]);
    const [a, b, c] = members as [Upstream, Upstream, Upstream];
    const bal = new LeastConnectionsBalancer(opts(12));
    bal.update(members);
    const counts = openLoop(new Driver(bal, 0), members, 30_000, 20_000, () => 2, (u, n) => u !== c || n % 5 !== 0, 1);
    expect(counts[2]! / 20_000).toBeLessThan(0.12);
    expect(Math.abs(counts[0]! - counts[1]!) / 20_000).toBeLessThan(0.05);
    expect(a.inflight + b.inflight + c.inflight).toBe(0);
  });

  it('a recovered upstream gets its share back once the penalty has faded', () => {
    const members = makeUpstreams([1, 1, 1]);
    const c = members[2]!;
    const bal = new LeastConnectionsBalancer(opts(13));
    bal.update(members);
    const d = new Driver(bal, 0);
    let failing = true;
    openLoop(d, members, 5_000, 1, (u) => (u === c ? 1 : 3), (u) => !failing || u !== c, 1);
    expect(bal.penaltyOf(c)).toBeGreaterThan(0.5);
    failing = false;
    const after = openLoop(d, members, 20_000, 10_000, () => 3, () => true, 1);
    expect(after[2]! / 10_000).toBeGreaterThan(0.25);
  });
});
