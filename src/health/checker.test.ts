// The checker's state transitions (record) and status matching, without network or timers.
// Probing itself is covered by test/health-active.test.ts against real servers.
import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer/index.ts';
import type { HealthCheckConfig, PoolConfig } from '../config/types.ts';
import { testPoolConfig } from '../config/fixtures.testing.ts';
import { recordingLogger } from '../observability/log.testing.ts';
import { Pool } from '../pool/pool.ts';
import { Upstream, UpstreamFlag, type HealthCheckResult } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';
import { HealthChecker, isExpectedStatus } from './checker.ts';
import { EventLog } from '../observability/events.ts';
import { HealthState } from './state.ts';

const HC: HealthCheckConfig = {
  path: '/health',
  intervalMs: 1000,
  timeoutMs: 500,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  expectStatus: [[200, 399]],
  initialState: 'up',
};

function poolConfig(n: number): PoolConfig {
  const origins = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${4001 + i}`);
  return { ...testPoolConfig('api', origins, { passive: { consecutiveFailures: 3 }, maxConnectionsPerUpstream: 16 }), healthCheck: HC };
}


function setup(n = 3, cfg: HealthCheckConfig = HC) {
  const pc = poolConfig(n);
  const upstreams = pc.upstreams.map((uc) => new Upstream(uc.origin, uc.weight));
  const t = { now: 1000 };
  const clock = () => t.now;
  const pool = new Pool(pc, upstreams, createBalancer('round-robin', { rng: seededRng(1), decayMs: 10_000 }), clock);
  const { log, lines } = recordingLogger();
  const health = new HealthState({ log, clock, events: new EventLog(), currentPool: () => pool, currentPools: () => [pool] });
  const checker = new HealthChecker(pool, cfg, health, log, clock);
  return { pool, upstreams, checker, health, lines, t };
}

const pass: HealthCheckResult = { ok: true, at: 0, status: 200, error: null, latencyMs: 1 };
const fail500: HealthCheckResult = { ok: false, at: 0, status: 500, error: null, latencyMs: 1 };
const failTimeout: HealthCheckResult = { ok: false, at: 0, status: null, error: 'upstream-timeout after 500ms', latencyMs: 500 };

describe('isExpectedStatus', () => {
  it('matches inclusive ranges and lists', () => {
    expect(isExpectedStatus([[200, 399]], 200)).toBe(true);
    expect(isExpectedStatus([[200, 399]], 399)).toBe(true);
    expect(isExpectedStatus([[200, 399]], 400)).toBe(false);
    expect(isExpectedStatus([[200, 399]], 199)).toBe(false);
    expect(isExpectedStatus([[204, 204]], 200)).toBe(false);
    expect(isExpectedStatus([[200, 200], [204, 204]], 204)).toBe(true);
    expect(isExpectedStatus([], 200)).toBe(false);
  });
});

describe('HealthChecker', () => {
  it('hands results to the health state, which a new checker (reload) carries on from', () => {
    const { pool, upstreams, checker, health, lines } = setup();
    const u = upstreams[0]!;
    checker.record(u, fail500);
    checker.record(u, fail500);
    checker.stop();
    const next = new HealthChecker(pool, HC, health, recordingLogger().log, () => 0);
    next.record(u, fail500);
    expect(u.state).toBe('down');
    expect(u.checkStreak).toBe(-3);
    expect(lines.map((l) => l.msg)).toEqual(['upstream down']);
  });


  it('a stopped checker does not probe', async () => {
    const { upstreams, checker } = setup();
    checker.stop();
    await checker.checkNow();
    for (const u of upstreams) expect(u.lastCheck).toBeNull();
  });
});
