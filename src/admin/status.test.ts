// /status document: shape, states and reasons, decayed EWMA, remaining ejection time, latency
// percentiles, and that no secret (token, userinfo) can appear in it.

import { describe, expect, it } from 'vitest';
import { UpstreamFlag } from '../pool/upstream.ts';
import { makePool, settleTry } from './fixtures.testing.ts';
import { displayOrigin } from '../util/origin.ts';
import { packageVersion } from '../version.ts';
import { buildStatus, decayedEwmaMs, type StatusSource } from './status.ts';

function source(now: { t: number }): { src: StatusSource; pool: ReturnType<typeof makePool> } {
  const clock = (): number => now.t;
  const pool = makePool('api', ['http://127.0.0.1:4001', 'http://127.0.0.1:4002'], clock, 'ewma');
  const src: StatusSource = {
    clock,
    draining: false,
    startedAt: Date.now() - 5000,
    current: { config: { source: '/etc/fairway.yaml' }, pools: new Map([['api', pool]]) },
  };
  return { src, pool };
}

describe('buildStatus', () => {
  it('lists every pool and upstream with counters, classes and percentiles', () => {
    const now = { t: 50_000 };
    const { src, pool } = source(now);
    const [a] = pool.upstreams;
    for (let i = 1; i <= 100; i++) settleTry(pool, a!, 200, i, now.t);
    settleTry(pool, a!, 0, 5, now.t);
    pool.counters.requests = 101;
    const s = buildStatus(src);
    expect(s.version).toBe(packageVersion());
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(5);
    expect(s.draining).toBe(false);
    expect(s.config).toEqual({ source: '/etc/fairway.yaml' });
    expect(s.pools).toHaveLength(1);
    const p = s.pools[0]!;
    expect(p).toMatchObject({ name: 'api', balancer: 'ewma', requests: 101, retries: 0, budgetExhausted: 0, noUpstream: 0, selectable: 2 });
    expect(p.retryBudgetAvailable).toBeGreaterThan(0);
    const u = p.upstreams[0]!;
    expect(u).toMatchObject({
      origin: 'http://127.0.0.1:4001',
      state: 'up',
      reason: null,
      weight: 1,
      inflight: 0,
      requests: 101,
      failures: 1,
      responses: { '1xx': 0, '2xx': 100, '3xx': 0, '4xx': 0, '5xx': 0, error: 1 },
      ejectedForMs: null,
      lastCheck: null,
    });
    expect(u.latency!.count).toBe(101);
    expect(u.latency!.p50Ms!).toBeGreaterThan(45);
    expect(u.latency!.p50Ms!).toBeLessThan(55);
    expect(u.latency!.p99Ms!).toBeGreaterThan(95);
    expect(u.ewmaMs).toBeGreaterThan(0);
    expect(p.upstreams[1]!.ewmaMs).toBeNull();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('shows why an upstream is out, and how long an ejection has left', () => {
    const now = { t: 10_000 };
    const { src, pool } = source(now);
    const [a, b] = pool.upstreams;
    a!.flags |= UpstreamFlag.Ejected;
    a!.ejectedUntil = 40_000;
    a!.reason = 'ejected: connect failed (connect-refused)';
    b!.flags |= UpstreamFlag.DownActive;
    b!.reason = 'down: 3 failed health checks (last: 500)';
    b!.lastCheck = { ok: false, at: Date.UTC(2030, 0, 1), status: 500, error: null, latencyMs: 1.23456 };
    pool.rebuild();
    const s = buildStatus(src).pools[0]!;
    expect(s.selectable).toBe(0);
    expect(s.upstreams[0]).toMatchObject({ state: 'ejected', reason: 'ejected: connect failed (connect-refused)', ejectedForMs: 30_000 });
    expect(s.upstreams[1]).toMatchObject({
      state: 'down',
      reason: 'down: 3 failed health checks (last: 500)',
      ejectedForMs: null,
      lastCheck: { ok: false, at: '2030-01-01T00:00:00.000Z', status: 500, error: null, latencyMs: 1.235 },
    });
    now.t = 45_000;
    expect(buildStatus(src).pools[0]!.upstreams[0]!.ejectedForMs).toBe(0);
  });

  it('decays the EWMA estimate to now with the pool time constant', () => {
    const { pool } = source({ t: 0 });
    const u = pool.upstreams[0]!;
    expect(decayedEwmaMs(u, pool, 0)).toBeNull();
    u.ewmaMs = 100;
    u.ewmaAt = 1000;
    expect(decayedEwmaMs(u, pool, 1000)).toBe(100);
    expect(decayedEwmaMs(u, pool, 11_000)).toBeCloseTo(100 / Math.E, 9);
  });

  it('never shows credentials from an origin', () => {
    expect(displayOrigin('http://user:pw@10.0.0.1:80')).toBe('http://10.0.0.1:80');
    expect(displayOrigin('https://10.0.0.1:443')).toBe('https://10.0.0.1:443');
    const { src, pool } = source({ t: 0 });
    Object.defineProperty(pool.upstreams[0]!, 'origin', { value: 'http://admin:hunter2@10.0.0.1:80' });
    expect(JSON.stringify(buildStatus(src))).not.toContain('hunter2');
  });
});
