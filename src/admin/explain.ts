// Why each upstream gets the traffic it gets, for /status and the dashboard: its share of the
// pool's tries over the last minute, its recent rate, errors and latency (read from the
// per-second traffic windows on the upstreams), and the figures its pool's balancer decides by.
// It only reads; counting is src/observability/traffic-window.ts's, deciding the balancers'.

import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import { bucketQuantileMs, emptySums, secondOf, type TrafficSums } from '../observability/traffic-window.ts';

/** Seconds the share and the recent figures cover: the current second and the 59 before it. */
export const SHARE_SECONDS = 60;
/** Complete seconds the request rate is averaged over. */
export const RATE_SECONDS = 5;
/** Complete seconds in a series (oldest first, ending with the last complete second). */
export const SERIES_SECONDS = 60;

/** Recent traffic of an upstream or a pool. */
export interface RecentTraffic {
  /** Seconds covered by requests, failures, errorShare and the percentiles. */
  readonly seconds: number;
  /** Tries sent. */
  readonly requests: number;
  /** Tries that failed (no response, or 502/503/504). */
  readonly failures: number;
  /** Tries that ended (the error share's denominator). */
  readonly finished: number;
  /** Tries per second over the last RATE_SECONDS complete seconds. */
  readonly requestsPerSecond: number;
  /** failures / finished tries; null when none finished. */
  readonly errorShare: number | null;
  /** Time to response headers, from power-of-two buckets (factor-2 resolution, interpolated). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** Per-second history of an upstream: SERIES_SECONDS complete seconds, oldest first. */
export interface TrafficSeries {
  /** The clock second of the last entry (seconds of this process's monotonic clock). */
  readonly endSecond: number;
  readonly requests: readonly number[];
  readonly failures: readonly number[];
  /** null for a second in which no try finished. */
  readonly p99Ms: readonly (number | null)[];
}

/**
 * What the pool's balancer decides by, for this upstream. Every balancer honours `weight`;
 * the other fields appear for the balancers that read them.
 */
export interface BalancingFigures {
  readonly weight: number;
  /** weight / the selectable upstreams' total weight: the share the weight alone asks for (0 when not selectable). */
  readonly weightShare: number;
  /** least-connections, ewma, consistent-hash (bounded loads). */
  readonly inflight?: number;
  /** least-connections: in-flight per unit of weight; the lowest is picked. */
  readonly load?: number;
  /** ewma: the decayed latency estimate (null = never measured). */
  readonly ewmaMs?: number | null;
  /** ewma: estimate × (in-flight + 1) / weight; the cheaper of two candidates is picked. */
  readonly costMs?: number | null;
  /** consistent-hash: the share of the key space this upstream owns (null when the balancer cannot say). */
  readonly keyShare?: number | null;
}

/** The traffic part of one upstream's /status entry. */
export interface UpstreamTraffic {
  /** Fraction of the pool's tries over the last SHARE_SECONDS; null when the pool had none. */
  readonly share: number | null;
  readonly recent: RecentTraffic;
  readonly series: TrafficSeries;
}

/** A consistent-hash balancer can tell how much of the key space an upstream owns. */
interface KeyShareBalancer {
  keyShare(u: Upstream): number;
}

function hasKeyShare(b: object): b is KeyShareBalancer {
  return typeof (b as Partial<KeyShareBalancer>).keyShare === 'function';
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function recentOf(window: TrafficSums, rateSums: TrafficSums): RecentTraffic {
  let finished = 0;
  for (const c of window.buckets) finished += c;
  const p50 = bucketQuantileMs(window.buckets, 0.5);
  const p99 = bucketQuantileMs(window.buckets, 0.99);
  return {
    seconds: SHARE_SECONDS,
    requests: window.started,
    failures: window.failed,
    finished,
    requestsPerSecond: round(rateSums.started / RATE_SECONDS, 2),
    errorShare: finished === 0 ? null : round(window.failed / finished, 4),
    p50Ms: p50 === null ? null : round(p50, 3),
    p99Ms: p99 === null ? null : round(p99, 3),
  };
}

function seriesOf(u: Upstream, end: number): TrafficSeries {
  const requests: number[] = [];
  const failures: number[] = [];
  const p99Ms: (number | null)[] = [];
  const one = emptySums();
  for (let s = end - SERIES_SECONDS + 1; s <= end; s++) {
    one.started = 0;
    one.failed = 0;
    one.buckets.fill(0);
    u.traffic.sum(s, s, one);
    requests.push(one.started);
    failures.push(one.failed);
    const p99 = bucketQuantileMs(one.buckets, 0.99);
    p99Ms.push(p99 === null ? null : round(p99, 3));
  }
  return { endSecond: end, requests, failures, p99Ms };
}

/** Each count's fraction of their sum (4 places); all null when the sum is 0. */
function sharesOf(counts: readonly number[]): (number | null)[] {
  const total = counts.reduce((n, c) => n + c, 0);
  return counts.map((c) => (total === 0 ? null : round(c / total, 4)));
}

/**
 * Only the shares of a pool's upstreams (each listed once) over the last SHARE_SECONDS as of
 * clock `nowMs`, in their order: what /metrics exports. O(upstreams × SHARE_SECONDS × buckets).
 */
export function trafficShares(upstreams: readonly Upstream[], nowMs: number): (number | null)[] {
  const now = secondOf(nowMs);
  return sharesOf(upstreams.map((u) => u.traffic.sum(now - SHARE_SECONDS + 1, now).started));
}

/**
 * The traffic figures of a pool's upstreams (each listed once) as of clock `nowMs`, and the
 * pool's totals. O(upstreams × SERIES_SECONDS × buckets); allocates freely (read time only).
 */
export function poolTraffic(upstreams: readonly Upstream[], nowMs: number): { upstreams: Map<Upstream, UpstreamTraffic>; pool: RecentTraffic } {
  const now = secondOf(nowMs);
  const windows = upstreams.map((u) => u.traffic.sum(now - SHARE_SECONDS + 1, now));
  const shares = sharesOf(windows.map((w) => w.started));
  const poolWindow = emptySums();
  const poolRate = emptySums();
  const out = new Map<Upstream, UpstreamTraffic>();
  upstreams.forEach((u, i) => {
    const w = windows[i]!;
    const rate = u.traffic.sum(now - RATE_SECONDS, now - 1);
    u.traffic.sum(now - SHARE_SECONDS + 1, now, poolWindow);
    poolRate.started += rate.started;
    out.set(u, {
      share: shares[i]!,
      recent: recentOf(w, rate),
      series: seriesOf(u, now - 1),
    });
  });
  return { upstreams: out, pool: recentOf(poolWindow, poolRate) };
}

/**
 * The figures `pool`'s balancer decides by for `u`. `ewmaMs`: the decayed estimate as of now
 * (null = never measured), computed by the caller the way the balancer decays it.
 */
export function balancingFigures(pool: Pool, u: Upstream, ewmaMs: number | null): BalancingFigures {
  let selectableWeight = 0;
  for (const m of pool.members) selectableWeight += m.weight;
  const selectable = pool.members.includes(u);
  const weight = u.weight;
  const weightShare = selectable && selectableWeight > 0 ? round(weight / selectableWeight, 4) : 0;
  switch (pool.config.balancer) {
    case 'least-connections':
      return { weight, weightShare, inflight: u.inflight, load: weight > 0 ? round(u.inflight / weight, 3) : 0 };
    case 'ewma':
      return {
        weight,
        weightShare,
        inflight: u.inflight,
        ewmaMs: ewmaMs === null ? null : round(ewmaMs, 3),
        costMs: ewmaMs === null || weight <= 0 ? null : round((ewmaMs * (u.inflight + 1)) / weight, 3),
      };
    case 'consistent-hash':
      return {
        weight,
        weightShare,
        inflight: u.inflight,
        keyShare: hasKeyShare(pool.balancer) ? round(pool.balancer.keyShare(u), 4) : null,
      };
    default:
      return { weight, weightShare };
  }
}

/**
 * The /status document without the per-second series (what GET /status shows people): works on
 * a single process's document and on a cluster primary's `{ workers: [...] }`. Returns a copy.
 */
export function withoutSeries(doc: unknown): unknown {
  if (!isObject(doc)) return doc;
  const out: Record<string, unknown> = { ...doc };
  if (Array.isArray(doc['workers'])) out['workers'] = doc['workers'].map(withoutSeries);
  if (Array.isArray(doc['pools'])) {
    out['pools'] = doc['pools'].map((p: unknown) =>
      isObject(p) && Array.isArray(p['upstreams'])
        ? { ...p, upstreams: p['upstreams'].map((u: unknown) => (isObject(u) ? dropKey(u, 'series') : u)) }
        : p,
    );
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dropKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = o;
  return rest;
}
