// The shape of the config file as written (after ${VAR} expansion): the one source for
// validation and the RawConfig type. Values stay in their written units here; normalize.ts
// resolves them. Rules that span several keys live in checks.ts; turning zod issues into
// operator messages is issues.ts's job, the JSON Schema json-schema.ts's.

import * as z from 'zod';
import { checkedString, duration, expected, matching, numeric, parsed, percent, scalar, size } from './fields.ts';
import { BALANCER_NAMES } from './types.ts';
import { LISTEN_PATTERN, STATUS_PATTERN, UnitError, parseListen, parseStatusSet, parseUpstreamUrl, showValue } from './units.ts';

/** Pool names, as used in routes, metrics labels and log fields. */
export const POOL_NAME_PATTERN = /^[a-z0-9_-]+$/;

/**
 * Defaults in their written form: what the JSON Schema shows and what the reference config
 * documents. The schema fills them in; checks.ts reads them for keys left out.
 */
export const DEFAULTS = {
  workers: 1,
  adminListen: '127.0.0.1:9901',
  server: { headersTimeout: '10s', requestTimeout: '300s', keepAliveTimeout: '60s', maxHeaderSize: '16kb', maxBodySize: 0 },
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
} as const;

/** One listen address, e.g. `127.0.0.1:8080`. */
export const listenAddressSchema = checkedString('a listen address like ":8080" or "127.0.0.1:8080"', LISTEN_PATTERN, parseListen);

const statusItem = z.union([z.number(), z.string().meta({ pattern: STATUS_PATTERN.source })]);
const expectStatus = z
  .union([statusItem, z.array(statusItem)], { error: expected('a status (200), a range (200-399) or a list of them') })
  .transform(parsed((v: number | string | (number | string)[]) => (parseStatusSet(v), v)));

const upstreamUrl = checkedString('an http:// or https:// URL', /^[hH][tT][tT][pP][sS]?:\/\//, parseUpstreamUrl).describe(
  'http:// or https:// URL with host and optional port; no path, query or credentials',
);

/** The mapping form of an upstream: `{ url, weight }`. */
export const upstreamObjectSchema = z.strictObject({
  url: upstreamUrl,
  weight: numeric({ min: 0, max: 1000 })
    .prefault(DEFAULTS.weight)
    .describe('Relative share of requests, 0-1000; 0 = never picked (kept for draining)'),
});

/** One upstream: a URL string, or `{ url, weight }`. */
export const upstreamSchema = z.union([upstreamUrl, upstreamObjectSchema], { error: expected('a URL or a mapping with url and weight') });

const timeoutKeys = {
  connect: duration({ positive: true }).describe('TCP (and TLS) connect to an upstream'),
  response: duration({ positive: true }).describe('Per try: request sent -> response headers received'),
  idle: duration().describe('Max silence while streaming a response body; 0 = off'),
  keepAlive: duration({ positive: true }).describe(
    "Idle pooled upstream connections are closed after this; keep it below the upstream's keep-alive timeout (Node's default is 5s)",
  ),
};

/** `pools.*.healthCheck`: active checks. */
export const healthCheckSchema = z.strictObject({
  path: matching(/^\/\S*$/, (s) => `must be a path starting with / (got ${showValue(s)})`)
    .prefault(DEFAULTS.healthCheck.path)
    .describe('Path of the GET request sent to each upstream'),
  interval: duration({ positive: true }).prefault(DEFAULTS.healthCheck.interval).describe('Time between checks of one upstream'),
  timeout: duration({ positive: true }).prefault(DEFAULTS.healthCheck.timeout).describe('Time allowed for one check; must be shorter than interval'),
  unhealthyThreshold: numeric({ min: 1 }).prefault(DEFAULTS.healthCheck.unhealthyThreshold).describe('Consecutive failures that mark an upstream down'),
  healthyThreshold: numeric({ min: 1 }).prefault(DEFAULTS.healthCheck.healthyThreshold).describe('Consecutive successes that mark it up again'),
  expectStatus: expectStatus.prefault(DEFAULTS.healthCheck.expectStatus).describe('Healthy statuses: a code, a range, or a list of them'),
  initialState: z.enum(['up', 'down']).prefault(DEFAULTS.healthCheck.initialState).describe('State of an upstream before its first check'),
}).describe('Active health checks; absent = none');

