// The one writer of upstream health state: active check flips, passive ejections, readmission
// (with an injected clock and timers), the events it records and the pools it rebuilds. No
// network, no real timers.
import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer/index.ts';
import { testPoolConfig } from '../config/fixtures.testing.ts';
import type { HealthCheckConfig, PoolConfig } from '../config/types.ts';
import { Outcome } from '../core/outcome.ts';
import { EventLog } from '../observability/events.ts';
import { recordingLogger } from '../observability/log.testing.ts';
import { Pool } from '../pool/pool.ts';
import { Upstream, UpstreamFlag, type HealthCheckResult } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';
import { HealthState, type HealthShare, type Timers } from './state.ts';

const HC: HealthCheckConfig = {
  path: '/health',
  intervalMs: 1000,
  timeoutMs: 500,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  expectStatus: [[200, 399]],
  initialState: 'up',
};


/** Timers driven by hand: `fire()` runs the due callback as the real timer would. */
function manualTimers(): Timers & { pending: { fn: () => void; ms: number } | null; fire(): void } {
  const t = {
    pending: null as { fn: () => void; ms: number } | null,
    setTimeout(fn: () => void, ms: number) {
      t.pending = { fn, ms };
      return t.pending;
    },
    clearTimeout(h: unknown) {
      if (t.pending === h) t.pending = null;
    },
    fire() {
      const p = t.pending;
      t.pending = null;
      p?.fn();
    },
  };
  return t;
}

