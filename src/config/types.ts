// The normalized, frozen configuration every runtime module reads.
// Units are resolved (…Ms, …Bytes), shorthands expanded and pool values inherited from the
// top level. Nothing outside src/config/ ever sees the raw YAML shape.

export const BALANCER_NAMES = ['round-robin', 'random', 'least-connections', 'ewma'] as const;
export type BalancerName = (typeof BALANCER_NAMES)[number];

/** A listen address as written ("0.0.0.0:8080", ":8080" → host "0.0.0.0", "[::1]:80" → host "::1"). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Inclusive status ranges, e.g. "200-399" → [[200, 399]]; "200, 204" → [[200,200],[204,204]]. */
export type StatusSet = readonly (readonly [number, number])[];

export interface Timeouts {
  /** TCP (and TLS) connect to an upstream. */
  readonly connectMs: number;
  /** Per try: request sent → response headers received. */
  readonly responseMs: number;
  /** Max silence while streaming a response body (0 = off). */
  readonly idleMs: number;
  /** How long an idle pooled upstream connection is kept. Shorter than Node's 5 s server default. */
  readonly keepAliveMs: number;
}

export interface HealthCheckConfig {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly expectStatus: StatusSet;
  /** State of an upstream before its first check. Spec default: up. */
  readonly initialState: 'up' | 'down';
}

export interface PassiveConfig {
  /** Consecutive failures (resets, timeouts, 502/503/504) that eject an upstream. 0 = never eject. */
  readonly consecutiveFailures: number;
  /** Ejection time = baseEjectionMs × times ejected. */
  readonly baseEjectionMs: number;
  /** Upper bound on ejection time. */
  readonly maxEjectionMs: number;
  /** Ejection never takes out more than this share of the pool (0–100). */
  readonly maxEjectionPercent: number;
}

export interface RetryConfig {
  /** Total tries per request including the first; 1 = no retry. */
  readonly attempts: number;
  /** Per-try response timeout; defaults to timeouts.responseMs. */
  readonly perTryTimeoutMs: number;
  /** Retries may add at most this share (0–100) of the pool's requests. */
  readonly budgetPercent: number;
  /** Retries per second always allowed, so a quiet pool can still fail over. */
  readonly budgetMinPerSecond: number;
  /** Request body bytes kept for a replay; a larger body is streamed and not retried. */
  readonly bufferBytes: number;
  /** Full-jitter backoff between tries: random(0, min(maxMs, baseMs × 2^n)). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface UpstreamConfig {
  /** The URL as written (trailing slash removed). */
  readonly url: string;
  /** scheme://host:port, the identity of the upstream. */
  readonly origin: string;
  readonly weight: number;
}

export interface PoolConfig {
  readonly name: string;
  readonly balancer: BalancerName;
  readonly upstreams: readonly UpstreamConfig[];
  readonly healthCheck: HealthCheckConfig | null;
  readonly passive: PassiveConfig;
  readonly retry: RetryConfig;
  readonly timeouts: Timeouts;
  /** Max open connections per upstream. */
  readonly maxConnectionsPerUpstream: number;
  /** EWMA decay time constant. */
  readonly ewmaDecayMs: number;
}

export interface RouteConfig {
  /** Lower-cased host without port; null = any host. */
  readonly host: string | null;
  /** null = any path. */
  readonly pathPrefix: string | null;
  readonly pool: string;
}

export interface AdminConfig {
  readonly listen: ListenAddress;
  readonly token: string | null;
}

export interface ServerLimits {
  /** Time allowed for a client to send all request headers (slowloris guard). */
  readonly headersTimeoutMs: number;
  /** Time allowed for a whole client request; 0 = off. */
  readonly requestTimeoutMs: number;
  /** Idle time of a client keep-alive connection. */
  readonly keepAliveTimeoutMs: number;
  /** Max bytes of request headers. */
  readonly maxHeaderBytes: number;
  /** Max request body bytes (413 above it); 0 = unlimited. */
  readonly maxBodyBytes: number;
}

export interface Config {
  /** The file this came from, or null for flags only. */
  readonly source: string | null;
  readonly listen: readonly ListenAddress[];
  readonly workers: number;
  readonly admin: AdminConfig | null;
  readonly server: ServerLimits;
  readonly shutdown: { readonly drainTimeoutMs: number };
  readonly pools: ReadonlyMap<string, PoolConfig>;
  readonly routes: readonly RouteConfig[];
}
