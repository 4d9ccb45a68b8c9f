// Prometheus text exposition (format 0.0.4) written at scrape time from the plain counters on
// Pool and Upstream, plus process and connection gauges. Nothing here runs per request and
// nothing on the hot path touches a label; this module only reads.

import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { LatencyHistogram } from '../observability/histogram.ts';
import type { Clock } from '../util/clock.ts';
import { displayOrigin } from '../util/origin.ts';
import { trafficShares } from './explain.ts';
import { writeDnsMetrics, type DnsNameStats } from '../discovery/dns.ts';
import { decayedEstimateMs } from '../balancer/ewma-cost.ts';

/** The content type Prometheus expects for the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label values of `code_class`, by index of `Upstream.responses` (0 = no response). */
export const CODE_CLASSES: readonly string[] = Object.freeze(['error', '1xx', '2xx', '3xx', '4xx', '5xx']);

/** What a scrape reads; `Runtime` satisfies it, tests pass plain objects. */
export interface MetricsSource {
  readonly clock: Clock;
  readonly draining: boolean;
  /** Epoch ms when the runtime started. */
  readonly startedAt: number;
  readonly current: { readonly pools: ReadonlyMap<string, Pool> };
}

/** Gauges that need an asynchronous read or live outside the runtime; all optional. */
export interface MetricsExtras {
  /** Open client connections per data-plane listener URL. */
  readonly openConnections?: readonly { readonly listener: string; readonly count: number }[];
  /** WebSocket tunnels currently open (sockets handed over by the http server). */
  readonly tunnels?: number;
  /** Event-loop delay since the previous scrape. */
  readonly eventLoop?: EventLoopStats | null;
  /** Version string for `fairway_info`. */
  readonly version?: string | null;
  /** Include process_* and nodejs_* families (default true). */
  readonly process?: boolean;
  /** DNS names resolved for upstreams (`fairway_dns_*`); absent or empty = none written. */
  readonly dns?: readonly DnsNameStats[];
  /**
   * Families built elsewhere from their own state (TLS certificates, HTTP/2 sessions per
   * listener: tls/metrics.ts, server/h2-server.ts), written as given after the listener gauges.
   */
  readonly families?: readonly ExtraFamily[];
}

/** A metric family with its samples' label pairs in order (values are escaped when written). */
export interface ExtraFamily {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly samples: readonly { readonly labels: readonly (readonly [string, string])[]; readonly value: number }[];
}

/** Event-loop delay summary in seconds. */
export interface EventLoopStats {
  readonly meanSec: number;
  readonly p50Sec: number;
  readonly p99Sec: number;
  readonly maxSec: number;
}

/**
 * Samples `perf_hooks.monitorEventLoopDelay` between scrapes. Each `read()` returns the delay
 * seen since the previous read and resets the window, as prom-client does; with several
 * scrapers each sees only its share of the window.
 */
export class EventLoopMonitor {
  private readonly h: ELDHistogram;
  /** The sampling period in ns: what an idle loop shows, subtracted from every reading. */
  private readonly resolutionNs: number;
  private enabled: boolean;

  /** `resolutionMs`: sampling period of the underlying timer. */
  constructor(resolutionMs = 20) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.resolutionNs = resolutionMs * 1e6;
    this.enabled = false;
  }

  start(): void {
    if (this.enabled) return;
    this.h.enable();
    this.enabled = true;
  }

  stop(): void {
    if (!this.enabled) return;
    this.h.disable();
    this.enabled = false;
  }

  /**
   * The window's stats, or null before the first sample; then resets the window. Node records
   * the time between two ticks of a `resolution` timer, so an idle loop reads ≈ resolution:
   * that is subtracted, leaving the lag itself (prom-client reports it unsubtracted).
   */
  read(): EventLoopStats | null {
    const h = this.h;
    if (h.count === 0) return null;
    const r = this.resolutionNs;
    const lag = (ns: number): number => Math.max(0, ns - r) / 1e9;
    const out = { meanSec: lag(h.mean), p50Sec: lag(h.percentile(50)), p99Sec: lag(h.percentile(99)), maxSec: lag(h.max) };
    h.reset();
    return out;
  }
}

/**
 * Escapes a label value for the text format: backslash, double quote and line feed
 * (exposition format, "label_value can be any sequence of UTF-8 characters, but the
 * backslash, double-quote and line feed characters have to be escaped").
 */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

