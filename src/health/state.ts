// The one writer of upstream health state: the DownActive and Ejected flags, the reason shown
// in /status, the failure and check streaks, ejection times. Active checks (checker.ts) and
// proxied traffic (the request pipeline's settle) report here; this module applies the rules
// (threshold.ts, passive.ts), rebuilds the pools' selectable sets, logs and records events.
// Readmission when an ejection runs out has one trigger: a timer armed for the earliest end.
// With workers, what other processes saw arrives here too (recordSharedCheck,
// applySharedEjection) and this module's own findings leave through the `share` hooks.

import type { HealthCheckConfig } from '../config/types.ts';
import { Outcome } from '../core/outcome.ts';
import type { EventLog } from '../observability/events.ts';
import type { Logger } from '../observability/log.ts';
import type { Pool } from '../pool/pool.ts';
import { UpstreamFlag, type HealthCheckResult, type Upstream } from '../pool/upstream.ts';
import type { Clock } from '../util/clock.ts';
import { displayOrigin } from '../util/origin.ts';
import { describeCheck, ejectionMs, withinEjectionCap } from './passive.ts';
import { observe, type ThresholdState } from './threshold.ts';

/** Timer functions, injectable so tests can drive readmission with a fake clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A check result as the process that ran it recorded it: the result and the threshold state after it. */
export interface SharedCheck {
  readonly result: HealthCheckResult;
  /** Up (not DownActive) after this result, as the checking process decided. */
  readonly up: boolean;
  /** The signed streak after this result (threshold.ts). */
  readonly streak: number;
}

/** A passive ejection one process decided, for the others. */
export interface SharedEjection {
  readonly byConnect: boolean;
  readonly durationMs: number;
  readonly reason: string;
}

/** Where this process's findings go to reach other processes (cluster); each hook optional. */
export interface HealthShare {
  /** A check result recorded by this process's own checker. */
  onCheck?(pool: Pool, u: Upstream, check: SharedCheck): void;
  /** A passive ejection decided here from this process's own traffic. */
  onEject?(pool: Pool, u: Upstream, ejection: SharedEjection): void;
}

export interface HealthStateOptions {
  readonly log: Logger;
  readonly clock: Clock;
  readonly events: EventLog;
  /** The running generation's pool of this name (a reload replaces Pool objects, not Upstreams). */
  readonly currentPool: (name: string) => Pool | undefined;
  /** Every pool of the running generation (readmission walks them). */
  readonly currentPools: () => Iterable<Pool>;
  readonly timers?: Timers;
  /** Hooks to share findings with other processes; absent = a single process. */
  readonly share?: HealthShare;
}

export class HealthState {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly events: EventLog;
  private readonly currentPool: (name: string) => Pool | undefined;
  private readonly currentPools: () => Iterable<Pool>;
  private readonly timers: Timers;
  /** The readmission timer and the clock time it fires at (Infinity = not armed). */
  private timer: unknown;
  private timerAt: number;
  private closed: boolean;
  /** Scratch state for the threshold machine, so recording a check allocates nothing for it. */
  private readonly scratch: ThresholdState;
  private readonly share: HealthShare | null;

  constructor(opts: HealthStateOptions) {
    this.log = opts.log;
    this.clock = opts.clock;
    this.events = opts.events;
    this.currentPool = opts.currentPool;
    this.currentPools = opts.currentPools;
    this.timers = opts.timers ?? REAL_TIMERS;
    this.timer = null;
    this.timerAt = Infinity;
    this.closed = false;
    this.scratch = { up: true, streak: 0 };
    this.share = opts.share ?? null;
  }

  // ── membership (registry) ───────────────────────────────────────────────────────────────

  /** A new upstream's state before any check: up, or down when the config says so. */
  initialize(u: Upstream, healthCheck: HealthCheckConfig | null): void {
    if (healthCheck?.initialState !== 'down') return;
    u.flags |= UpstreamFlag.DownActive;
    u.reason = 'down: waiting for the first health check';
  }

  /** Active checks were removed from a kept upstream's pool: nothing would ever mark it up again. */
  clearActive(u: Upstream): void {
    if ((u.flags & UpstreamFlag.DownActive) === 0) return;
    u.flags &= ~UpstreamFlag.DownActive;
    u.checkStreak = 0;
    if (u.flags === 0) u.reason = null;
  }

