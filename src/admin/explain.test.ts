// Share of traffic, recent figures, per-second series and balancer figures in /status, on an
// injected clock.

import { describe, expect, it } from 'vitest';
import { UpstreamFlag } from '../pool/upstream.ts';
import { RATE_SECONDS, SERIES_SECONDS, SHARE_SECONDS, balancingFigures, poolTraffic } from './explain.ts';
import { makePool, settleTry } from './fixtures.testing.ts';
import { buildStatus } from './status.ts';

const ORIGINS = ['http://127.0.0.1:4001', 'http://127.0.0.1:4002', 'http://127.0.0.1:4003'];

describe('poolTraffic', () => {
  it('shares over the last 60 s sum to 1 and follow the tries each upstream got', () => {
    const now = { t: 100_000 };
    const pool = makePool('web', ORIGINS, () => now.t);
    const [a, b, c] = pool.upstreams;
    for (let i = 0; i < 30; i++) settleTry(pool, a!, 200, 2, now.t);
    for (let i = 0; i < 10; i++) settleTry(pool, b!, 200, 2, now.t);
    const t = poolTraffic(pool.upstreams, now.t);
    expect(t.upstreams.get(a!)!.share).toBe(0.75);
    expect(t.upstreams.get(b!)!.share).toBe(0.25);
    expect(t.upstreams.get(c!)!.share).toBe(0);
    expect(t.pool.requests).toBe(40);
  });

  it('forgets tries older than the window, and a pool without traffic has no share', () => {
    // Mid-second, so a try started `latency` ms earlier is in the same second.
    const now = { t: 100_500 };
    const pool = makePool('web', ORIGINS, () => now.t);
    const [a, b] = pool.upstreams;
    for (let i = 0; i < 5; i++) settleTry(pool, a!, 200, 2, now.t);
    now.t += (SHARE_SECONDS - 1) * 1000;
    settleTry(pool, b!, 200, 2, now.t);
    // a's tries are now 59 s old: still in.
    expect(poolTraffic(pool.upstreams, now.t).upstreams.get(a!)!.share).toBeCloseTo(5 / 6, 4);
    now.t += 1000;
    expect(poolTraffic(pool.upstreams, now.t).upstreams.get(a!)!.share).toBe(0);
    expect(poolTraffic(pool.upstreams, now.t).upstreams.get(b!)!.share).toBe(1);
    now.t += SHARE_SECONDS * 1000;
    const idle = poolTraffic(pool.upstreams, now.t);
    expect(idle.upstreams.get(a!)!.share).toBeNull();
    expect(idle.pool.requests).toBe(0);
    expect(idle.pool.errorShare).toBeNull();
    expect(idle.pool.p99Ms).toBeNull();
  });

  it('req/s over the last complete seconds, error share and recent percentiles', () => {
    const now = { t: 200_000 };
    const pool = makePool('web', ORIGINS, () => now.t);
    const [a] = pool.upstreams;
    // 20 tries in each of the RATE_SECONDS seconds before the current one; 1 in 10 fails.
    for (let s = RATE_SECONDS; s >= 1; s--) {
      for (let i = 0; i < 20; i++) settleTry(pool, a!, i % 10 === 0 ? 503 : 200, i === 0 ? 900 : 3, now.t - s * 1000 + 500);
    }
    // Tries in the current second count in the window but not in the rate.
    settleTry(pool, a!, 200, 3, now.t);
    const r = poolTraffic(pool.upstreams, now.t).upstreams.get(a!)!.recent;
    const n = RATE_SECONDS * 20;
    expect(r.requestsPerSecond).toBe(20);
    expect(r.requests).toBe(n + 1);
    expect(r.failures).toBe(n / 10);
    expect(r.errorShare).toBeCloseTo(n / 10 / (n + 1), 3);
    // 3 ms tries: [2.048, 4.096) ms; 1 in 20 took 900 ms, so p99 is slow and p50 is not.
    expect(r.p50Ms!).toBeGreaterThanOrEqual(2.048);
    expect(r.p50Ms!).toBeLessThan(4.096);
    expect(r.p99Ms!).toBeGreaterThan(500);
  });

  it('series: the last 60 complete seconds, oldest first, each second in its place', () => {
    const now = { t: 300_500 };
    const pool = makePool('web', ORIGINS, () => now.t);
    const [a] = pool.upstreams;
    settleTry(pool, a!, 200, 5, now.t - 1000); // last complete second
    settleTry(pool, a!, 200, 5, now.t - 1000);
    settleTry(pool, a!, 502, 40, now.t - 30_000);
    settleTry(pool, a!, 200, 5, now.t); // current second: not in the series
    const s = poolTraffic(pool.upstreams, now.t).upstreams.get(a!)!.series;
    expect(s.endSecond).toBe(299);
    expect(s.requests).toHaveLength(SERIES_SECONDS);
    expect(s.requests[SERIES_SECONDS - 1]).toBe(2);
    expect(s.requests[SERIES_SECONDS - 30]).toBe(1);
    expect(s.failures[SERIES_SECONDS - 30]).toBe(1);
    expect(s.requests.reduce((x, y) => x + y, 0)).toBe(3);
    expect(s.p99Ms[SERIES_SECONDS - 30]!).toBeGreaterThan(32);
    expect(s.p99Ms[0]).toBeNull();
  });
});

