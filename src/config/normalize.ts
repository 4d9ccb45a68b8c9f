// RawConfig → Config: units resolved to ms and bytes, upstream shorthand expanded, pool
// timeouts inherited from the top level, default route filled in, everything frozen.
// Input must already be valid (schema.ts and checks.ts); nothing is validated here.

import { availableParallelism } from 'node:os';
import { DEFAULTS, type RawConfig, type RawPool } from './schema.ts';
import type { Config, PoolConfig, RouteConfig, Timeouts } from './types.ts';
import { parseDuration, parseListen, parsePercent, parseSize, parseStatusSet, parseUpstreamUrl } from './units.ts';

/**
 * Builds the frozen runtime config from a validated raw config. `source` is the file it came
 * from, or null. Throws only on a bug (an input the validators should have rejected).
 */
export function normalize(raw: RawConfig, source: string | null): Config {
  const timeouts: Timeouts = Object.freeze({
    connectMs: parseDuration(raw.timeouts.connect),
    responseMs: parseDuration(raw.timeouts.response),
    idleMs: parseDuration(raw.timeouts.idle),
    keepAliveMs: parseDuration(raw.timeouts.keepAlive),
  });
  const pools = new Map<string, PoolConfig>();
  for (const [name, pool] of Object.entries(raw.pools)) pools.set(name, normalizePool(name, pool, timeouts));
  const listen = Array.isArray(raw.listen) ? raw.listen : [raw.listen];

  return Object.freeze({
    source,
    listen: Object.freeze(listen.map((s) => Object.freeze({ ...parseListen(s), tls: null }))),
    workers: raw.workers === 'auto' ? availableParallelism() : raw.workers,
    admin: raw.admin === undefined ? null : Object.freeze({ listen: parseListen(raw.admin.listen), token: raw.admin.token ?? null }),
    server: Object.freeze({
      headersTimeoutMs: parseDuration(raw.server.headersTimeout),
      requestTimeoutMs: parseDuration(raw.server.requestTimeout),
      keepAliveTimeoutMs: parseDuration(raw.server.keepAliveTimeout),
      maxHeaderBytes: parseSize(raw.server.maxHeaderSize),
      maxBodyBytes: parseSize(raw.server.maxBodySize),
      maxHeaderCount: 100,
      maxUrlBytes: 8192,
    }),
    shutdown: Object.freeze({ drainTimeoutMs: parseDuration(raw.shutdown.drainTimeout) }),
    pools: freezeMap(pools),
    routes: Object.freeze(normalizeRoutes(raw, [...pools.keys()])),
    tracing: true,
    watchConfig: false,
    dns: Object.freeze({ servers: null }),
    accessLog: null,
  });
}

function normalizePool(name: string, pool: RawPool, defaults: Timeouts): PoolConfig {
  const timeouts: Timeouts = Object.freeze({
    connectMs: pool.timeouts.connect === undefined ? defaults.connectMs : parseDuration(pool.timeouts.connect),
    responseMs: pool.timeouts.response === undefined ? defaults.responseMs : parseDuration(pool.timeouts.response),
    idleMs: pool.timeouts.idle === undefined ? defaults.idleMs : parseDuration(pool.timeouts.idle),
    keepAliveMs: pool.timeouts.keepAlive === undefined ? defaults.keepAliveMs : parseDuration(pool.timeouts.keepAlive),
  });
  const hc = pool.healthCheck;
  const { retry, passive } = pool;
  return Object.freeze({
    name,
    balancer: pool.balancer,
    upstreams: Object.freeze(
      pool.upstreams.map((entry) => {
        const { url, weight } = typeof entry === 'string' ? { url: entry, weight: DEFAULTS.weight } : entry;
        const parsed = parseUpstreamUrl(url);
        const u = new URL(parsed.url);
        return Object.freeze({
          ...parsed,
          weight,
          scheme: u.protocol === 'https:' ? ('https' as const) : ('http' as const),
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port),
          resolveMs: null,
        });
      }),
    ),
    healthCheck:
      hc === undefined
        ? null
        : Object.freeze({
            path: hc.path,
            intervalMs: parseDuration(hc.interval),
            timeoutMs: parseDuration(hc.timeout),
            unhealthyThreshold: hc.unhealthyThreshold,
            healthyThreshold: hc.healthyThreshold,
            expectStatus: parseStatusSet(hc.expectStatus),
            initialState: hc.initialState,
          }),
    passive: Object.freeze({
      consecutiveFailures: passive.consecutiveFailures,
      baseEjectionMs: parseDuration(passive.baseEjectionTime),
      maxEjectionMs: parseDuration(passive.maxEjectionTime),
      maxEjectionPercent: parsePercent(passive.maxEjectionPercent),
    }),
    retry: Object.freeze({
      attempts: retry.attempts,
      perTryTimeoutMs: retry.perTryTimeout === undefined ? timeouts.responseMs : parseDuration(retry.perTryTimeout),
      budgetPercent: parsePercent(retry.budget),
      budgetMinPerSecond: retry.budgetMinPerSecond,
      bufferBytes: parseSize(retry.bufferSize),
      backoffBaseMs: parseDuration(retry.backoff.base),
      backoffMaxMs: parseDuration(retry.backoff.max),
    }),
    timeouts,
    maxConnectionsPerUpstream: pool.maxConnectionsPerUpstream,
    ewmaDecayMs: parseDuration(pool.ewmaDecay),
    hash: null,
    tls: null,
  });
}

const NO_REWRITE = { rewritePathPrefix: null, requestHeaders: null, responseHeaders: null } as const;

/** Routes as written (hosts lower-cased); without `routes`, the only pool takes every request. */
function normalizeRoutes(raw: RawConfig, poolNames: readonly string[]): RouteConfig[] {
  if (raw.routes === undefined) {
    const only = poolNames[0];
    return only === undefined ? [] : [Object.freeze({ ...NO_REWRITE, host: null, pathPrefix: null, pool: only })];
  }
  return raw.routes.map((r) =>
    Object.freeze({ ...NO_REWRITE, host: r.match?.host?.toLowerCase() ?? null, pathPrefix: r.match?.pathPrefix ?? null, pool: r.pool }),
  );
}

/** A Map whose mutators throw, so the frozen config cannot be changed through `pools` either. */
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('the config is frozen');
  };
  Object.defineProperties(map, { set: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(map);
}