function setup(n = 3, cfg: HealthCheckConfig = HC, fields: Record<string, unknown> = { passive: { consecutiveFailures: 3 } }, share?: HealthShare) {
  const origins = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${4001 + i}`);
  const pc: PoolConfig = { ...testPoolConfig('api', origins, fields), healthCheck: cfg };
  const upstreams = pc.upstreams.map((uc) => new Upstream(uc.origin, uc.weight, null, 'api'));
  const t = { now: 1000 };
  const clock = (): number => t.now;
  const pool = new Pool(pc, upstreams, createBalancer('round-robin', { rng: seededRng(1), decayMs: 10_000 }), clock);
  const { log, lines } = recordingLogger();
  const events = new EventLog();
  const timers = manualTimers();
  const holder = { pool };
  const health = new HealthState({ log, clock, events, timers, currentPool: () => holder.pool, currentPools: () => [holder.pool], ...(share === undefined ? {} : { share }) });
  const check = (u: Upstream, r: HealthCheckResult): void => health.recordCheck(holder.pool, u, r, cfg);
  return { pool, upstreams, health, check, lines, events, timers, t, holder, pc, clock };
}

const pass: HealthCheckResult = { ok: true, at: 0, status: 200, error: null, latencyMs: 1 };
const fail500: HealthCheckResult = { ok: false, at: 0, status: 500, error: null, latencyMs: 1 };
const failTimeout: HealthCheckResult = { ok: false, at: 0, status: null, error: 'upstream-timeout after 500ms', latencyMs: 500 };

describe('HealthState.recordCheck (active checks)', () => {
  it('marks an upstream down after unhealthyThreshold failures and takes it out of the pool', () => {
    const { pool, upstreams, check, lines } = setup();
    const u = upstreams[0]!;
    check(u, fail500);
    check(u, fail500);
    expect(u.state).toBe('up');
    expect(pool.members).toContain(u);
    check(u, fail500);
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
    check(u, failTimeout);
    expect(lines).toHaveLength(1);
    expect(u.reason).toBe('health check failed 4 times: upstream-timeout after 500ms');
  });

  it('brings it back after healthyThreshold successes', () => {
    const { pool, upstreams, check, lines } = setup();
    const u = upstreams[1]!;
    for (let i = 0; i < 3; i++) check(u, failTimeout);
    expect(u.state).toBe('down');
    check(u, pass);
    expect(u.state).toBe('down');
    expect(u.reason).toBe('down: health check passed 1 of 2 times needed');
    check(u, pass);
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
    const { upstreams, check, lines } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 10; i++) {
      check(u, fail500);
      check(u, fail500);
      check(u, pass);
    }
    expect(u.state).toBe('up');
    expect(lines).toEqual([]);
  });

  it('brings an initialState: down upstream up after healthyThreshold successes', () => {
    const { pool, upstreams, check, health } = setup(2, { ...HC, initialState: 'down' });
    const u = upstreams[0]!;
    health.initialize(u, { ...HC, initialState: 'down' });
    pool.rebuild();
    expect(u.reason).toBe('down: waiting for the first health check');
    expect(pool.members).not.toContain(u);
    check(u, pass);
    expect(u.state).toBe('down');
    check(u, pass);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
  });

  it('ends a connect-failure ejection at the first passing check', () => {
    const { pool, upstreams, check, health, lines, t } = setup();
    const u = upstreams[2]!;
    health.observe(pool, u, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(u.state).toBe('ejected');
    expect(u.ejectedByConnect).toBe(true);
    check(u, pass);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
    expect(lines.at(-1)?.msg).toBe('upstream readmitted');
  });

  it('ends a failure ejection after healthyThreshold passing checks since it began; a failed check starts the count again', () => {
    const { pool, upstreams, check, health, t, lines } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 3; i++) health.observe(pool, u, Outcome.Failure, t.now, 'upstream-status');
    expect(u.state).toBe('ejected');
    expect(u.ejectedByConnect).toBe(false);
    check(u, pass);
    expect(u.state).toBe('ejected');
    check(u, fail500);
    check(u, pass);
    expect(u.state).toBe('ejected');
    expect(pool.members).not.toContain(u);
    check(u, pass);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
    expect(lines.at(-1)?.msg).toBe('upstream readmitted');
    expect(lines.at(-1)?.obj['reason']).toBe('health check passed 2 times since the ejection');
  });

  it('ends a failure ejection on a down → up flip', () => {
    const { pool, upstreams, check, health, t } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 3; i++) health.observe(pool, u, Outcome.Failure, t.now, 'upstream-status');
    expect(u.state).toBe('ejected');
    for (let i = 0; i < 3; i++) check(u, fail500);
    expect(u.state).toBe('down');
    expect(u.flags & UpstreamFlag.Ejected).toBeTruthy();
    check(u, pass);
    check(u, pass);
    expect(u.flags).toBe(0);
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(pool.members).toContain(u);
  });
});

describe('HealthState.observe (passive)', () => {
  it('ejects at once on a connect failure, for baseEjectionTime × times ejected', () => {
    const { pool, upstreams, health, timers, t, lines, events } = setup(3, HC, { passive: { baseEjectionTime: '30s' } });
    const u = upstreams[0]!;
    health.observe(pool, u, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(u.state).toBe('ejected');
    expect(u.ejectedUntil).toBe(t.now + 30_000);
    expect(pool.members).not.toContain(u);
    expect(timers.pending?.ms).toBe(30_000);
    expect(lines.at(-1)).toMatchObject({ level: 'warn', msg: 'upstream ejected', obj: { from: 'up', to: 'ejected', ejectedForMs: 30_000 } });
    expect(events.list()).toMatchObject([{ pool: 'api', upstream: u.origin, from: 'up', to: 'ejected', reason: 'connect failed (connect-refused)' }]);
  });

  it('ejects after consecutiveFailures failures; a success in between restarts the count', () => {
    const { pool, upstreams, health, t } = setup();
    const u = upstreams[1]!;
    health.observe(pool, u, Outcome.Failure, t.now, 'upstream-reset');
    health.observe(pool, u, Outcome.Failure, t.now, 'upstream-reset');
    health.observe(pool, u, Outcome.Success, t.now, 'ok');
    health.observe(pool, u, Outcome.Failure, t.now, 'upstream-reset');
    health.observe(pool, u, Outcome.Failure, t.now, 'upstream-reset');
    expect(u.state).toBe('up');
    health.observe(pool, u, Outcome.Failure, t.now, 'upstream-timeout');
    expect(u.state).toBe('ejected');
    expect(u.reason).toBe('ejected: 3 consecutive failures (last: upstream-timeout)');
  });

  it('never counts a neutral outcome (the client left) against an upstream', () => {
    const { pool, upstreams, health, t } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 50; i++) health.observe(pool, u, Outcome.Neutral, t.now, 'client-abort');
    expect(u.state).toBe('up');
    expect(u.consecutiveFailures).toBe(0);
  });

  it('keeps ejections for failures within maxEjectionPercent, but never caps refused connects', () => {
    const { pool, upstreams, health, t } = setup(4, HC, { passive: { consecutiveFailures: 1, maxEjectionPercent: '50%' } });
    for (const u of upstreams) health.observe(pool, u, Outcome.Failure, t.now, 'upstream-status');
    expect(upstreams.filter((u) => u.state === 'ejected')).toHaveLength(2);
    const survivor = upstreams.find((u) => u.state === 'up')!;
    health.observe(pool, survivor, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(survivor.state).toBe('ejected');
  });

  it('grows the ejection time with each ejection, up to maxEjectionTime', () => {
    const { pool, upstreams, health, timers, t } = setup(2, HC, { passive: { baseEjectionTime: '10s', maxEjectionTime: '25s' } });
    const u = upstreams[0]!;
    const durations: number[] = [];
    for (let i = 0; i < 3; i++) {
      health.observe(pool, u, Outcome.ConnectFailure, t.now, 'connect-refused');
      durations.push(u.ejectedUntil - t.now);
      t.now = u.ejectedUntil;
      timers.fire();
      expect(u.state).toBe('up');
    }
    expect(durations).toEqual([10_000, 20_000, 25_000]);
  });
});

describe('HealthState readmission (one timer)', () => {
  it('readmits exactly when the earliest ejection ends, then re-arms for the next', () => {
    const { pool, upstreams, health, timers, t, lines } = setup(3, HC, { passive: { baseEjectionTime: '30s' } });
    const [a, b] = upstreams as [Upstream, Upstream];
    health.observe(pool, a, Outcome.ConnectFailure, t.now, 'connect-refused');
    t.now += 10_000;
    health.observe(pool, b, Outcome.ConnectFailure, t.now, 'connect-refused');
    // Still the timer armed at a's ejection, for a's end (20 s from now), not b's.
    expect(timers.pending?.ms).toBe(30_000);
    t.now += 19_999;
    health.readmitExpired(t.now);
    expect(a.state).toBe('ejected');
    t.now += 1;
    timers.fire();
    expect(a.state).toBe('up');
    expect(b.state).toBe('ejected');
    expect(pool.members).toContain(a);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'upstream readmitted', obj: { from: 'ejected', to: 'up', reason: 'ejection time ended' } });
    expect(timers.pending?.ms).toBe(10_000);
    t.now += 10_000;
    timers.fire();
    expect(b.state).toBe('up');
    expect(timers.pending).toBeNull();
  });

  it('rebuilds the running generation\'s pool when the flip came through an older one', () => {
    const { pool, upstreams, health, holder, pc, clock, t } = setup();
    const next = new Pool(pc, upstreams, createBalancer('round-robin', { rng: seededRng(2), decayMs: 10_000 }), clock);
    holder.pool = next; // a reload: same Upstream objects, new Pool
    const u = upstreams[0]!;
    health.observe(pool, u, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(next.members).not.toContain(u);
    expect(pool.members).not.toContain(u);
  });

  it('stops arming after close()', () => {
    const { pool, upstreams, health, timers, t } = setup();
    health.close();
    health.observe(pool, upstreams[0]!, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(timers.pending).toBeNull();
  });

  it('clearActive brings a checked-down upstream back when its pool loses its checks', () => {
    const { pool, upstreams, health, check } = setup();
    const u = upstreams[0]!;
    for (let i = 0; i < 3; i++) check(u, fail500);
    expect(u.state).toBe('down');
    health.clearActive(u);
    pool.rebuild();
    expect(u.state).toBe('up');
    expect(u.reason).toBeNull();
    expect(u.flags & UpstreamFlag.DownActive).toBe(0);
  });
});

describe('HealthState shared with other processes (workers)', () => {
  it('hands every local check result to the share hook with the verdict drawn from it', () => {
    const shared: { origin: string; up: boolean; streak: number }[] = [];
    const { upstreams, check } = setup(1, HC, undefined, { onCheck: (_p, u, c) => shared.push({ origin: u.origin, up: c.up, streak: c.streak }) });
    for (let i = 0; i < 3; i++) check(upstreams[0]!, fail500);
    expect(shared.map((c) => [c.up, c.streak])).toEqual([[true, -1], [true, -2], [false, -3]]);
  });

  it('takes a shared verdict as is: flips, reasons and events as for a local check, even joining late', () => {
    const { pool, upstreams, health, events } = setup(2);
    const u = upstreams[0]!;
    // A worker that never saw the first two failures: the primary's verdict is down.
    health.recordSharedCheck(pool, u, HC, { result: fail500, up: false, streak: -3 });
    expect(u.state).toBe('down');
    expect(u.reason).toBe('health check failed 3 times: status 500');
    expect(u.checkStreak).toBe(-3);
    expect(u.lastCheck).toBe(fail500);
    expect(pool.members).toEqual([upstreams[1]]);
    health.recordSharedCheck(pool, u, HC, { result: pass, up: false, streak: 1 });
    expect(u.state).toBe('down');
    health.recordSharedCheck(pool, u, HC, { result: pass, up: true, streak: 2 });
    expect(u.state).toBe('up');
    expect(events.list().map((e) => ('to' in e ? e.to : e.type))).toEqual(['down', 'up']);
  });

  it('a shared passing check ends a connect-failure ejection, as a local one does', () => {
    const { pool, upstreams, health, t } = setup(2);
    const u = upstreams[0]!;
    health.observe(pool, u, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(u.state).toBe('ejected');
    health.recordSharedCheck(pool, u, HC, { result: pass, up: true, streak: 1 });
    expect(u.state).toBe('up');
  });

  it('hands local ejections to the share hook, applies shared ones with their duration and never shares them on', () => {
    const ejections: { origin: string; byConnect: boolean; durationMs: number }[] = [];
    const { pool, upstreams, health, t, timers } = setup(4, HC, { passive: { consecutiveFailures: 3, maxEjectionPercent: 25 } }, {
      onEject: (_p, u, e) => ejections.push({ origin: u.origin, byConnect: e.byConnect, durationMs: e.durationMs }),
    });
    const [a, b, c] = upstreams as [Upstream, Upstream, Upstream];
    health.observe(pool, a, Outcome.ConnectFailure, t.now, 'connect-refused');
    expect(ejections).toEqual([{ origin: a.origin, byConnect: true, durationMs: 30_000 }]);

    health.applySharedEjection(pool, b, t.now, { byConnect: false, durationMs: 7000, reason: '3 consecutive failures (last: upstream-status)' });
    expect(b.state).toBe('ejected');
    expect(b.reason).toBe('ejected: 3 consecutive failures (last: upstream-status) (seen by another worker)');
    expect(b.ejectedUntil).toBe(t.now + 7000);
    expect(ejections).toHaveLength(1); // not shared on
    // The pool's cap (25 % of 4 = 1 failure ejection) holds for shared ejections too.
    health.applySharedEjection(pool, c, t.now, { byConnect: false, durationMs: 7000, reason: 'x' });
    expect(c.state).toBe('up');
    // Readmitted by the same one timer, at its time.
    t.now += 7000;
    timers.fire();
    expect(b.state).toBe('up');
  });
});
