import { describe, expect, it } from 'vitest';
import { seededRng } from '../util/rng.ts';
import type { Upstream } from '../pool/upstream.ts';
import { Driver, makeUpstreams, openLoop, runConformance } from './conformance.case.ts';
import { DEFAULT_RTT_MS, EwmaBalancer, FAILURE_FACTOR } from './ewma.ts';
import { FastRng } from './fast-rng.ts';
import { TwoChoices } from './two-choices.ts';
import { WeightedSampler } from './weighted-sampler.ts';

runConformance('ewma', (opts) => new EwmaBalancer(opts));

const make = (seed: number, decayMs = 10_000) => new EwmaBalancer({ rng: seededRng(seed), decayMs });

/**
 * Simulated traffic: a new request every `gapMs`, each taking `latency(u)` ms and resolving
 * in order; `inFlight` requests are outstanding at a time. Returns picks per member.
 */
function traffic(
  d: Driver,
  members: readonly Upstream[],
  requests: number,
  latency: (u: Upstream) => number,
  ok: (u: Upstream) => boolean = () => true,
  gapMs = 1,
  inFlight = 4,
): number[] {
  const counts = members.map(() => 0);
  const held: { u: Upstream; at: number }[] = [];
  for (let i = 0; i < requests; i++) {
    // Finish everything due by now (latency elapsed), then start one more.
    for (let k = 0; k < held.length; k++) {
      const h = held[k]!;
      if (h.at + latency(h.u) <= d.nowMs || held.length >= inFlight) {
        d.finish(h.u, d.nowMs - h.at > 0 ? Math.max(d.nowMs - h.at, latency(h.u)) : latency(h.u), ok(h.u));
        held.splice(k--, 1);
      }
    }
    const u = d.pick(null)!;
    counts[members.indexOf(u)]!++;
    d.start(u);
    held.push({ u, at: d.nowMs });
    d.nowMs += gapMs;
  }
  for (const h of held) d.finish(h.u, latency(h.u), ok(h.u));
  return counts;
}

describe('ewma: peak estimate', () => {
  it('a slower sample replaces the estimate at once; a faster one blends in', () => {
    const [a] = makeUpstreams([1]) as [Upstream];
    const bal = make(1);
    bal.update([a]);
    const d = new Driver(bal, 0);
    d.start(a);
    d.finish(a, 10);
    expect(a.ewmaMs).toBe(10);
    d.start(a);
    d.finish(a, 100);
    expect(a.ewmaMs).toBe(100);
    d.nowMs = 1_000; // 1 s later, τ = 10 s: w = e^-0.1
    d.start(a);
    d.finish(a, 10);
    const w = Math.exp(-0.1);
    expect(a.ewmaMs).toBeCloseTo(100 * w + 10 * (1 - w), 9);
    expect(a.ewmaAt).toBe(1_000);
  });

  it('a failure never lowers the estimate, and counts at least twice it', () => {
    const [a] = makeUpstreams([1]) as [Upstream];
    const bal = make(2);
    bal.update([a]);
    const d = new Driver(bal, 0);
    d.start(a);
    d.finish(a, 20);
    d.start(a);
    d.finish(a, 0.5, false); // a fast 503
    expect(a.ewmaMs).toBeGreaterThanOrEqual(FAILURE_FACTOR * 20);
    const before = a.ewmaMs;
    d.start(a);
    d.finish(a, 0.5, false);
    expect(a.ewmaMs).toBeGreaterThan(before);
    // A timeout counts as its own (long) latency.
    d.start(a);
    d.finish(a, 30_000, false);
    expect(a.ewmaMs).toBe(30_000);
  });

  it('never-measured members count as the pool’s typical latency (not 0, not 1 s)', () => {
    const [a, b, c] = makeUpstreams([1, 1, 1]) as [Upstream, Upstream, Upstream];
    const bal = make(3);
    bal.update([a, b]);
    const d = new Driver(bal, 0);
    traffic(d, [a, b], 2_000, () => 20);
    // `c` joins a warm pool: with 30 requests held open it gets about a third, not all, not none.
    bal.update([a, b, c]);
    const held: Upstream[] = [];
    for (let i = 0; i < 30; i++) {
      const u = bal.pick(null)!;
      d.start(u);
      held.push(u);
    }
    const forC = held.filter((u) => u === c).length;
    expect(forC).toBeGreaterThanOrEqual(6);
    expect(forC).toBeLessThanOrEqual(15);
    for (const u of held) d.finish(u, 20);
    expect(DEFAULT_RTT_MS).toBeGreaterThan(0);
  });
});

