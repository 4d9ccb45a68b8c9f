// The checker's state transitions (record) and status matching, without network or timers.
// Probing itself is covered by test/health-active.test.ts against real servers.
import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer/index.ts';
import type { HealthCheckConfig, PoolConfig } from '../config/types.ts';
import { testPoolConfig } from '../config/fixtures.testing.ts';
import type { Logger } from '../observability/log.ts';
import { Pool } from '../pool/pool.ts';
import { Upstream, UpstreamFlag, type HealthCheckResult } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';
import { HealthChecker, isExpectedStatus } from './checker.ts';
import { Outcome } from '../core/outcome.ts';
import { observeOutcome } from './passive.ts';

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

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  const log = { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

function setup(n = 3, cfg: HealthCheckConfig = HC) {
  const pc = poolConfig(n);
  const upstreams = pc.upstreams.map((uc) => new Upstream(uc.origin, uc.weight));
  const t = { now: 1000 };
  const clock = () => t.now;
  const pool = new Pool(pc, upstreams, createBalancer('round-robin', { rng: seededRng(1), decayMs: 10_000 }), clock);
  const { log, lines } = recordingLogger();
  const checker = new HealthChecker(pool, cfg, log, clock);
  return { pool, upstreams, checker, lines, t };
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

describe('HealthChecker.record', () => {
  it('marks an upstream down after unhealthyThreshold failures and takes it out of the pool', () => {
    const { pool, upstreams, checker, lines } = setup();
    const u = upstreams[0]!;
    checker.record(u, fail500);
    checker.record(u, fail500);
    expect(u.state).toBe('up');
    expect(pool.members).toContain(u);
    checker.record(u, fail500);
    expect(u.state).toBe('down');
    expect(u.flags & UpstreamFlag.DownActive).toBeTruthy();
    expect(u.reason).toBe('health check failed 3 times: status 500');
    expect(u.lastCheck).toBe(fail500);
    expect(pool.members).not.toContain(u);
    expect(lines).toEqual([
      {
        level: 'warn',
        obj: { pool: 'api', upstream: u.origin, from: 'up', to: 'down', reason: 'health check failed 3 times: status 500' },
        msg: 'upstream down',
      },
    ]);
    // More failures: no new flip, no new log line; the reason stays current.
    checker.record(u, failTimeout);
    expect(lines).toHaveLength(1);
    expect(u.reason).toBe('health check failed 4 times: upstream-timeout after 500ms');
  });

  it('brings it back after healthyThreshold successes', () => {
    const { pool, upstreams, checker, lines } = setup();
    const u = upstreams[1]!;
    for (let i = 0; i < 3; i++) checker.record(u, failTimeout);
    expect(u.state).toBe('down');
    checker.record(u, pass);
    expect(u.state).toBe('down');
    expect(u.reason).toBe('down: health check passed 1 of 2 times needed');
    checker.record(u, pass);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
    expect(lines.at(-1)).toEqual({
      level: 'info',
      obj: { pool: 'api', upstream: u.origin, from: 'down', to: 'up', reason: 'health check passed 2 times' },
      msg: 'upstream up',
    });
  });

  it('does not flip on alternating results', () => {
    const { upstreams, checker, lines } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 10; i++) {
      checker.record(u, fail500);
      checker.record(u, fail500);
      checker.record(u, pass);
    }
    expect(u.state).toBe('up');
    expect(lines).toEqual([]);
  });

  it('brings an initialState: down upstream up after healthyThreshold successes', () => {
    const { pool, upstreams, checker } = setup(2, { ...HC, initialState: 'down' });
    const u = upstreams[0]!;
    // What the registry does for initialState: down.
    u.flags |= UpstreamFlag.DownActive;
    u.reason = 'down: waiting for the first health check';
    pool.rebuild();
    expect(pool.members).not.toContain(u);
    checker.record(u, pass);
    expect(u.state).toBe('down');
    checker.record(u, pass);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
  });

  it('ends a connect-failure ejection at the first passing check', () => {
    const { pool, upstreams, checker, lines, t } = setup();
    const u = upstreams[2]!;
    observeOutcome(pool, u, Outcome.ConnectFailure, t.now, 'connect-refused', null);
    expect(u.state).toBe('ejected');
    expect(u.ejectedByConnect).toBe(true);
    checker.record(u, pass);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
    expect(lines.at(-1)?.msg).toBe('upstream readmitted');
  });

  it('lets a failure ejection run its time while checks pass, but ends it on a down → up flip', () => {
    const { pool, upstreams, checker, t } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 3; i++) observeOutcome(pool, u, Outcome.Failure, t.now, 'upstream-status', null);
    expect(u.state).toBe('ejected');
    checker.record(u, pass);
    checker.record(u, pass);
    expect(u.state).toBe('ejected');
    // Now the heartbeat says down, then up again: the flip to up ends the ejection.
    for (let i = 0; i < 3; i++) checker.record(u, fail500);
    expect(u.state).toBe('down');
    expect(u.flags & UpstreamFlag.Ejected).toBeTruthy();
    checker.record(u, pass);
    checker.record(u, pass);
    expect(u.flags).toBe(0);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
  });

  it('keeps the machine on the Upstream, so a new checker (reload) carries on from it', () => {
    const { pool, upstreams, checker, lines } = setup();
    const u = upstreams[0]!;
    checker.record(u, fail500);
    checker.record(u, fail500);
    checker.stop();
    const { log } = recordingLogger();
    const next = new HealthChecker(pool, HC, log, () => 0);
    next.record(u, fail500);
    expect(u.state).toBe('down');
    expect(u.checkStreak).toBe(-3);
    expect(lines).toEqual([]);
  });
});

describe('HealthChecker lifecycle', () => {
  it('a stopped checker does not probe', async () => {
    const { upstreams, checker } = setup();
    checker.stop();
    await checker.checkNow();
    for (const u of upstreams) expect(u.lastCheck).toBeNull();
  });
});
