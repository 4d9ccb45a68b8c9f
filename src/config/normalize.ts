// RawConfig → Config: units resolved to ms and bytes, upstream shorthand expanded, pool
// timeouts inherited from the top level, default route filled in, file paths made absolute,
// everything frozen. Input must already be valid (the schema modules, checks.ts and
// tls-files.ts); nothing is validated here.

import { availableParallelism } from 'node:os';
import { DEFAULTS } from './defaults.ts';
import { configDir, resolveIn } from './paths.ts';
import type { RawConfig, RawListenEntry, RawPool, RawRoute } from './schema.ts';
import type { AccessLogConfig, Config, HeaderRules, ListenAddress, PoolConfig, RouteConfig, Timeouts, UpstreamTlsConfig } from './types.ts';
import { parseDnsServer, parseDuration, parseHashKey, parseListen, parseLoadFactor, parsePercent, parseSize, parseStatusSet, parseUpstreamUrl } from './units.ts';

/**
 * Builds the frozen runtime config from a validated raw config. `source` is the file it came
 * from, or null; relative file paths (certificates, keys, the access log) are resolved against
 * its directory (the working directory when null). Throws only on a bug (an input the
 * validators should have rejected).
 */
export function normalize(raw: RawConfig, source: string | null): Config {
  const dir = configDir(source);
  const timeouts: Timeouts = Object.freeze({
    connectMs: parseDuration(raw.timeouts.connect),
    responseMs: parseDuration(raw.timeouts.response),
    idleMs: parseDuration(raw.timeouts.idle),
    keepAliveMs: parseDuration(raw.timeouts.keepAlive),
  });
  const pools = new Map<string, PoolConfig>();
  for (const [name, pool] of Object.entries(raw.pools)) pools.set(name, normalizePool(name, pool, timeouts, dir));
  const listen = Array.isArray(raw.listen) ? raw.listen : [raw.listen];

  return Object.freeze({
    source,
    listen: Object.freeze(listen.map((entry) => normalizeListen(entry, dir))),
    workers: raw.workers === 'auto' ? availableParallelism() : raw.workers,
    admin: raw.admin === undefined ? null : Object.freeze({ listen: parseListen(raw.admin.listen), token: raw.admin.token ?? null }),
    server: Object.freeze({
      headersTimeoutMs: parseDuration(raw.server.headersTimeout),
      requestTimeoutMs: parseDuration(raw.server.requestTimeout),
      keepAliveTimeoutMs: parseDuration(raw.server.keepAliveTimeout),
      maxHeaderBytes: parseSize(raw.server.maxHeaderSize),
      maxBodyBytes: parseSize(raw.server.maxBodySize),
      maxHeaderCount: raw.server.maxHeaderCount,
      maxUrlBytes: parseSize(raw.server.maxUrlSize),
    }),
    shutdown: Object.freeze({ drainTimeoutMs: parseDuration(raw.shutdown.drainTimeout) }),
    pools: freezeMap(pools),
    routes: Object.freeze(normalizeRoutes(raw, [...pools.keys()])),
    tracing: raw.tracing,
    watchConfig: raw.watchConfig,
    dns: Object.freeze({ servers: raw.dns === undefined ? null : Object.freeze(raw.dns.servers.map(parseDnsServer)) }),
    accessLog: normalizeAccessLog(raw.accessLog, dir),
  });
}

function normalizeListen(entry: RawListenEntry, dir: string): ListenAddress {
  if (typeof entry === 'string') return Object.freeze({ ...parseListen(entry), tls: null });
  const { tls } = entry;
  return Object.freeze({
    ...parseListen(entry.address),
    tls:
      tls === undefined
        ? null
        : Object.freeze({
            certificates: Object.freeze(tls.certificates.map((c) => Object.freeze({ certFile: resolveIn(dir, c.cert), keyFile: resolveIn(dir, c.key) }))),
            minVersion: tls.minVersion,
            http2: tls.http2,
          }),
  });
}

/** stdout and stderr are streams; anything else is a file path. */
function normalizeAccessLog(log: RawConfig['accessLog'], dir: string): AccessLogConfig | null {
  if (log === undefined) return null;
  const path = log.path === 'stdout' || log.path === 'stderr' ? log.path : resolveIn(dir, log.path);
  return Object.freeze({ path, format: log.format });
}

function normalizeUpstreamTls(tls: RawPool['tls'], dir: string): UpstreamTlsConfig | null {
  if (tls === undefined) return null;
  const file = (p: string | undefined): string | null => (p === undefined ? null : resolveIn(dir, p));
  return Object.freeze({ caFile: file(tls.ca), servername: tls.servername ?? null, certFile: file(tls.cert), keyFile: file(tls.key), verify: tls.verify });
}

function normalizePool(name: string, pool: RawPool, defaults: Timeouts, dir: string): PoolConfig {
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
        const { url, weight, resolve } = typeof entry === 'string' ? { url: entry, weight: DEFAULTS.weight, resolve: undefined } : entry;
        const parsed = parseUpstreamUrl(url);
        const u = new URL(parsed.url);
        return Object.freeze({
          ...parsed,
          weight,
          scheme: u.protocol === 'https:' ? ('https' as const) : ('http' as const),
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port),
          resolveMs: resolve === undefined ? null : parseDuration(resolve),
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
    hash: pool.hash === undefined ? null : Object.freeze({ ...parseHashKey(pool.hash.key), loadFactor: parseLoadFactor(pool.hash.loadFactor) }),
    tls: normalizeUpstreamTls(pool.tls, dir),
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
    Object.freeze({
      host: r.match?.host?.toLowerCase() ?? null,
      pathPrefix: r.match?.pathPrefix ?? null,
      pool: r.pool,
      rewritePathPrefix: r.rewrite?.pathPrefix ?? null,
      requestHeaders: headerRules(r.headers?.request),
      responseHeaders: headerRules(r.headers?.response),
    }),
  );
}

/**
 * Header rules with names lower-cased, `set` in file order (JS objects list integer-like keys
 * first; no real header name is one), duplicates in `remove` dropped. null when there is
 * nothing to do, so the proxy can skip the step.
 */
function headerRules(rules: NonNullable<RawRoute['headers']>['request']): HeaderRules | null {
  const set = Object.entries(rules?.set ?? {}).map(([name, value]) => Object.freeze([name.toLowerCase(), value] as const));
  const remove = [...new Set((rules?.remove ?? []).map((name) => name.toLowerCase()))];
  if (set.length === 0 && remove.length === 0) return null;
  return Object.freeze({ set: Object.freeze(set), remove: Object.freeze(remove) });
}

/** A Map whose mutators throw, so the frozen config cannot be changed through `pools` either. */
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('the config is frozen');
  };
  Object.defineProperties(map, { set: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(map);
}
