// The shape of one entry of `pools` as written: upstreams (with DNS re-resolution), active and
// passive health, retries, timeouts, the consistent-hash key and upstream TLS. Rules that span
// several keys (hash without consistent-hash, tls without https://, …) are checks.ts's.

import { isIP } from 'node:net';
import * as z from 'zod';
import { DEFAULTS } from './defaults.ts';
import { checkedString, duration, expected, filePath, flag, matching, numeric, parsed, percent, scalar, size } from './fields.ts';
import { BALANCER_NAMES } from './types.ts';
import {
  HASH_KEY_PATTERN,
  LOAD_FACTOR_PATTERN,
  STATUS_PATTERN,
  UnitError,
  parseHashKey,
  parseLoadFactor,
  parseStatusSet,
  parseUpstreamUrl,
  showValue,
} from './units.ts';

const statusItem = z.union([z.number(), z.string().meta({ pattern: STATUS_PATTERN.source })]);
const expectStatus = z
  .union([statusItem, z.array(statusItem)], { error: expected('a status (200), a range (200-399) or a list of them') })
  .transform(parsed((v: number | string | (number | string)[]) => (parseStatusSet(v), v)));

const upstreamUrl = checkedString('an http:// or https:// URL', /^[hH][tT][tT][pP][sS]?:\/\//, parseUpstreamUrl).describe(
  'http:// or https:// URL with host and optional port; no path, query or credentials',
);

/** The mapping form of an upstream: `{ url, weight, resolve }`. */
export const upstreamObjectSchema = z.strictObject({
  url: upstreamUrl,
  weight: numeric({ min: 0, max: 1000 })
    .prefault(DEFAULTS.weight)
    .describe('Relative share of requests, 0-1000 (per address with resolve); 0 = never picked (kept for draining)'),
  resolve: duration({ positive: true })
    .optional()
    .describe("Re-resolve the URL's host name this often; every A/AAAA address is one upstream. Only for a host name, not an IP address"),
});

/** One upstream: a URL string, or `{ url, weight, resolve }`. */
export const upstreamSchema = z.union([upstreamUrl, upstreamObjectSchema], { error: expected('a URL or a mapping with url and weight') });

/** Per-pool (and top-level) upstream timeouts, without defaults. */
export const timeoutKeys = {
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

/** `pools.*.hash`: the consistent-hash key. */
export const hashSchema = z.strictObject({
  key: checkedString('a hash key like header:x-user-id', HASH_KEY_PATTERN, parseHashKey).describe(
    'Where each request\'s key comes from: header:NAME | cookie:NAME | query:NAME | client-ip | path',
  ),
  loadFactor: scalar({
    what: 'a percentage like 125%, or off',
    number: { minimum: 100 },
    pattern: LOAD_FACTOR_PATTERN,
    parse: (v) => (parseLoadFactor(v), v),
  })
    .prefault(DEFAULTS.hash.loadFactor)
    .describe("Bounded loads: no upstream takes more than this x the pool's mean in-flight (>= 100%); off = no bound"),
}).describe('consistent-hash balancer: the request key; required by it, refused by the other balancers');

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A TLS server name: a DNS name, never an IP address (RFC 6066 §3: SNI carries host names only). */
function checkServername(s: string): void {
  if (isIP(s.replace(/^\[|\]$/g, '')) !== 0) throw new UnitError(`must be a host name, not an IP address: SNI carries names only (RFC 6066 §3) (got ${showValue(s)})`);
  const labels = s.replace(/\.$/, '').split('.');
  if (s.length > 253 || !labels.every((l) => DNS_LABEL.test(l))) throw new UnitError(`must be a host name like api.internal (got ${showValue(s)})`);
}

/** `pools.*.tls`: verification of https:// upstreams and the client certificate for mutual TLS. */
export const upstreamTlsSchema = z.strictObject({
  ca: filePath('a PEM file of CA certificates to trust instead of the system CAs').optional(),
  servername: checkedString('a host name', /^[A-Za-z0-9.-]+$/, checkServername)
    .optional()
    .describe("SNI and the name verified in the upstream's certificate; default: the URL's host"),
  cert: filePath('the client certificate (PEM, full chain) for mutual TLS; needs key').optional(),
  key: filePath('the private key (PEM) of the client certificate; needs cert').optional(),
  verify: flag()
    .prefault(DEFAULTS.upstreamTls.verify)
    .describe("Verify the upstream's certificate; false only for testing (logged as a warning at start)"),
}).describe('TLS to the https:// upstreams of this pool (and their health checks)');

/** One entry of `pools`. */
export const poolSchema = z.strictObject({
  balancer: z.enum(BALANCER_NAMES).prefault(DEFAULTS.balancer).describe('Balancing algorithm'),
  hash: hashSchema.optional(),
  upstreams: z.array(upstreamSchema).min(1).describe('Upstream servers: URL strings or { url, weight, resolve }'),
  tls: upstreamTlsSchema.optional(),
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