  // ── proxied traffic ─────────────────────────────────────────────────────────────────────

  /**
   * What one finished try says about `u` (called by the pipeline's settle, once per try). A
   * connect failure ejects at once; consecutive failures eject when the pool's ejection cap
   * allows. O(1) unless it ejects.
   */
  observe(pool: Pool, u: Upstream, outcome: Outcome, nowMs: number, code: string): void {
    switch (outcome) {
      case Outcome.Success:
        u.consecutiveFailures = 0;
        return;
      case Outcome.Neutral:
        return;
      case Outcome.ConnectFailure:
        u.consecutiveFailures++;
        if ((u.flags & UpstreamFlag.Ejected) === 0) this.eject(pool, u, nowMs, true, `connect failed (${code})`);
        return;
      case Outcome.Failure: {
        u.consecutiveFailures++;
        const threshold = pool.config.passive.consecutiveFailures;
        if (threshold === 0 || u.consecutiveFailures < threshold || u.flags & UpstreamFlag.Ejected) return;
        if (!withinEjectionCap(pool)) return;
        this.eject(pool, u, nowMs, false, `${u.consecutiveFailures} consecutive failures (last: ${code})`);
        return;
      }
    }
  }

  // ── active checks ───────────────────────────────────────────────────────────────────────

  /**
   * Records one check result: the threshold machine decides flips to down and back up; a flip
   * up also ends an ejection ("it comes back … when a heartbeat says it is up"). A passing check
   * ends an ejection for refused connects at once (the upstream accepts connections again); an
   * ejection for failed responses ends after `healthyThreshold` consecutive passing checks since
   * it began (so at least one of them started after it, when the threshold is 2 or more), as
   * Envoy's and HAProxy's active checks bring an outlier back. An upstream whose /health passes
   * while its real traffic fails is thus ejected again after `consecutiveFailures` more failures.
   */
  recordCheck(pool: Pool, u: Upstream, result: HealthCheckResult, cfg: HealthCheckConfig): void {
    const s = this.scratch;
    s.up = (u.flags & UpstreamFlag.DownActive) === 0;
    s.streak = u.checkStreak;
    const flipped = observe(s, result.ok, cfg.healthyThreshold, cfg.unhealthyThreshold);
    this.applyCheck(pool, u, result, cfg, flipped);
    this.share?.onCheck?.(pool, u, { result, up: s.up, streak: s.streak });
  }

  /**
   * A check result another process ran and judged (the cluster primary): its threshold state
   * is taken as is instead of being computed here, so every worker agrees with the checker even
   * if it joined late or missed a result; the consequences (flips, ending an ejection, the
   * reason, the event) are the same as for a local check.
   */
  recordSharedCheck(pool: Pool, u: Upstream, cfg: HealthCheckConfig, check: SharedCheck): void {
    const s = this.scratch;
    const wasUp = (u.flags & UpstreamFlag.DownActive) === 0;
    s.up = check.up;
    s.streak = check.streak;
    this.applyCheck(pool, u, check.result, cfg, s.up !== wasUp);
  }

  /** What a check result (with the threshold state now in `scratch`) does to `u`. */
  private applyCheck(pool: Pool, u: Upstream, result: HealthCheckResult, cfg: HealthCheckConfig, flipped: boolean): void {
    const s = this.scratch;
    u.lastCheck = result;
    u.checkStreak = s.streak;

    if (flipped && !s.up) {
      const reason = `health check failed ${-s.streak} times: ${describeCheck(result)}`;
      this.change(pool, u, u.state, () => {
        u.flags |= UpstreamFlag.DownActive;
        u.reason = reason;
      }, reason, 'upstream down');
      return;
    }
    if (flipped) {
      const reason = `health check passed ${s.streak} times`;
      this.change(pool, u, 'down', () => {
        u.flags &= ~(UpstreamFlag.DownActive | UpstreamFlag.Ejected);
        u.consecutiveFailures = 0;
        u.reason = null;
      }, reason, 'upstream up');
      return;
    }
    if (result.ok) {
      if (u.flags & UpstreamFlag.Ejected) {
        u.passesSinceEjection++;
        if (u.ejectedByConnect) this.readmit(pool, u, 'health check passed');
        else if (u.passesSinceEjection >= cfg.healthyThreshold) this.readmit(pool, u, `health check passed ${u.passesSinceEjection} times since the ejection`);
      }
      if (u.flags & UpstreamFlag.DownActive) u.reason = `down: health check passed ${s.streak} of ${cfg.healthyThreshold} times needed`;
      return;
    }
    u.passesSinceEjection = 0;
    // Still down: keep the reason current (it may still say "waiting for the first health check").
    if (u.flags & UpstreamFlag.DownActive) u.reason = `health check failed ${-s.streak} times: ${describeCheck(result)}`;
  }