/** `pools.*.passive`: ejection on live-traffic failures. */
export const passiveSchema = z.strictObject({
  consecutiveFailures: numeric({ min: 0 })
    .prefault(DEFAULTS.passive.consecutiveFailures)
    .describe('Consecutive failures (resets, timeouts, 502/503/504) that eject an upstream; 0 = never eject'),
  baseEjectionTime: duration({ positive: true }).prefault(DEFAULTS.passive.baseEjectionTime).describe('Ejection time = this x times ejected'),
  maxEjectionTime: duration({ positive: true }).prefault(DEFAULTS.passive.maxEjectionTime).describe('Upper bound of the ejection time'),
  maxEjectionPercent: percent().prefault(DEFAULTS.passive.maxEjectionPercent).describe('Ejection never takes out more than this share of the pool'),
}).describe('Passive health: eject upstreams that fail live traffic');

/** `pools.*.retry.backoff`. */
export const backoffSchema = z.strictObject({
  base: duration().prefault(DEFAULTS.retry.backoff.base).describe('Full-jitter backoff base'),
  max: duration().prefault(DEFAULTS.retry.backoff.max).describe('Full-jitter backoff cap'),
}).describe('Backoff between tries: random(0, min(max, base x 2^n))');

/** `pools.*.retry`. */
export const retrySchema = z.strictObject({
  attempts: numeric({ min: 1, max: 10 }).prefault(DEFAULTS.retry.attempts).describe('Total tries per request, including the first; 1 = no retry'),
  perTryTimeout: duration({ positive: true }).optional().describe("Response timeout of each try; defaults to the pool's timeouts.response"),
  budget: percent().prefault(DEFAULTS.retry.budget).describe("Retries may add at most this share of the pool's requests"),
  budgetMinPerSecond: numeric({ min: 0, fraction: true })
    .prefault(DEFAULTS.retry.budgetMinPerSecond)
    .describe('Retries per second always allowed, so a quiet pool can still fail over'),
  bufferSize: size().prefault(DEFAULTS.retry.bufferSize).describe('Request body kept for a retry; a larger body is streamed and not retried'),
  backoff: backoffSchema.prefault({}),
}).describe('Retries on another upstream');

/** One entry of `pools`. */
export const poolSchema = z.strictObject({
  balancer: z.enum(BALANCER_NAMES).prefault(DEFAULTS.balancer).describe('Balancing algorithm'),
  upstreams: z.array(upstreamSchema).min(1).describe('Upstream servers: URL strings or { url, weight }'),
  healthCheck: healthCheckSchema.optional(),
  passive: passiveSchema.prefault({}),
  retry: retrySchema.prefault({}),
  timeouts: z.strictObject({
    connect: timeoutKeys.connect.optional(),
    response: timeoutKeys.response.optional(),
    idle: timeoutKeys.idle.optional(),
    keepAlive: timeoutKeys.keepAlive.optional(),
  })
    .prefault({})
    .describe('Overrides of the top-level timeouts for this pool, key by key'),
  maxConnectionsPerUpstream: numeric({ min: 1 }).prefault(DEFAULTS.maxConnectionsPerUpstream).describe('Max open connections per upstream'),
  ewmaDecay: duration({ positive: true }).prefault(DEFAULTS.ewmaDecay).describe('EWMA balancer: decay time of the latency estimate'),
});

