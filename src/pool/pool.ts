// A pool of upstreams: owns membership, the selectable snapshot handed to the balancer, and
// the start/finish bookkeeping of every attempt. Health checkers and passive detection set
// flags on upstreams and call `rebuild()`; `pick()` never asks about health.

import { NO_KEY, type Balancer } from '../balancer/types.ts';
import type { Logger } from '../observability/log.ts';
import type { PoolConfig } from '../config/types.ts';
import { RetryBudget } from './retry-budget.ts';
import type { Clock } from '../util/clock.ts';
import { Upstream, UpstreamFlag } from './upstream.ts';

export interface PoolCounters {
  /** Client requests routed to this pool. */
  requests: number;
  /** Tries after the first. */
  retries: number;
  /** Retries refused by the budget. */
  budgetExhausted: number;
  /** Requests answered 503 because no upstream was selectable. */
  noUpstream: number;
}

export class Pool {
  declare readonly name: string;
  declare readonly config: PoolConfig;
  declare readonly upstreams: readonly Upstream[];
  declare readonly balancer: Balancer;
  declare readonly clock: Clock;
  declare readonly counters: PoolCounters;
  declare readonly budget: RetryBudget;
  /** Selectable members as last handed to the balancer. */
  declare members: readonly Upstream[];
  /** Earliest clock time at which an ejection ends (Infinity when none is ejected). */
  declare nextReadmitAt: number;
  /** Called after the selectable set changed (health logging, metrics). */
  onMembersChanged: ((pool: Pool) => void) | null;
  /** Where re-admissions are logged; set by the runtime. */
  declare log: Logger | null;

  constructor(config: PoolConfig, upstreams: readonly Upstream[], balancer: Balancer, clock: Clock) {
    this.name = config.name;
    this.config = config;
    this.upstreams = upstreams;
    this.balancer = balancer;
    this.clock = clock;
    this.counters = { requests: 0, retries: 0, budgetExhausted: 0, noUpstream: 0 };
    this.budget = new RetryBudget(config.retry.budgetPercent, config.retry.budgetMinPerSecond);
    this.members = [];
    this.nextReadmitAt = Infinity;
    this.onMembersChanged = null;
    this.log = null;
    this.rebuild();
  }

  /**
   * Recompute the selectable snapshot and hand it to the balancer. Off the hot path: called
   * when a flag or weight changes. O(n), allocates.
   */
  rebuild(): void {
    const members: Upstream[] = [];
    let nextReadmitAt = Infinity;
    for (const u of this.upstreams) {
      if (u.flags & UpstreamFlag.Ejected && u.ejectedUntil < nextReadmitAt) nextReadmitAt = u.ejectedUntil;
      if (u.flags === 0 && u.weight > 0) members.push(u);
    }
    this.members = members;
    this.nextReadmitAt = nextReadmitAt;
    this.balancer.update(members, this.upstreams);
    this.onMembersChanged?.(this);
  }

  /**
   * Hot path. Picks an upstream not in `tried` when one is selectable. `undefined` means no
   * upstream is available: answer 503 at once. Ejections that have run out are re-admitted
   * here (one comparison per call) rather than by a timer per upstream. `key`: the request's
   * hash key for consistent-hash pools (balancer/hash-key.ts), else NO_KEY.
   */
  pick(tried: readonly Upstream[] | null, nowMs: number, key: number = NO_KEY): Upstream | undefined {
    if (nowMs >= this.nextReadmitAt) this.readmitExpired(nowMs);
    return this.balancer.pick(tried, key);
  }

  /** Ends every ejection whose time is up. */
  readmitExpired(nowMs: number): void {
    let changed = false;
    for (const u of this.upstreams) {
      if (u.flags & UpstreamFlag.Ejected && u.ejectedUntil <= nowMs) {
        u.flags &= ~UpstreamFlag.Ejected;
        u.consecutiveFailures = 0;
        if (u.flags === 0) u.reason = null;
        changed = true;
        this.log?.info({ pool: this.name, upstream: u.origin, from: 'ejected', to: u.state, reason: 'ejection time ended' }, 'upstream readmitted');
      }
    }
    if (changed) this.rebuild();
    else this.nextReadmitAt = Infinity;
  }

  /** An attempt is being sent to `u`. Exactly one `finish` must follow. */
  start(u: Upstream, nowMs: number, isRetry: boolean): void {
    u.inflight++;
    u.requests++;
    if (isRetry) u.retries++;
    this.balancer.onStart(u, nowMs);
  }

  /**
   * The attempt on `u` ended. `ok` = a usable response arrived (any status but 502/503/504).
   * Called exactly once per `start`, on every path.
   */
  finish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
    u.inflight--;
    this.balancer.onFinish(u, nowMs, latencyMs, ok);
    if (u.retired && u.inflight === 0) closeRetired(u);
  }
}

/** Closes the connection pool of an upstream that left the config, once it is idle. */
export function closeRetired(u: Upstream): void {
  u.latency.destroy();
  const d = u.dispatcher;
  if (d === null) return;
  u.dispatcher = null;
  d.close().catch(() => {});
}