describe('ewma: traffic shaping', () => {
  it('a slow upstream loses its share quickly', () => {
    const members = makeUpstreams([1, 1, 1]);
    const [, , slow] = members as [Upstream, Upstream, Upstream];
    const bal = make(4);
    bal.update(members);
    const d = new Driver(bal, 0);
    const lat = (u: Upstream) => (u === slow ? 200 : 10);
    // Warm-up: everyone answers once or twice.
    traffic(d, members, 100, lat);
    const c = traffic(d, members, 5_000, lat);
    expect(c[2]! / 5_000).toBeLessThan(0.02);
    expect(c[0]! / 5_000).toBeGreaterThan(0.4);
  });

  it('a recovered upstream is tried again once its estimate has decayed', () => {
    const members = makeUpstreams([1, 1, 1]);
    const [, , slow] = members as [Upstream, Upstream, Upstream];
    const bal = make(5);
    bal.update(members);
    const d = new Driver(bal, 0);
    let slowMs = 500;
    const lat = (u: Upstream) => (u === slow ? slowMs : 10);
    traffic(d, members, 3_000, lat);
    expect(slow.ewmaMs).toBeGreaterThanOrEqual(400);
    slowMs = 10; // it recovers, but gets no traffic to show it...
    // ...until decay makes it worth a probe: τ·ln(500/10·k) ≈ 40–60 s of traffic at 5 ms gaps.
    const c = traffic(d, members, 30_000, lat, () => true, 5);
    expect(c[2]).toBeGreaterThan(0);
    // After the probes it is a full peer again.
    const after = traffic(d, members, 6_000, lat, () => true, 5);
    expect(after[2]! / 6_000).toBeGreaterThan(0.2);
  });

  it('fast failures do not attract traffic', () => {
    const members = makeUpstreams([1, 1, 1]);
    const [, , failing] = members as [Upstream, Upstream, Upstream];
    const bal = make(6);
    bal.update(members);
    const d = new Driver(bal, 0);
    const lat = (u: Upstream) => (u === failing ? 0.2 : 20);
    const c = traffic(d, members, 6_000, lat, (u) => u !== failing);
    expect(c[2]! / 6_000).toBeLessThan(0.05);
    expect(failing.ewmaMs).toBeGreaterThan(members[0]!.ewmaMs);
  });

  it('an idle upstream decays: equally idle members keep their order', () => {
    const [a, b] = makeUpstreams([1, 1]) as [Upstream, Upstream];
    const bal = make(7);
    bal.update([a, b]);
    const d = new Driver(bal, 0);
    d.start(a);
    d.finish(a, 40);
    d.start(b);
    d.finish(b, 20);
    d.nowMs = 60_000; // a minute of silence, then one event moves the balancer's clock
    d.start(b);
    d.finish(b, 20);
    // b's fresh 20 ms vs a's 40·e^-6 ≈ 0.1 ms: a is worth a probe now.
    expect(bal.pick(null)).toBe(a);
  });

  it('weight divides cost: with equal latency and load the heavier member wins', () => {
    const [a, b] = makeUpstreams([3, 1]) as [Upstream, Upstream];
    const bal = make(8);
    bal.update([a, b]);
    const d = new Driver(bal, 0);
    d.start(a);
    d.finish(a, 10);
    d.start(b);
    d.finish(b, 10);
    a.inflight = 2; // cost 10·3/3 = 10 vs b: 10·1/1 = 10 → tie; 3 in flight tips it
    a.inflight = 3;
    expect(bal.pick(null)).toBe(b);
    a.inflight = 1;
    expect(bal.pick(null)).toBe(a);
  });
});