describe('balancingFigures', () => {
  it('round-robin and random: weight and the share it asks for among selectable upstreams', () => {
    const pool = makePool('web', ORIGINS, () => 0);
    pool.upstreams[0]!.weight = 2;
    pool.rebuild();
    expect(balancingFigures(pool, pool.upstreams[0]!, null)).toEqual({ weight: 2, weightShare: 0.5 });
    pool.upstreams[1]!.flags |= UpstreamFlag.DownActive;
    pool.rebuild();
    expect(balancingFigures(pool, pool.upstreams[1]!, null)).toEqual({ weight: 1, weightShare: 0 });
    expect(balancingFigures(pool, pool.upstreams[0]!, null).weightShare).toBeCloseTo(2 / 3, 4);
  });

  it('least-connections: in-flight per unit of weight', () => {
    const pool = makePool('web', ORIGINS, () => 0, 'least-connections');
    const u = pool.upstreams[0]!;
    u.weight = 2;
    pool.start(u, 0, false);
    pool.start(u, 0, false);
    pool.start(u, 0, false);
    expect(balancingFigures(pool, u, null)).toMatchObject({ weight: 2, inflight: 3, load: 1.5 });
    pool.finish(u, 1, 1, true);
    pool.finish(u, 1, 1, true);
    pool.finish(u, 1, 1, true);
  });

  it('ewma: the decayed estimate and the cost the balancer compares', () => {
    const pool = makePool('web', ORIGINS, () => 0, 'ewma');
    const u = pool.upstreams[0]!;
    pool.start(u, 0, false);
    expect(balancingFigures(pool, u, 12)).toMatchObject({ inflight: 1, ewmaMs: 12, costMs: 24 });
    expect(balancingFigures(pool, u, null)).toMatchObject({ ewmaMs: null, costMs: null });
    pool.finish(u, 1, 1, true);
  });

  it('consistent-hash: the key share when the balancer can tell it, null otherwise', () => {
    const pool = makePool('web', ORIGINS, () => 0);
    const u = pool.upstreams[1]!;
    const asHashPool = (balancer: object): typeof pool =>
      ({ members: pool.members, config: { ...pool.config, balancer: 'consistent-hash' }, balancer }) as unknown as typeof pool;
    const withShare = asHashPool({ keyShare: (x: unknown) => (x === u ? 0.31234 : 0) });
    expect(balancingFigures(withShare, u, null)).toEqual({ weight: 1, weightShare: 0.3333, inflight: 0, keyShare: 0.3123 });
    expect(balancingFigures(asHashPool({}), u, null).keyShare).toBeNull();
  });
});

describe('/status carries them', () => {
  it('every upstream has share, balancing, recent and series; every pool its recent totals', () => {
    const now = { t: 400_000 };
    const pool = makePool('web', ORIGINS, () => now.t, 'ewma');
    for (const u of pool.upstreams) settleTry(pool, u, 200, 4, now.t);
    const s = buildStatus({ clock: () => now.t, draining: false, startedAt: Date.now(), current: { config: { source: null }, pools: new Map([['web', pool]]) } });
    const p = s.pools[0]!;
    expect(p.recent.requests).toBe(3);
    const shares = p.upstreams.map((u) => u.share!);
    expect(shares.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 3);
    for (const u of p.upstreams) {
      expect(u.balancing.costMs).toBeGreaterThan(0);
      expect(u.recent.requests).toBe(1);
      expect(u.series?.requests).toHaveLength(SERIES_SECONDS);
    }
  });
});
