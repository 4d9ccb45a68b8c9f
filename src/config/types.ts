// The normalized, frozen configuration every runtime module reads.
// Units are resolved (…Ms, …Bytes), shorthands expanded and pool values inherited from the
// top level. Nothing outside src/config/ ever sees the raw YAML shape.

export const BALANCER_NAMES = ['round-robin', 'random', 'least-connections', 'ewma', 'consistent-hash'] as const;
export type BalancerName = (typeof BALANCER_NAMES)[number];

/** A host and port as written ("0.0.0.0:8080", ":8080" → host "0.0.0.0", "[::1]:80" → host "::1"). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One `listen` entry. */
export interface ListenAddress extends HostPort {
  /** TLS termination on this listener; null = plain HTTP/1.1. */
  readonly tls: ListenTls | null;
}

/** One certificate of a TLS listener: PEM files (full chain; key matching the leaf). */
export interface TlsCertificateConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

/** `listen[].tls`: certificates chosen by SNI (exact name, then *.wildcard; the first is the default). */
export interface ListenTls {
  readonly certificates: readonly TlsCertificateConfig[];
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Offer h2 by ALPN next to http/1.1. */
  readonly http2: boolean;
}

/** `pools.*.tls`: how the pool's https:// upstreams are verified, and who the proxy is to them. */
export interface UpstreamTlsConfig {
  /** PEM file of CAs to trust instead of the system's; null = system CAs. */
  readonly caFile: string | null;
  /** SNI and the name verified; null = the upstream URL's host. */
  readonly servername: string | null;
  /** Client certificate and key for mutual TLS; both or neither. */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** false only for testing (logged as a warning at start). */
  readonly verify: boolean;
}

/** `pools.*.hash`: where a consistent-hash pool takes each request's key from. */
export interface HashConfig {
  readonly source: 'header' | 'cookie' | 'query' | 'client-ip' | 'path';
  /** Header name (lower-case), cookie or query parameter name; null for client-ip and path. */
  readonly name: string | null;
  /** Bounded loads: no upstream takes more than this × the pool's mean in-flight (1.25 = 125 %); null = off. */
  readonly loadFactor: number | null;
}

/** Header changes on a route, names lower-cased, compiled at load. */
export interface HeaderRules {
  /** Replace (or add) these headers. */
  readonly set: readonly (readonly [name: string, value: string])[];
  /** Drop these headers. */
  readonly remove: readonly string[];
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
  readonly scheme: 'http' | 'https';
  /** The URL's host without brackets: a name or an IP literal. */
  readonly hostname: string;
  readonly port: number;
  /** Re-resolve the name every this many ms (each address one upstream); null = connect to the URL's host as is. */
  readonly resolveMs: number | null;
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
  /** consistent-hash key; null for the other balancers. */
  readonly hash: HashConfig | null;
  /** TLS settings for https:// upstreams (and their health checks); null = defaults (system CAs, verify). */
  readonly tls: UpstreamTlsConfig | null;
}

export interface RouteConfig {
  /** Lower-cased host without port; null = any host. */
  readonly host: string | null;
  /** null = any path. */
  readonly pathPrefix: string | null;
  readonly pool: string;
  /** Replaces the matched pathPrefix in the path the upstream sees; null = no rewrite. */
  readonly rewritePathPrefix: string | null;
  /** Header changes to the request sent upstream; null = none. */
  readonly requestHeaders: HeaderRules | null;
  /** Header changes to the response sent to the client (proxy-produced errors too); null = none. */
  readonly responseHeaders: HeaderRules | null;
}

export interface AdminConfig {
  readonly listen: HostPort;
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
  /** Max request header fields (431 above it). */
  readonly maxHeaderCount: number;
  /** Max bytes of the request target (414 above it). */
  readonly maxUrlBytes: number;
}

/** `accessLog`: one line per request. */
export interface AccessLogConfig {
  /** 'stdout', 'stderr' or a file path. */
  readonly path: string;
  readonly format: 'json' | 'combined';
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
  /** Create a W3C traceparent for requests without a valid one. */
  readonly tracing: boolean;
  /** Reload when the config file changes on disk. */
  readonly watchConfig: boolean;
  /** Resolvers for upstreams with `resolve` ("host:port"); null = the system's. */
  readonly dns: { readonly servers: readonly string[] | null };
  /** null = no access log. */
  readonly accessLog: AccessLogConfig | null;
}