describe('ewma: pick() reads cost exactly as the formula (no-exp comparison, table draws)', () => {
  /** The cost as the header defines it: decayed estimate (floored; typical if never measured) × (inflight + 1) / weight. */
  const cost = (u: Upstream, now: number, typical: number, tau: number): number => {
    const est = u.ewmaMs > 0 ? Math.max(u.ewmaMs * Math.exp(Math.min(0, (u.ewmaAt - now) / tau)), 1e-6) : typical;
    return (est * (u.inflight + 1)) / u.weight;
  };

  it('of two members, always picks the cheaper (random estimates, ages, loads, weights; floor, unmeasured, clock skew)', () => {
    const rng = seededRng(21);
    const tau = 10_000;
    const now = 1_000_000;
    for (let trial = 0; trial < 20_000; trial++) {
      const members = makeUpstreams([1 + Math.floor(rng() * 10), 1 + Math.floor(rng() * 10)]);
      for (const u of members) {
        const kind = rng();
        // Mostly measured and recent; some never measured, some near the MIN_MS floor or long
        // idle, some stamped after the balancer's clock (another balancer wrote them).
        u.ewmaMs = kind < 0.1 ? 0 : kind < 0.15 ? 1e-6 * (1 + rng() * 100) : Math.exp(rng() * 14 - 5);
        u.ewmaAt = kind < 0.1 ? 0 : now - (rng() < 0.1 ? rng() * 300_000 : rng() < 0.05 ? -rng() * 1_000 : rng() * 20_000);
        u.inflight = Math.floor(rng() * 12);
      }
      // Near-ties too: copy one member's state to the other, nudged.
      if (rng() < 0.2) {
        members[1]!.ewmaMs = members[0]!.ewmaMs * (1 + (rng() - 0.5) * 1e-9);
        members[1]!.ewmaAt = members[0]!.ewmaAt + (rng() - 0.5) * 10;
      }
      const bal = new EwmaBalancer({ rng: seededRng(trial + 1), decayMs: tau });
      bal.update(members);
      bal.onStart(members[0]!, now);
      // update() moved the clock to the latest stamp and seeded typical from measured members.
      const measured = members.filter((u) => u.ewmaMs > 0);
      const clock = Math.max(now, ...measured.map((u) => u.ewmaAt));
      const typical = measured.length > 0 ? measured.reduce((a, u) => a + u.ewmaMs, 0) / measured.length : DEFAULT_RTT_MS;
      const [c0, c1] = members.map((u) => cost(u, clock, typical, tau)) as [number, number];
      for (let k = 0; k < 2; k++) {
        const picked = bal.pick(null)!;
        const other = picked === members[0] ? c1 : c0;
        const mine = picked === members[0] ? c0 : c1;
        if (mine > other * (1 + 1e-12)) throw new Error(`trial ${trial}: picked cost ${mine} over ${other}`);
      }
    }
  });

  it('draws candidate pairs by weight: pick shares match i by weight, then j by weight among the others', () => {
    for (const weights of [
      [1, 2, 3],
      [5, 1, 1, 2, 7],
      [1, 1, 1, 1, 1, 1],
      Array.from({ length: 16 }, (_, i) => 1 + (i % 5)),
      Array.from({ length: 40 }, (_, i) => [1, 2, 3, 5, 8][i % 5]!),
      Array.from({ length: 40 }, () => 1),
    ]) {
      const members = makeUpstreams(weights);
      const n = members.length;
      // Equal decayed estimates, distinct loads: cost order is fixed and known.
      members.forEach((u, i) => {
        u.ewmaMs = 10;
        u.ewmaAt = 0;
        u.inflight = (i * 7) % n;
      });
      const bal = new EwmaBalancer({ rng: seededRng(n), decayMs: 10_000 });
      bal.update(members);
      const c = members.map((u) => (10 * (u.inflight + 1)) / u.weight);
      const total = weights.reduce((a, b) => a + b, 0);
      const expected = members.map(() => 0);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          const p = (weights[i]! / total) * (weights[j]! / (total - weights[i]!));
          expected[c[j]! < c[i]! ? j : i]! += p;
        }
      }
      const N = 200_000;
      const seen = members.map(() => 0);
      for (let k = 0; k < N; k++) seen[members.indexOf(bal.pick(null)!)]!++;
      for (let i = 0; i < n; i++) {
        const sigma = Math.sqrt((expected[i]! * (1 - expected[i]!)) / N);
        expect(Math.abs(seen[i]! / N - expected[i]!)).toBeLessThan(5 * sigma + 1e-4);
      }
    }
  });
});

