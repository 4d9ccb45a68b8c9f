// The shared suite every balancer must pass (hono's common.case.test.ts pattern). It checks
// the Balancer contract only; each <name>.test.ts adds the algorithm's own asserts.

import { describe, expect, it } from 'vitest';
import { Upstream, UpstreamFlag } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';
import { NO_KEY, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';

export type MakeBalancer = (opts: BalancerOptions) => Balancer;

/** How runConformance drives a balancer beyond the contract's defaults. */
export interface ConformanceOptions {
  /** The key of the i-th pick (default: every pick NO_KEY). */
  keyOf?: (i: number) => number;
  /** Suffix for the describe() title, to tell two runs of one balancer apart. */
  label?: string;
}

/** Balancers that shape traffic by load or latency: exact weight shares are not expected. */
const SHAPES_BY_LOAD: readonly BalancerName[] = ['least-connections', 'ewma'];

/** Upstreams with the given weights, named a, b, c… after their index. */
export function makeUpstreams(weights: readonly number[], port = 3001): Upstream[] {
  const out: Upstream[] = [];
  for (let i = 0; i < weights.length; i++) out.push(new Upstream(`http://127.0.0.1:${port + i}`, weights[i]!));
  return out;
}

/** What the pool hands to update(): up, not ejected, weight > 0. */
export function selectable(all: readonly Upstream[]): Upstream[] {
  return all.filter((u) => u.flags === 0 && u.weight > 0);
}

/**
 * Drives a balancer the way the pool does: inflight++ before onStart, inflight-- before
 * onFinish, with an explicit clock.
 */
export class Driver {
  readonly balancer: Balancer;
  nowMs: number;
  private readonly keyOf: (i: number) => number;
  private picks: number;
  constructor(balancer: Balancer, nowMs = 1_000, keyOf: (i: number) => number = () => NO_KEY) {
    this.balancer = balancer;
    this.nowMs = nowMs;
    this.keyOf = keyOf;
    this.picks = 0;
  }
  /** balancer.pick with the next key. */
  pick(tried: readonly Upstream[] | null = null): Upstream | undefined {
    return this.balancer.pick(tried, this.keyOf(this.picks++));
  }
  start(u: Upstream): void {
    u.inflight++;
    this.balancer.onStart(u, this.nowMs);
  }
  finish(u: Upstream, latencyMs: number, ok = true): void {
    u.inflight--;
    this.balancer.onFinish(u, this.nowMs, latencyMs, ok);
  }
  /** pick + start + finish at once (no concurrency); returns the pick. */
  oneShot(latencyMs = 5, tried: readonly Upstream[] | null = null): Upstream {
    const u = this.pick(tried);
    if (u === undefined) throw new Error('pick returned undefined');
    this.start(u);
    this.nowMs += latencyMs;
    this.finish(u, latencyMs);
    return u;
  }
}

/**
 * Open-loop traffic with the driver's injected clock: a request every `gapMs`, the r-th held for
 * `latency(u, r)` ms and then finished with `ok(u, n)` (n: that member's n-th finish), in time
 * order. Returns picks per member over the last `measured` requests. Ends with nothing in
 * flight.
 */
export function openLoop(
  d: Driver,
  members: readonly Upstream[],
  requests: number,
  measured: number,
  latency: (u: Upstream, r: number) => number,
  ok: (u: Upstream, n: number) => boolean,
  gapMs = 1,
): number[] {
  const counts = members.map(() => 0);
  const finishes = members.map(() => 0);
  const held: { u: Upstream; end: number; at: number }[] = [];
  const finishDue = (until: number): void => {
    held.sort((x, y) => x.end - y.end);
    const now = d.nowMs;
    while (held.length > 0 && held[0]!.end <= until) {
      const h = held.shift()!;
      d.nowMs = h.end;
      d.finish(h.u, h.end - h.at, ok(h.u, finishes[members.indexOf(h.u)]!++));
    }
    d.nowMs = now;
  };
  for (let r = 0; r < requests; r++) {
    finishDue(d.nowMs);
    const u = d.pick(null)!;
    if (r >= requests - measured) counts[members.indexOf(u)]!++;
    d.start(u);
    held.push({ u, end: d.nowMs + latency(u, r), at: d.nowMs });
    d.nowMs += gapMs;
  }
  finishDue(Infinity);
  return counts;
}

function opts(seed: number): BalancerOptions {
  return { rng: seededRng(seed), decayMs: 10_000 };
}

function counts(picks: readonly Upstream[]): Map<Upstream, number> {
  const m = new Map<Upstream, number>();
  for (const u of picks) m.set(u, (m.get(u) ?? 0) + 1);
  return m;
}

/** Runs the Balancer contract against `makeBalancer` inside a vitest `describe`. */
export function runConformance(name: BalancerName, makeBalancer: MakeBalancer, options: ConformanceOptions = {}): void {
  const shapesByLoad = SHAPES_BY_LOAD.includes(name);
  const keyOf = options.keyOf;
  /** A driver for `b` with the run's keys. */
  const drive = (b: Balancer): Driver => new Driver(b, 1_000, keyOf);

  describe(`${name}${options.label === undefined ? '' : ` (${options.label})`}: Balancer conformance`, () => {
    it('has the name it is registered under', () => {
      expect(makeBalancer(opts(1)).name).toBe(name);
    });

    it('returns undefined with no members, before and after update()', () => {
      const b = makeBalancer(opts(1));
      const d = drive(b);
      expect(d.pick(null)).toBeUndefined();
      b.update([]);
      expect(d.pick(null)).toBeUndefined();
      expect(d.pick([])).toBeUndefined();
      b.update(makeUpstreams([1, 2]));
      b.update([]);
      expect(d.pick(null)).toBeUndefined();
    });

    it('always returns the only member, even when it was tried', () => {
      const b = makeBalancer(opts(2));
      const [a] = makeUpstreams([3]);
      b.update([a!]);
      const d = drive(b);
      expect(d.pick(null)).toBe(a);
      expect(d.pick([a!])).toBe(a);
    });

    for (const size of [3, 40, 300]) {
      it(`never picks what the pool filtered out (down, ejected, weight 0) [${size} members]`, () => {
        const weights: number[] = [];
        for (let i = 0; i < size; i++) weights.push(1 + (i % 4));
        const all = makeUpstreams(weights);
        const down = new Upstream('http://127.0.0.1:4001', 5);
        down.flags = UpstreamFlag.DownActive;
        const ejected = new Upstream('http://127.0.0.1:4002', 5);
        ejected.flags = UpstreamFlag.Ejected;
        const drained = new Upstream('http://127.0.0.1:4003', 0);
        const outsider = new Upstream('http://127.0.0.1:4004', 5);
        all.splice(1, 0, down, ejected, drained);
        const members = selectable(all);
        expect(members).toHaveLength(size);
        const b = makeBalancer(opts(3));
        // As the pool does: the selectable members, and every configured upstream.
        b.update(members, all);
        const d = drive(b);
        const allowed = new Set(members);
        for (let i = 0; i < 3_000; i++) {
          const u = d.oneShot(1 + (i % 7));
          if (!allowed.has(u)) throw new Error(`picked a non-member: ${u.origin}`);
        }
        expect(allowed.has(down) || allowed.has(ejected) || allowed.has(drained) || allowed.has(outsider)).toBe(false);
      });
    }

    it('honours tried while an untried member exists (every subset of 4)', () => {
      const members = makeUpstreams([1, 2, 3, 4]);
      const b = makeBalancer(opts(4));
      b.update(members);
      const d = drive(b);
      for (let mask = 1; mask < 15; mask++) {
        const tried = members.filter((_, i) => mask & (1 << i));
        for (let k = 0; k < 100; k++) {
          const u = d.pick(tried);
          expect(u).toBeDefined();
          if (tried.includes(u!)) throw new Error(`picked tried ${u!.origin} (mask ${mask})`);
          d.start(u!);
          d.finish(u!, 3);
        }
      }
    });

    it('returns some member when every member was tried', () => {
      const members = makeUpstreams([1, 2, 3]);
      const b = makeBalancer(opts(5));
      b.update(members);
      const d = drive(b);
      for (let k = 0; k < 50; k++) expect(members).toContain(d.pick(members));
    });

    it('ignores tried entries that are not members', () => {
      const members = makeUpstreams([1, 1]);
      const strangers = makeUpstreams([1, 1], 5001);
      const b = makeBalancer(opts(6));
      b.update(members);
      const d = drive(b);
      for (let k = 0; k < 50; k++) expect(members).toContain(d.pick(strangers));
      expect(d.pick([members[0]!, ...strangers])).toBe(members[1]);
    });

    it('finds the one untried member of a large pool even when tried ones hold most weight', () => {
      const weights: number[] = [];
      for (let i = 0; i < 300; i++) weights.push(i === 299 ? 1 : 1_000);
      const members = makeUpstreams(weights);
      const b = makeBalancer(opts(7));
      b.update(members);
      const d = drive(b);
      const allButLast = members.slice(0, 299);
      for (let k = 0; k < 20; k++) expect(d.pick(allButLast)).toBe(members[299]);
      // Three heavy tried members (a retry's worth) are avoided too.
      const heavy = members.slice(0, 3);
      for (let k = 0; k < 500; k++) expect(heavy).not.toContain(d.pick(heavy));
    });

    if (!shapesByLoad) {
      it('respects weights within 1.5 % over 40 000 seeded picks', () => {
        const members = makeUpstreams([1, 2, 3, 4]);
        const b = makeBalancer(opts(8));
        b.update(members);
        const d = drive(b);
        const picks: Upstream[] = [];
        const N = 40_000;
        for (let i = 0; i < N; i++) picks.push(d.oneShot());
        const c = counts(picks);
        for (let i = 0; i < 4; i++) expect(Math.abs((c.get(members[i]!) ?? 0) / N - (i + 1) / 10)).toBeLessThan(0.015);
      });

      it('respects weights in a large mixed pool (per weight class)', () => {
        const weights: number[] = [];
        for (let i = 0; i < 1_000; i++) weights.push(i % 2 === 0 ? 1 : 3);
        const members = makeUpstreams(weights);
        const b = makeBalancer(opts(9));
        b.update(members);
        const d = drive(b);
        let heavy = 0;
        const N = 40_000;
        for (let i = 0; i < N; i++) if (d.oneShot().weight === 3) heavy++;
        expect(Math.abs(heavy / N - 0.75)).toBeLessThan(0.015);
      });
    } else {
      it('gives every member some traffic under sequential load (weights shape, not exclude)', () => {
        const members = makeUpstreams([1, 2, 3, 4]);
        const b = makeBalancer(opts(8));
        b.update(members);
        const d = drive(b);
        const held: Upstream[] = [];
        const seen = new Set<Upstream>();
        // Keep a few requests in flight so load, not only weight, decides.
        for (let i = 0; i < 4_000; i++) {
          const u = d.pick(null)!;
          seen.add(u);
          d.start(u);
          held.push(u);
          if (held.length > 6) d.finish(held.shift()!, 5);
          d.nowMs += 1;
        }
        for (const u of held) d.finish(u, 5);
        expect(seen.size).toBe(4);
      });
    }

    it('is safe to update() in the middle of traffic', () => {
      const [a, b, c, e] = makeUpstreams([2, 1, 1, 3]) as [Upstream, Upstream, Upstream, Upstream];
      const bal = makeBalancer(opts(10));
      bal.update([a, b, c]);
      const d = drive(bal);
      const held: Upstream[] = [];
      for (let i = 0; i < 30; i++) {
        const u = d.pick(null)!;
        d.start(u);
        held.push(u);
      }
      expect(held).toContain(a);
      // `a` leaves (down, or removed by a reload) and `e` joins while attempts are in flight.
      bal.update([b, c, e]);
      for (const u of held) expect(() => d.finish(u, 4, u !== c)).not.toThrow();
      const allowed = new Set([b, c, e]);
      for (let i = 0; i < 2_000; i++) {
        const u = d.oneShot(2);
        if (!allowed.has(u)) throw new Error(`picked removed member ${u.origin}`);
      }
      // A weight change arrives as an update with the same members.
      e.weight = 10;
      bal.update([b, c, e]);
      for (let i = 0; i < 500; i++) expect(allowed.has(d.oneShot(2))).toBe(true);
      expect(a.inflight + b.inflight + c.inflight + e.inflight).toBe(0);
    });

    it('pairs every pick with onStart/onFinish under concurrency, ending with inflight 0', () => {
      const members = makeUpstreams([1, 3, 2, 1, 5, 1]);
      const bal = makeBalancer(opts(11));
      bal.update(members);
      const d = drive(bal);
      const rng = seededRng(99);
      const held: Upstream[] = [];
      for (let i = 0; i < 5_000; i++) {
        d.nowMs += rng() * 3;
        if (held.length === 0 || (held.length < 40 && rng() < 0.55)) {
          const tried = rng() < 0.1 ? [members[(rng() * members.length) | 0]!] : null;
          const u = d.pick(tried);
          expect(u).toBeDefined();
          d.start(u!);
          held.push(u!);
        } else {
          const k = (rng() * held.length) | 0;
          const u = held[k]!;
          held[k] = held[held.length - 1]!;
          held.pop();
          d.finish(u, 1 + rng() * 50, rng() < 0.95);
        }
      }
      for (const u of held) d.finish(u, 10);
      for (const u of members) expect(u.inflight).toBe(0);
    });

    it('is deterministic for a given rng seed', () => {
      const run = (): string[] => {
        const members = makeUpstreams([5, 1, 1, 2, 7]);
        const bal = makeBalancer(opts(12));
        bal.update(members);
        const d = drive(bal);
        const out: string[] = [];
        for (let i = 0; i < 200; i++) out.push(d.oneShot(1 + (i % 5)).origin);
        return out;
      };
      expect(run()).toEqual(run());
    });
  });
}
