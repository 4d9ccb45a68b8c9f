// A pool of upstreams: owns membership, the selectable snapshot handed to the balancer, the
// retry budget and the start/finish bookkeeping of every attempt. health/state.ts sets health
// flags on upstreams and calls `rebuild()`; `pick()` never asks about health. Membership is
// replaced whole (`setUpstreams`, when DNS changes a pool's addresses), never edited in place.

import { EwmaCost } from '../balancer/ewma-cost.ts';
import { compileHashKey, type KeyExtractor } from '../balancer/hash-key.ts';
import { NO_KEY, type Balancer } from '../balancer/types.ts';
import type { PoolConfig } from '../config/types.ts';
import { RetryBudget } from './retry-budget.ts';
import type { Clock } from '../util/clock.ts';
import type { Upstream } from './upstream.ts';

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
  /** Every member, selectable or not. Replaced whole by setUpstreams(), never mutated. */
  declare upstreams: readonly Upstream[];
  declare readonly balancer: Balancer;
  declare readonly clock: Clock;
  declare readonly counters: PoolCounters;
  declare readonly budget: RetryBudget;
  /** Where each request's hash key comes from (consistent-hash pools); null for the others. */
  declare readonly keyOf: KeyExtractor | null;
  /** Selectable members as last handed to the balancer. */
  declare members: readonly Upstream[];
  /**
   * Keeps each upstream's EWMA latency (shown in /status for every pool) when the balancer
   * does not (every balancer but ewma, which folds its own samples); null for ewma pools.
   */
  declare readonly latencyEwma: EwmaCost | null;

  constructor(config: PoolConfig, upstreams: readonly Upstream[], balancer: Balancer, clock: Clock) {
    this.name = config.name;
    this.config = config;
    this.upstreams = upstreams;
    this.balancer = balancer;
    this.clock = clock;
    this.counters = { requests: 0, retries: 0, budgetExhausted: 0, noUpstream: 0 };
    this.budget = new RetryBudget(config.retry.budgetPercent, config.retry.budgetMinPerSecond);
    this.keyOf = config.hash === null ? null : compileHashKey(config.hash);
    this.members = [];
    this.latencyEwma = config.balancer === 'ewma' ? null : new EwmaCost(config.ewmaDecayMs);
    this.rebuild();
  }

  /**
   * Recompute the selectable snapshot and hand it to the balancer. Off the hot path: called
   * when a flag or weight changes. O(n), allocates.
   */
  rebuild(): void {
    const members: Upstream[] = [];
    for (const u of this.upstreams) if (u.flags === 0 && u.weight > 0) members.push(u);
    this.members = members;
    this.balancer.update(members, this.upstreams);
  }

  /**
   * Replaces the members (a DNS lookup changed the pool's addresses) and rebuilds the
   * selectable snapshot. Off the hot path; O(n), allocates. Upstreams that left are the
   * registry's to retire; a request that already picked one finishes on it.
   */
  setUpstreams(upstreams: readonly Upstream[]): void {
    this.upstreams = upstreams;
    this.rebuild();
  }

  /**
   * Hot path. Picks an upstream not in `tried` when one is selectable. `undefined` means no
   * upstream is available: answer 503 at once. `key`: the request's hash key for
   * consistent-hash pools (balancer/hash-key.ts), else NO_KEY. O(1) for every balancer;
   * allocates nothing.
   */
  pick(tried: readonly Upstream[] | null, _nowMs: number, key: number = NO_KEY): Upstream | undefined {
    return this.balancer.pick(tried, key);
  }

  /** An attempt is being sent to `u`. Exactly one `finish` must follow. */
  start(u: Upstream, nowMs: number, isRetry: boolean): void {
    u.inflight++;
    u.requests++;
    if (isRetry) u.retries++;
    u.traffic.started(nowMs);
    this.balancer.onStart(u, nowMs);
  }

  /**
   * The attempt on `u` ended. `ok` = a usable response arrived (any status but 502/503/504).
   * Called exactly once per `start`, on every path.
   */
  finish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
    u.inflight--;
    u.traffic.finished(nowMs, latencyMs, ok);
    this.balancer.onFinish(u, nowMs, latencyMs, ok);
    this.latencyEwma?.fold(u, nowMs, latencyMs, ok);
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
