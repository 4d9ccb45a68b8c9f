// The /status JSON: every pool and upstream with its state and why, load, latency and counters,
// read from Runtime/Pool/Upstream at request time. It never includes the admin token or any
// other secret (upstream origins lose any user:password@), and it changes no routing state.

import { readFileSync } from 'node:fs';
import { LatencyHistogram, type LatencyPercentiles } from '../observability/histogram.ts';
import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { Clock } from '../util/clock.ts';
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
}

export interface UpstreamStatus {
  readonly origin: string;
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
  /** Time to response headers since the upstream was first configured; null without a histogram. */
  readonly latency: LatencyPercentiles | null;
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
}

let cachedVersion: string | null | undefined;

/** The package version from package.json, or null when it cannot be read. Read once. */
export function packageVersion(): string | null {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : null;
    } catch {
      cachedVersion = null;
    }
  }
  return cachedVersion;
}

/** `scheme://host:port` with any `user:password@` removed (origins should never carry one). */
export function displayOrigin(origin: string): string {
  return origin.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1');
}

/**
 * The upstream's latency histogram, read defensively: the `latency` field is optional on
 * Upstream until the hot path records into it.
 */
export function latencyOf(u: Upstream): LatencyHistogram | null {
  const h = (u as { latency?: unknown }).latency;
  return h instanceof LatencyHistogram ? h : null;
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

function upstreamStatus(pool: Pool, u: Upstream, now: number): UpstreamStatus {
  const state = u.state;
  const r = u.responses;
  const ewma = decayedEwmaMs(u, pool, now);
  const c = u.lastCheck;
  return {
    origin: displayOrigin(u.origin),
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
    latency: latencyOf(u)?.percentiles() ?? null,
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
    const seen = new Set<Upstream>();
    const upstreams: UpstreamStatus[] = [];
    for (const u of pool.upstreams) {
      if (seen.has(u)) continue;
      seen.add(u);
      upstreams.push(upstreamStatus(pool, u, now));
    }
    pools.push({
      name: pool.name,
      balancer: pool.config.balancer,
      requests: pool.counters.requests,
      retries: pool.counters.retries,
      retryBudgetAvailable: pool.budget.available(now),
      budgetExhausted: pool.counters.budgetExhausted,
      noUpstream: pool.counters.noUpstream,
      selectable: pool.members.length,
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
  };
}