const hostPattern = /^(?:\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$|^\[[0-9A-Fa-f:.]+\]$/;

function hostMessage(s: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return `must be a host name, not a URL (got ${showValue(s)})`;
  if (/:\d+$/.test(s) && !s.startsWith('[')) return `must not include a port; the port of the Host header is ignored (got ${showValue(s)})`;
  if (s === '*') return "'*' is not needed: leave out host to match any host";
  if (s.includes('*')) return `only a leading '*.' wildcard is allowed, as in *.example.com (got ${showValue(s)})`;
  return `must be a host name like api.example.com or *.example.com (got ${showValue(s)})`;
}

/** One entry of `routes`. */
export const routeSchema = z.strictObject({
  match: z.strictObject({
    host: matching(hostPattern, hostMessage).describe('Exact host, case-insensitive, port ignored; a leading "*." matches subdomains'),
    pathPrefix: matching(/^\/[^\s?#]*$/, (s) => `must be a path starting with / (no query or fragment), e.g. /v1 (got ${showValue(s)})`).describe(
      'Matches paths that start with this prefix',
    ),
  })
    .partial()
    .optional()
    .describe('What the route matches; absent = every request'),
  pool: z.string().min(1).describe('Name of the pool that serves the matched requests'),
});

/** Client-facing limits. */
export const serverSchema = z.strictObject({
  headersTimeout: duration({ positive: true }).prefault(DEFAULTS.server.headersTimeout).describe('Time allowed for a client to send all request headers'),
  requestTimeout: duration().prefault(DEFAULTS.server.requestTimeout).describe('Time allowed for a whole client request; 0 = off'),
  keepAliveTimeout: duration({ positive: true }).prefault(DEFAULTS.server.keepAliveTimeout).describe('Idle time of a client keep-alive connection'),
  maxHeaderSize: size({ positive: true }).prefault(DEFAULTS.server.maxHeaderSize).describe('Max bytes of request headers'),
  maxBodySize: size().prefault(DEFAULTS.server.maxBodySize).describe('Max request body bytes (413 above it); 0 = unlimited'),
})
  .prefault({})
  .describe('Client-facing limits');

/** `listen`: one address or a non-empty list. */
export const listenSchema = z
  .union([listenAddressSchema, z.array(listenAddressSchema).min(1)], { error: expected('a listen address like ":8080" or a list of them') })
  .describe('"host:port", ":port" (all IPv4 interfaces) or "[::1]:port", or a list of them; port 0 = any free port');

/** `admin`: the admin server. */
export const adminSchema = z.strictObject({
  listen: listenAddressSchema.prefault(DEFAULTS.adminListen).describe('Address of the admin server'),
  token: z.string().min(1).optional().describe('Bearer token required for everything but /healthz and /readyz'),
}).describe('Admin server (health, readiness, metrics, status, reload); absent = off');

/** Pool names are keys, which are never expanded: the JSON Schema keeps their pattern strict. */
export const poolName = z.string().regex(POOL_NAME_PATTERN);

/** The whole config file. Parse with issues.ts `validateRaw` to get operator-facing issues. */
export const configSchema = z.strictObject({
  listen: listenSchema,
  workers: scalar({
    what: 'a positive integer or auto',
    number: { type: 'integer', minimum: 1 },
    pattern: /^(?:auto|\d+)$/,
    parse: (v): number | 'auto' => {
      if (v === 'auto') return 'auto';
      const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
      if (!Number.isInteger(n) || n < 1) throw new UnitError(`must be a positive integer or auto (got ${showValue(v)})`);
      return n;
    },
  })
    .prefault(DEFAULTS.workers)
    .describe('Worker processes; auto = one per CPU'),
  admin: adminSchema.optional(),
  server: serverSchema,
  shutdown: z.strictObject({
    drainTimeout: duration().prefault(DEFAULTS.shutdown.drainTimeout).describe('Time in-flight requests get to finish on SIGTERM/SIGINT'),
  })
    .prefault({})
    .describe('Graceful stop on SIGTERM/SIGINT'),
  timeouts: z.strictObject({
    connect: timeoutKeys.connect.prefault(DEFAULTS.timeouts.connect),
    response: timeoutKeys.response.prefault(DEFAULTS.timeouts.response),
    idle: timeoutKeys.idle.prefault(DEFAULTS.timeouts.idle),
    keepAlive: timeoutKeys.keepAlive.prefault(DEFAULTS.timeouts.keepAlive),
  })
    .prefault({})
    .describe('Defaults for every pool; a pool may override any of them'),
  pools: z
    .record(poolName, poolSchema, {
      error: (issue) =>
        issue.code === 'invalid_key'
          ? `invalid pool name ${showValue(issue.input)} (use only a-z, 0-9, _ and -)`
          : issue.code === 'invalid_type' && issue.input === null
            ? 'is empty (it must define at least one pool)'
            : undefined,
    })
    .refine((pools) => Object.keys(pools).length > 0, 'must define at least one pool')
    .meta({ minProperties: 1 })
    .describe('Upstream pools by name ([a-z0-9_-]+)'),
  routes: z
    .array(routeSchema)
    .min(1)
    .optional()
    .describe('First match wins; a route without match is the default. Optional with exactly one pool'),
});

/** The config as written, with defaults filled in and numeric strings converted. Only config/ uses it. */
export type RawConfig = z.output<typeof configSchema>;
/** A pool as written, defaults filled in. */
export type RawPool = z.output<typeof poolSchema>;