describe('ewma: two survivors (why killed-upstream showed ~70/30)', () => {
  /** ~1 ms answers with ±0.3 ms jitter, one request per ms: the killed-upstream scenario's shape. */
  const steady = (rng: () => number) => () => 0.8 + rng() * 0.6;

  it('split evenly after one of three leaves, when their latencies are steady', () => {
    const members = makeUpstreams([1, 1, 1]);
    const [a, b] = members as [Upstream, Upstream, Upstream];
    const bal = make(31);
    bal.update(members);
    const d = new Driver(bal, 0);
    const lat = steady(seededRng(32));
    openLoop(d, members, 5_000, 1, lat, () => true);
    bal.update([a, b]); // c killed: ejected by the pool
    const c = openLoop(d, [a, b], 10_000, 10_000, lat, () => true);
    expect(Math.abs(c[0]! / 10_000 - 0.5)).toBeLessThan(0.06);
  });

  it('one 20 ms outlier takes a ~1 ms upstream out for about τ·ln(20 / (2 × 1.1)) ≈ 22 s, then it comes back', () => {
    const members = makeUpstreams([1, 1]);
    const [a] = members as [Upstream, Upstream];
    const bal = make(33);
    bal.update(members);
    const d = new Driver(bal, 0);
    const jitter = steady(seededRng(34));
    let outlierDue = false;
    const lat = (u: Upstream): number => {
      if (outlierDue && u === a) {
        outlierDue = false;
        return 20;
      }
      return jitter();
    };
    const before = openLoop(d, members, 5_000, 5_000, lat, () => true);
    expect(Math.abs(before[0]! / 5_000 - 0.5)).toBeLessThan(0.06);
    outlierDue = true; // a's next answer takes 20 ms
    // Peak EWMA: the 20 ms sample replaces a's estimate; while it is over twice b's, a loses
    // every comparison (b's `inflight + 1` is at most 2 at this load), and with no traffic it
    // only decays with τ = 10 s. A 3 s window in that span reads as 0/100, later ones ~40/60.
    const out = openLoop(d, members, 20_000, 20_000, lat, () => true);
    expect(out[0]! / 20_000).toBeLessThan(0.02);
    openLoop(d, members, 30_000, 1, lat, () => true);
    const back = openLoop(d, members, 20_000, 20_000, lat, () => true);
    expect(Math.abs(back[0]! / 20_000 - 0.5)).toBeLessThan(0.06);
  });
});

describe('ewma: pick() draws its candidates exactly as TwoChoices.draw() does (its hand-inlined copy)', () => {
  for (const weights of [[1, 1], [1, 3], [1, 1, 1], [5, 1, 1, 2, 7], Array.from({ length: 40 }, () => 1), Array.from({ length: 40 }, (_, i) => 1 + (i % 5))]) {
    it(`same candidates, same winner, pick after pick [${weights.length} members, ${new Set(weights).size > 1 ? 'mixed' : 'equal'}]`, () => {
      const members = makeUpstreams(weights);
      // Equal estimates, distinct loads: the winner of any pair is known.
      members.forEach((u, i) => {
        u.ewmaMs = 10;
        u.ewmaAt = 0;
        u.inflight = (i * 7) % 11;
      });
      const bal = new EwmaBalancer({ rng: seededRng(77), decayMs: 10_000 });
      bal.update(members);
      const rng = new FastRng(seededRng(77));
      const sampler = new WeightedSampler(rng);
      const w = new Float64Array(weights);
      sampler.reset(w, w.length);
      const choices = new TwoChoices(rng, sampler);
      choices.reset(w, w.length);
      const cost = (u: Upstream) => (u.inflight + 1) / u.weight;
      for (let k = 0; k < 5_000; k++) {
        choices.draw();
        const a = members[choices.pair[0]!]!;
        const b = members[choices.pair[1]!]!;
        expect(bal.pick(null)).toBe(cost(b) < cost(a) ? b : a);
      }
    });
  }
});