  /**
   * A passive ejection another worker decided. Applied like a local one (same duration, the
   * pool's ejection cap for failure ejections) unless `u` is already ejected; never shared on.
   */
  applySharedEjection(pool: Pool, u: Upstream, nowMs: number, e: SharedEjection): void {
    if (u.flags & UpstreamFlag.Ejected) return;
    if (!e.byConnect && !withinEjectionCap(pool)) return;
    this.eject(pool, u, nowMs, e.byConnect, `${e.reason} (seen by another worker)`, e.durationMs);
  }

  // ── readmission ─────────────────────────────────────────────────────────────────────────

  /** Ends every ejection whose time is up, in the running generation; re-arms the timer. */
  readmitExpired(nowMs: number): void {
    for (const pool of this.currentPools()) {
      for (const u of pool.upstreams) {
        if (u.flags & UpstreamFlag.Ejected && u.ejectedUntil <= nowMs) this.readmit(pool, u, 'ejection time ended');
      }
    }
    this.arm();
  }

  /** Stops the readmission timer (shutdown). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  /**
   * Ejects `u`. `sharedDurationMs` is set for an ejection another worker decided (applied with
   * its duration, not shared again); a local one is handed to the share hook.
   */
  private eject(pool: Pool, u: Upstream, nowMs: number, byConnect: boolean, reason: string, sharedDurationMs?: number): void {
    const durationMs = sharedDurationMs ?? ejectionMs(pool.config.passive, u.ejections + 1);
    this.change(pool, u, u.state, () => {
      u.ejections++;
      u.flags |= UpstreamFlag.Ejected;
      u.ejectedUntil = nowMs + durationMs;
      u.ejectedByConnect = byConnect;
      u.passesSinceEjection = 0;
      u.reason = `ejected: ${reason}`;
    }, reason, 'upstream ejected', durationMs);
    this.arm();
    if (sharedDurationMs === undefined) this.share?.onEject?.(pool, u, { byConnect, durationMs, reason });
  }

  private readmit(pool: Pool, u: Upstream, reason: string): void {
    if ((u.flags & UpstreamFlag.Ejected) === 0) return;
    this.change(pool, u, 'ejected', () => {
      u.flags &= ~UpstreamFlag.Ejected;
      u.consecutiveFailures = 0;
      if (u.flags === 0) u.reason = null;
    }, reason, 'upstream readmitted');
  }

  /**
   * Applies one state change to `u`, rebuilds the pools that select it (the given one and the
   * running generation's pool of that name, when a reload replaced it), logs it (warn when it
   * leaves service, info when it returns) and records the event.
   */
  private change(pool: Pool, u: Upstream, from: Upstream['state'], apply: () => void, reason: string, msg: string, ejectedForMs?: number): void {
    apply();
    const to = u.state;
    pool.rebuild();
    const current = this.currentPool(pool.name);
    if (current !== undefined && current !== pool && current.upstreams.includes(u)) current.rebuild();
    const upstream = displayOrigin(u.origin);
    const fields = { pool: pool.name, upstream, from, to, reason, ...(ejectedForMs === undefined ? {} : { ejectedForMs }) };
    if (to === 'up') this.log.info(fields, msg);
    else this.log.warn(fields, msg);
    this.events.record({ at: new Date().toISOString(), pool: pool.name, upstream, from, to, reason });
  }

  /** Arms the one readmission timer for the earliest ejection end in the running generation. */
  private arm(): void {
    if (this.closed) return;
    let earliest = Infinity;
    for (const pool of this.currentPools()) {
      for (const u of pool.upstreams) if (u.flags & UpstreamFlag.Ejected && u.ejectedUntil < earliest) earliest = u.ejectedUntil;
    }
    if (earliest === this.timerAt) return;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = earliest;
    if (earliest === Infinity) return;
    const delay = Math.max(0, earliest - this.clock());
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.readmitExpired(this.clock());
    }, delay);
  }
}