/** A sample value as Prometheus parses it (Go ParseFloat plus `+Inf`, `-Inf`, `NaN`). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Appends families in order; every family gets HELP and TYPE, samples stay grouped. */
class Writer {
  private readonly parts: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.parts.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
  }

  /** `labels` is pre-rendered (`a="x",b="y"`) or ''. */
  sample(name: string, labels: string, value: number): void {
    this.parts.push(labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`);
  }

  toString(): string {
    return this.parts.join('');
  }
}

/** One upstream as a scrape sees it: its pool and its pre-rendered labels. */
interface Row {
  readonly pool: Pool;
  readonly u: Upstream;
  /** `pool="…",upstream="…"` */
  readonly labels: string;
}

/** Upstream connection pool stats, read without assuming the dispatcher is an undici Pool. */
interface DispatcherStats {
  readonly connected: number;
  readonly free: number;
  readonly pending: number;
}

function dispatcherStats(u: Upstream): DispatcherStats | null {
  const d = u.dispatcher as { stats?: Partial<DispatcherStats> } | null;
  // Each `stats` read allocates (undici util/stats.js): once per upstream per scrape.
  const s = d?.stats;
  if (s === undefined || typeof s.connected !== 'number') return null;
  return { connected: s.connected, free: s.free ?? 0, pending: s.pending ?? 0 };
}

/**
 * Writes the whole exposition. O(pools + upstreams × buckets), allocates only the output.
 * An upstream object listed twice in a pool is written once, so series never repeat.
 */
export function renderMetrics(src: MetricsSource, extras: MetricsExtras = {}): string {
  const w = new Writer();
  const now = src.clock();
  const pools = [...src.current.pools.values()];
  const rows: Row[] = [];
  for (const pool of pools) {
    const seen = new Set<Upstream>();
    for (const u of pool.upstreams) {
      if (seen.has(u)) continue;
      seen.add(u);
      rows.push({ pool, u, labels: `pool="${escapeLabelValue(pool.name)}",upstream="${escapeLabelValue(displayOrigin(u.origin))}"` });
    }
  }
  const poolLabel = (p: Pool): string => `pool="${escapeLabelValue(p.name)}"`;

  // ── process-wide ─────────────────────────────────────────────────────────────────────────
  w.family('fairway_info', 'gauge', 'Build information; always 1.');
  w.sample('fairway_info', `version="${escapeLabelValue(extras.version ?? 'unknown')}"`, 1);
  w.family('fairway_start_time_seconds', 'gauge', 'Unix time the proxy runtime started.');
  w.sample('fairway_start_time_seconds', '', src.startedAt / 1000);
  w.family('fairway_draining', 'gauge', '1 while draining for shutdown (readiness is 503), else 0.');
  w.sample('fairway_draining', '', src.draining ? 1 : 0);
  if (extras.openConnections !== undefined) {
    w.family('fairway_open_connections', 'gauge', 'Open client connections per data-plane listener.');
    for (const c of extras.openConnections) w.sample('fairway_open_connections', `listener="${escapeLabelValue(c.listener)}"`, c.count);
  }
  if (extras.tunnels !== undefined) {
    w.family('fairway_websocket_tunnels', 'gauge', 'WebSocket tunnels currently open.');
    w.sample('fairway_websocket_tunnels', '', extras.tunnels);
  }
  for (const f of extras.families ?? []) {
    w.family(f.name, f.type, f.help);
    for (const s of f.samples) w.sample(f.name, s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(','), s.value);
  }

  // ── per pool ─────────────────────────────────────────────────────────────────────────────
  w.family('fairway_pool_requests_total', 'counter', 'Client requests routed to the pool.');
  for (const p of pools) w.sample('fairway_pool_requests_total', poolLabel(p), p.counters.requests);
  w.family('fairway_pool_retries_total', 'counter', 'Tries after the first, in the pool.');
  for (const p of pools) w.sample('fairway_pool_retries_total', poolLabel(p), p.counters.retries);
  w.family('fairway_pool_retry_budget_exhausted_total', 'counter', 'Retries refused because the retry budget was spent.');
  for (const p of pools) w.sample('fairway_pool_retry_budget_exhausted_total', poolLabel(p), p.counters.budgetExhausted);
  w.family('fairway_pool_no_upstream_total', 'counter', 'Requests answered 503 because no upstream was selectable.');
  for (const p of pools) w.sample('fairway_pool_no_upstream_total', poolLabel(p), p.counters.noUpstream);
  w.family('fairway_pool_retry_budget_available', 'gauge', 'Retries the budget would allow right now.');
  for (const p of pools) w.sample('fairway_pool_retry_budget_available', poolLabel(p), p.budget.available(now));
  w.family('fairway_pool_selectable_upstreams', 'gauge', 'Upstreams that are up, not ejected and have weight > 0.');
  for (const p of pools) w.sample('fairway_pool_selectable_upstreams', poolLabel(p), p.members.length);

  // ── per upstream ─────────────────────────────────────────────────────────────────────────
  w.family(
    'fairway_upstream_requests_total',
    'counter',
    'Finished tries sent to the upstream, by response status class; "error" = no response (connect failure, reset, timeout).',
  );
  for (const r of rows) {
    const resp = r.u.responses;
    for (let i = 0; i < CODE_CLASSES.length; i++) {
      w.sample('fairway_upstream_requests_total', `${r.labels},code_class="${CODE_CLASSES[i]!}"`, resp[i] ?? 0);
    }
  }
  w.family('fairway_upstream_failures_total', 'counter', 'Tries that failed: no response, or a 502/503/504 answer.');
  for (const r of rows) w.sample('fairway_upstream_failures_total', r.labels, r.u.failures);
  w.family('fairway_upstream_retries_total', 'counter', 'Tries on the upstream that were retries of a try elsewhere.');
  for (const r of rows) w.sample('fairway_upstream_retries_total', r.labels, r.u.retries);
  w.family('fairway_upstream_inflight', 'gauge', 'Tries in flight to the upstream.');
  for (const r of rows) w.sample('fairway_upstream_inflight', r.labels, r.u.inflight);
  w.family('fairway_upstream_weight', 'gauge', 'Configured weight of the upstream.');
  for (const r of rows) w.sample('fairway_upstream_weight', r.labels, r.u.weight);
  w.family('fairway_upstream_up', 'gauge', '1 when the upstream is up (neither down nor ejected), else 0.');
  for (const r of rows) w.sample('fairway_upstream_up', r.labels, r.u.state === 'up' ? 1 : 0);
  w.family('fairway_upstream_state', 'gauge', 'Health state of the upstream: 1 for the current state, 0 for the others.');
  for (const r of rows) {
    const s = r.u.state;
    w.sample('fairway_upstream_state', `${r.labels},state="up"`, s === 'up' ? 1 : 0);
    w.sample('fairway_upstream_state', `${r.labels},state="down"`, s === 'down' ? 1 : 0);
    w.sample('fairway_upstream_state', `${r.labels},state="ejected"`, s === 'ejected' ? 1 : 0);
  }
  w.family('fairway_upstream_ejections_total', 'counter', 'Times passive health ejected the upstream.');
  for (const r of rows) w.sample('fairway_upstream_ejections_total', r.labels, r.u.ejections);
  w.family('fairway_upstream_ewma_seconds', 'gauge', 'Peak-EWMA latency estimate decayed to now, as the ewma balancer sees it (every pool; 0 = not measured).');
  for (const r of rows) w.sample('fairway_upstream_ewma_seconds', r.labels, decayedEstimateMs(r.u, now, r.pool.config.ewmaDecayMs) / 1000);
  w.family('fairway_upstream_traffic_share', 'gauge', "Fraction of the pool's tries the upstream got over the last 60 s (absent while the pool had none).");
  for (const p of pools) {
    const ups = rows.filter((r) => r.pool === p);
    trafficShares(ups.map((r) => r.u), now).forEach((share, i) => {
      if (share !== null) w.sample('fairway_upstream_traffic_share', ups[i]!.labels, share);
    });
  }
  w.family('fairway_upstream_health_check_up', 'gauge', 'Result of the last active health check: 1 passed, 0 failed (absent before the first).');
  for (const r of rows) if (r.u.lastCheck !== null) w.sample('fairway_upstream_health_check_up', r.labels, r.u.lastCheck.ok ? 1 : 0);
  w.family('fairway_upstream_health_check_duration_seconds', 'gauge', 'Duration of the last active health check.');
  for (const r of rows) if (r.u.lastCheck !== null) w.sample('fairway_upstream_health_check_duration_seconds', r.labels, r.u.lastCheck.latencyMs / 1000);
  w.family('fairway_upstream_health_check_timestamp_seconds', 'gauge', 'Unix time of the last active health check.');
  for (const r of rows) if (r.u.lastCheck !== null) w.sample('fairway_upstream_health_check_timestamp_seconds', r.labels, r.u.lastCheck.at / 1000);

  w.family('fairway_upstream_open_connections', 'gauge', 'Open connections in the upstream\'s keep-alive pool.');
  const stats: (DispatcherStats | null)[] = rows.map((r) => dispatcherStats(r.u));
  for (let i = 0; i < rows.length; i++) {
    const s = stats[i];
    if (s !== null && s !== undefined) w.sample('fairway_upstream_open_connections', rows[i]!.labels, s.connected);
  }
  w.family('fairway_upstream_idle_connections', 'gauge', 'Idle (free) connections in the upstream\'s keep-alive pool.');
  for (let i = 0; i < rows.length; i++) {
    const s = stats[i];
    if (s !== null && s !== undefined) w.sample('fairway_upstream_idle_connections', rows[i]!.labels, s.free);
  }
  w.family('fairway_upstream_busy_connections', 'gauge', 'Connections in the upstream\'s keep-alive pool carrying a request now (open − idle).');
  for (let i = 0; i < rows.length; i++) {
    const s = stats[i];
    if (s !== null && s !== undefined) w.sample('fairway_upstream_busy_connections', rows[i]!.labels, s.connected - s.free);
  }
  w.family('fairway_upstream_queued_requests', 'gauge', 'Tries waiting for a connection to the upstream (connection cap reached).');
  for (let i = 0; i < rows.length; i++) {
    const s = stats[i];
    if (s !== null && s !== undefined) w.sample('fairway_upstream_queued_requests', rows[i]!.labels, s.pending);
  }

  w.family('fairway_upstream_response_seconds', 'histogram', 'Time from sending a try to the upstream\'s response headers (or to its failure).');
  for (const r of rows) writeHistogram(w, 'fairway_upstream_response_seconds', r.labels, r.u.latency);

  if (extras.dns !== undefined) writeDnsMetrics(w, extras.dns, (k, v) => `${k}="${escapeLabelValue(v)}"`);
  if (extras.process !== false) writeProcess(w, extras.eventLoop ?? null);
  return w.toString();
}

/** `_bucket` (cumulative, ending with +Inf), `_sum` (seconds) and `_count` of one histogram. */
function writeHistogram(w: Writer, name: string, labels: string, h: LatencyHistogram): void {
  const bounds = h.boundsSec;
  const counts = h.counts;
  let acc = 0;
  for (let i = 0; i < bounds.length; i++) {
    acc += counts[i]!;
    w.sample(`${name}_bucket`, `${labels},le="${formatValue(bounds[i]!)}"`, acc);
  }
  acc += counts[bounds.length]!;
  w.sample(`${name}_bucket`, `${labels},le="+Inf"`, acc);
  w.sample(`${name}_sum`, labels, h.sumMs / 1000);
  // The +Inf bucket, not h.count: the two are equal by construction, and this keeps them so
  // even if a future change lets them drift.
  w.sample(`${name}_count`, labels, acc);
}

/** The usual process_* / nodejs_* families (prom-client's names, a subset). */
function writeProcess(w: Writer, loop: EventLoopStats | null): void {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  w.family('process_cpu_user_seconds_total', 'counter', 'User CPU time spent, seconds.');
  w.sample('process_cpu_user_seconds_total', '', cpu.user / 1e6);
  w.family('process_cpu_system_seconds_total', 'counter', 'System CPU time spent, seconds.');
  w.sample('process_cpu_system_seconds_total', '', cpu.system / 1e6);
  w.family('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, seconds.');
  w.sample('process_cpu_seconds_total', '', (cpu.user + cpu.system) / 1e6);
  w.family('process_resident_memory_bytes', 'gauge', 'Resident memory size, bytes.');
  w.sample('process_resident_memory_bytes', '', mem.rss);
  w.family('process_start_time_seconds', 'gauge', 'Unix time the process started.');
  w.sample('process_start_time_seconds', '', Math.round(Date.now() / 1000 - process.uptime()));
  w.family('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size, bytes.');
  w.sample('nodejs_heap_size_total_bytes', '', mem.heapTotal);
  w.family('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap used, bytes.');
  w.sample('nodejs_heap_size_used_bytes', '', mem.heapUsed);
  w.family('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JS objects (buffers, WebAssembly), bytes.');
  w.sample('nodejs_external_memory_bytes', '', mem.external);
  if (loop !== null) {
    w.family('nodejs_eventloop_lag_mean_seconds', 'gauge', 'Mean event-loop lag (beyond the sampling interval) since the previous scrape.');
    w.sample('nodejs_eventloop_lag_mean_seconds', '', loop.meanSec);
    w.family('nodejs_eventloop_lag_p50_seconds', 'gauge', 'Median event-loop lag since the previous scrape.');
    w.sample('nodejs_eventloop_lag_p50_seconds', '', loop.p50Sec);
    w.family('nodejs_eventloop_lag_p99_seconds', 'gauge', '99th percentile event-loop lag since the previous scrape.');
    w.sample('nodejs_eventloop_lag_p99_seconds', '', loop.p99Sec);
    w.family('nodejs_eventloop_lag_max_seconds', 'gauge', 'Largest event-loop lag since the previous scrape.');
    w.sample('nodejs_eventloop_lag_max_seconds', '', loop.maxSec);
  }
}
