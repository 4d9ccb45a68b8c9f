// One upstream server: its identity (origin, weight), its runtime state (health flags,
// in-flight, EWMA latency, counters) and its connection pool. It does not decide anything:
// the pool, health checkers and balancers read and write these fields.

import type { Dispatcher } from 'undici';
import { LatencyHistogram } from '../observability/histogram.ts';
import { TrafficWindow } from '../observability/traffic-window.ts';

/** Why an upstream is not selectable. 0 = selectable (when weight > 0). */
export const UpstreamFlag = {
  /** The active health check says down. */
  DownActive: 1,
  /** Passive detection took it out (connect failure or consecutive failures) until `ejectedUntil`. */
  Ejected: 2,
} as const;

export interface HealthCheckResult {
  ok: boolean;
  /** Epoch ms (for humans in /status). */
  at: number;
  status: number | null;
  error: string | null;
  latencyMs: number;
}

/** Status classes counted per upstream: index 1..5 = 1xx..5xx, 0 = no response (failed try). */
export const STATUS_CLASSES = 6;

let nextId = 0;

export class Upstream {
  /** Unique for the life of the process; never reused. */
  declare readonly id: number;
  /** scheme://host:port: the identity of the upstream. */
  declare readonly origin: string;
  /** The pool it belongs to (upstreams are kept across reloads by pool name + origin). */
  declare readonly poolName: string;
  /**
   * The DNS name this upstream's address was discovered from (`resolve`), or null for an
   * address written in the config. For /status, SNI and the health check's Host header.
   */
  declare dnsName: string | null;
  declare weight: number;
  /** Bit set of UpstreamFlag. */
  declare flags: number;
  declare inflight: number;
  /**
   * EWMA state: [estimate ms, clock ms of the last update]. A typed array, because writing a
   * fractional number into a plain object field allocates a HeapNumber on every request.
   */
  declare readonly ewma: Float64Array;

  // Counters, read at scrape time. Plain numbers: no label lookups on the hot path.
  /** Tries sent to this upstream. */
  declare requests: number;
  /** Tries that failed (no response, or a 502/503/504 answer). */
  declare failures: number;
  /** Tries on this upstream that were retries of a try elsewhere. */
  declare retries: number;
  /** Responses by status class (see STATUS_CLASSES). */
  declare readonly responses: Float64Array;
  /**
   * Time to response headers (or to the failure) of every finished try: Prometheus buckets
   * and p50/p90/p99 for /status. record() is allocation-free (~17 ns). Its percentile part
   * holds WebAssembly memory: destroyed when the upstream is retired or at shutdown.
   */
  declare readonly latency: LatencyHistogram;
  /** The last minute in one-second slots (share, req/s, errors, recent latency): Pool.start/finish write it. */
  declare readonly traffic: TrafficWindow;

  // Passive health.
  declare consecutiveFailures: number;
  declare ejections: number;
  /** Clock ms when an ejection ends (valid while flags & Ejected). */
  declare ejectedUntil: number;
  /** The ejection was for refused/failed connects: any passing heartbeat ends it. */
  declare ejectedByConnect: boolean;
  /** Consecutive passing heartbeats since the ejection began (healthyThreshold of them end it). */
  declare passesSinceEjection: number;
  /** Human-readable reason for the current down/ejected state, or null when selectable. */
  declare reason: string | null;

  // Active health.
  declare lastCheck: HealthCheckResult | null;
  /** Consecutive check results of the same kind (threshold state machine). */
  declare checkStreak: number;

  /** The keep-alive connection pool to this upstream; null only in unit tests. */
  declare dispatcher: Dispatcher | null;
  /** Set when the upstream left the config: close the dispatcher once inflight reaches 0. */
  declare retired: boolean;

  constructor(origin: string, weight: number, dispatcher: Dispatcher | null = null, poolName = '') {
    this.id = nextId++;
    this.origin = origin;
    this.poolName = poolName;
    this.dnsName = null;
    this.weight = weight;
    this.flags = 0;
    this.inflight = 0;
    this.ewma = new Float64Array(2);
    this.requests = 0;
    this.failures = 0;
    this.retries = 0;
    this.responses = new Float64Array(STATUS_CLASSES);
    this.latency = new LatencyHistogram();
    this.traffic = new TrafficWindow();
    this.consecutiveFailures = 0;
    this.ejections = 0;
    this.ejectedUntil = 0;
    this.ejectedByConnect = false;
    this.passesSinceEjection = 0;
    this.reason = null;
    this.lastCheck = null;
    this.checkStreak = 0;
    this.dispatcher = dispatcher;
    this.retired = false;
  }

  /** Peak EWMA estimate of time to response headers, as of `ewmaAt`. Allocation-free accessor. */
  get ewmaMs(): number {
    return this.ewma[0]!;
  }
  set ewmaMs(v: number) {
    this.ewma[0] = v;
  }
  /** Clock time (ms) of the last EWMA update. */
  get ewmaAt(): number {
    return this.ewma[1]!;
  }
  set ewmaAt(v: number) {
    this.ewma[1] = v;
  }

  /** up | down | ejected, for /status and metrics. */
  get state(): 'up' | 'down' | 'ejected' {
    if (this.flags & UpstreamFlag.DownActive) return 'down';
    if (this.flags & UpstreamFlag.Ejected) return 'ejected';
    return 'up';
  }
}
