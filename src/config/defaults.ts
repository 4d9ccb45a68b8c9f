// The config's defaults in their written form, and the pool-name rule: shared by the schema
// modules (which fill defaults in), checks.ts (which names them in messages) and normalize.ts.
// No schema and no parsing here.

/** Pool names, as used in routes, metrics labels and log fields. */
export const POOL_NAME_PATTERN = /^[a-z0-9_-]+$/;

/**
 * Defaults in their written form: what the JSON Schema shows and what the reference config
 * documents. The schema fills them in; checks.ts reads them for keys left out.
 */
export const DEFAULTS = {
  workers: 1,
  adminListen: '127.0.0.1:9901',
  tracing: true,
  watchConfig: false,
  listenTls: { minVersion: 'TLSv1.2', http2: true },
  server: {
    headersTimeout: '10s',
    requestTimeout: '300s',
    keepAliveTimeout: '60s',
    maxHeaderSize: '16kb',
    maxHeaderCount: 100,
    maxUrlSize: '8kb',
    maxBodySize: 0,
  },
  shutdown: { drainTimeout: '10s' },
  timeouts: { connect: '5s', response: '30s', idle: '60s', keepAlive: '4s' },
  balancer: 'round-robin',
  weight: 1,
  healthCheck: {
    path: '/health',
    interval: '2s',
    timeout: '1s',
    unhealthyThreshold: 3,
    healthyThreshold: 2,
    expectStatus: '200-399',
    initialState: 'up',
  },
  passive: { consecutiveFailures: 5, baseEjectionTime: '30s', maxEjectionTime: '300s', maxEjectionPercent: '50%' },
  retry: { attempts: 3, budget: '20%', budgetMinPerSecond: 10, bufferSize: '64kb', backoff: { base: '25ms', max: '250ms' } },
  maxConnectionsPerUpstream: 256,
  ewmaDecay: '10s',
  hash: { loadFactor: '125%' },
  upstreamTls: { verify: true },
  accessLog: { format: 'json' },
} as const;
