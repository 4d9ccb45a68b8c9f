// The /status JSON: every pool and upstream with its state and why, load, latency and counters,
// read from Runtime/Pool/Upstream at request time. It never includes the admin token or any
// other secret (upstream origins lose any user:password@), and it changes no routing state.

import type { LatencyPercentiles } from '../observability/histogram.ts';
import type { Event } from '../observability/events.ts';
import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { TlsListenerStatus } from '../tls/metrics.ts';
import type { Clock } from '../util/clock.ts';
import { displayOrigin } from '../util/origin.ts';
import { packageVersion } from '../version.ts';
import { balancingFigures, poolTraffic, type BalancingFigures, type RecentTraffic, type TrafficSeries, type UpstreamTraffic } from './explain.ts';

import { decayedEstimateMs } from '../balancer/ewma-cost.ts';

/** What /status reads; `Runtime` satisfies it, tests pass plain objects. */
export interface StatusSource {
  readonly clock: Clock;
  readonly draining: boolean;
  /** Epoch ms when the runtime started. */
  readonly startedAt: number;
  /** Bound data-plane listener URLs. */
  urls?(): string[];
  readonly current: {
    readonly config: { readonly source: string | null };
    readonly pools: ReadonlyMap<string, Pool>;
  };
  /** Recent health and reload events, oldest first. */
  readonly events?: { list(): Event[] };
  /** The TLS listeners and their certificates. */
  tls?(): TlsListenerStatus[];
}


export interface UpstreamStatus {
  readonly origin: string;
  /** The DNS name the address came from (`resolve`); null for an address from the config. */
  readonly name: string | null;
  readonly state: 'up' | 'down' | 'ejected';
  /** Why it is down or ejected; null when up. */
  readonly reason: string | null;
  readonly weight: number;
  readonly inflight: number;
  /** Peak-EWMA estimate decayed to now (what the ewma balancer sees); null when never measured. */
  readonly ewmaMs: number | null;
  /** Tries sent. */
  readonly requests: number;
  readonly failures: number;
  readonly retries: number;
  /** Finished tries by status class; `error` = no response. */
  readonly responses: Readonly<Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error', number>>;
  readonly consecutiveFailures: number;
  readonly ejections: number;
  /** Time left of the current ejection; null when not ejected. */
  readonly ejectedForMs: number | null;
  readonly lastCheck: {
    readonly ok: boolean;
    /** ISO time of the check. */
    readonly at: string;
    readonly status: number | null;
    readonly error: string | null;
    readonly latencyMs: number;
  } | null;
  /** Time to response headers since the upstream was first configured. */
  readonly latency: LatencyPercentiles;
  /** Fraction of the pool's tries over the last 60 s (0–1; a pool's shares sum to 1); null when the pool had none. */
  readonly share: number | null;
  /** What the pool's balancer decides by (explain.ts). */
  readonly balancing: BalancingFigures;
  /** The last 60 s: tries, failures, req/s, error share, p50/p99. */
  readonly recent: RecentTraffic;
  /** Per-second history (the last 60 complete seconds); GET /status drops it unless asked (?series=1). */
  readonly series?: TrafficSeries;
}

export interface PoolStatus {
  readonly name: string;
  readonly balancer: string;
  readonly requests: number;
  readonly retries: number;
  readonly retryBudgetAvailable: number;
  readonly budgetExhausted: number;
  readonly noUpstream: number;
  /** Upstreams that can be picked now. */
  readonly selectable: number;
  /** The pool's last 60 s, all upstreams together. */
  readonly recent: RecentTraffic;
  readonly upstreams: readonly UpstreamStatus[];
}

export interface Status {
  readonly version: string | null;
  readonly pid: number;
  /** ISO time the runtime started. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly draining: boolean;
  /** Data-plane listener URLs. */
  readonly listeners: readonly string[];
  readonly config: { readonly source: string | null };
  readonly pools: readonly PoolStatus[];
  /** The most recent health and config events (at most 100), oldest first. */
  readonly events: readonly Event[];
  /** TLS listeners: certificates (names, notAfter, fingerprint, reloads, last error) and HTTP/2. */
  readonly tls: readonly TlsListenerStatus[];
}

/**
 * `u`'s EWMA estimate at `nowMs` with the pool's time constant, exactly as the ewma balancer
 * reads it (balancer/ewma-cost.ts); null when never measured.
 */
export function decayedEwmaMs(u: Upstream, pool: Pool, nowMs: number): number | null {
  const ms = decayedEstimateMs(u, nowMs, pool.config.ewmaDecayMs);
  return ms > 0 ? ms : null;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function upstreamStatus(pool: Pool, u: Upstream, now: number, traffic: UpstreamTraffic): UpstreamStatus {
  const state = u.state;
  const r = u.responses;
  const ewma = decayedEwmaMs(u, pool, now);
  const c = u.lastCheck;
  return {
    origin: displayOrigin(u.origin),
    name: u.dnsName,
    state,
    reason: state === 'up' ? null : u.reason,
    weight: u.weight,
    inflight: u.inflight,
    ewmaMs: ewma === null ? null : round3(ewma),
    requests: u.requests,
    failures: u.failures,
    retries: u.retries,
    responses: { '1xx': r[1] ?? 0, '2xx': r[2] ?? 0, '3xx': r[3] ?? 0, '4xx': r[4] ?? 0, '5xx': r[5] ?? 0, error: r[0] ?? 0 },
    consecutiveFailures: u.consecutiveFailures,
    ejections: u.ejections,
    ejectedForMs: state === 'ejected' ? Math.max(0, Math.round(u.ejectedUntil - now)) : null,
    lastCheck:
      c === null
        ? null
        : { ok: c.ok, at: new Date(c.at).toISOString(), status: c.status, error: c.error, latencyMs: round3(c.latencyMs) },
    latency: u.latency.percentiles(),
    share: traffic.share,
    balancing: balancingFigures(pool, u, ewma),
    recent: traffic.recent,
    series: traffic.series,
  };
}

/**
 * Builds the /status document. O(pools + upstreams × hdr buckets); allocates freely.
 * An upstream listed twice in a pool is reported once.
 */
export function buildStatus(src: StatusSource): Status {
  const now = src.clock();
  const pools: PoolStatus[] = [];
  for (const pool of src.current.pools.values()) {
    const distinct = [...new Set(pool.upstreams)];
    const traffic = poolTraffic(distinct, now);
    const upstreams = distinct.map((u) => upstreamStatus(pool, u, now, traffic.upstreams.get(u)!));
    pools.push({
      name: pool.name,
      balancer: pool.config.balancer,
      requests: pool.counters.requests,
      retries: pool.counters.retries,
      retryBudgetAvailable: pool.budget.available(now),
      budgetExhausted: pool.counters.budgetExhausted,
      noUpstream: pool.counters.noUpstream,
      selectable: pool.members.length,
      recent: traffic.pool,
      upstreams,
    });
  }
  return {
    version: packageVersion(),
    pid: process.pid,
    startedAt: new Date(src.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, Math.round(Date.now() - src.startedAt) / 1000),
    draining: src.draining,
    listeners: src.urls?.() ?? [],
    config: { source: src.current.config.source },
    pools,
    events: src.events?.list() ?? [],
    tls: src.tls?.() ?? [],
  };
}
