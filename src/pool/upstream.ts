// One upstream server: its identity (origin, weight), its runtime state (health flags,
// in-flight, EWMA latency, counters) and its connection pool. It does not decide anything:
// the pool, health checkers and balancers read and write these fields.

import type { Dispatcher } from 'undici';

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
  readonly id: number;
  /** scheme://host:port: the identity of the upstream. */
  readonly origin: string;
  weight: number;
  /** Bit set of UpstreamFlag. */
  flags: number;
  inflight: number;
  /**
   * EWMA state: [estimate ms, clock ms of the last update]. A typed array, because writing a
   * fractional number into a plain object field allocates a HeapNumber on every request.
   */
  readonly ewma: Float64Array;

  // Counters, read at scrape time. Plain numbers: no label lookups on the hot path.
  /** Tries sent to this upstream. */
  requests: number;
  /** Tries that failed (no response, or a 502/503/504 answer). */
  failures: number;
  /** Tries on this upstream that were retries of a try elsewhere. */
  retries: number;
  /** Responses by status class (see STATUS_CLASSES). */
  readonly responses: Float64Array;
  /** Sum and count of time to headers, seconds, for Prometheus _sum/_count. */
  latencySumSec: number;

  // Passive health.
  consecutiveFailures: number;
  ejections: number;
  /** Clock ms when an ejection ends (valid while flags & Ejected). */
  ejectedUntil: number;
  /** The ejection was for refused/failed connects: any passing heartbeat ends it. */
  ejectedByConnect: boolean;
  /** Human-readable reason for the current down/ejected state, or null when selectable. */
  reason: string | null;

  // Active health.
  lastCheck: HealthCheckResult | null;
  /** Consecutive check results of the same kind (threshold state machine). */
  checkStreak: number;

  /** The keep-alive connection pool to this upstream; null only in unit tests. */
  dispatcher: Dispatcher | null;
  /** Set when the upstream left the config: close the dispatcher once inflight reaches 0. */
  retired: boolean;

  constructor(origin: string, weight: number, dispatcher: Dispatcher | null = null) {
    this.id = nextId++;
    this.origin = origin;
    this.weight = weight;
    this.flags = 0;
    this.inflight = 0;
    this.ewma = new Float64Array(2);
    this.requests = 0;
    this.failures = 0;
    this.retries = 0;
    this.responses = new Float64Array(STATUS_CLASSES);
    this.latencySumSec = 0;
    this.consecutiveFailures = 0;
    this.ejections = 0;
    this.ejectedUntil = 0;
    this.ejectedByConnect = false;
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
