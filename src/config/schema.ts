// The shape of the config file as written (after ${VAR} expansion): the one source for
// validation and the RawConfig type. Values stay in their written units here; normalize.ts
// resolves them. Rules that span several keys live in checks.ts; turning zod issues into
// operator messages is issues.ts's job, the JSON Schema json-schema.ts's.

import * as z from 'zod';
import { DEFAULTS, POOL_NAME_PATTERN } from './defaults.ts';
import { checkedString, duration, expected, filePath, flag, numeric, scalar, size } from './fields.ts';
import { poolSchema, timeoutKeys } from './pool-schema.ts';
import { routeSchema } from './route-schema.ts';
import { DNS_SERVER_PATTERN, LISTEN_PATTERN, UnitError, parseDnsServer, parseListen, showValue } from './units.ts';

/** One listen address, e.g. `127.0.0.1:8080`. */
export const listenAddressSchema = checkedString('a listen address like ":8080" or "127.0.0.1:8080"', LISTEN_PATTERN, parseListen);

/** One certificate of a TLS listener. */
export const certificateSchema = z.strictObject({
  cert: filePath('a PEM certificate file (full chain, leaf first)'),
  key: filePath('the PEM private key of that certificate'),
});

/** `listen[].tls`: TLS termination on one listener. */
export const listenTlsSchema = z.strictObject({
  certificates: z
    .array(certificateSchema)
    .min(1)
    .describe('Chosen by SNI: exact name, then *.wildcard; the first is the default'),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).prefault(DEFAULTS.listenTls.minVersion).describe('Oldest TLS version accepted'),
  http2: flag().prefault(DEFAULTS.listenTls.http2).describe('Offer h2 by ALPN next to http/1.1'),
}).describe('TLS on this listener; absent = plain HTTP/1.1');

/** The mapping form of a listen entry: `{ address, tls }`. */
export const listenObjectSchema = z.strictObject({
  address: listenAddressSchema,
  tls: listenTlsSchema.optional(),
});

/** One listen entry: an address string (plain HTTP/1.1) or `{ address, tls }`. */
export const listenEntrySchema = z.union([listenAddressSchema, listenObjectSchema], {
  error: expected('a listen address like ":8080" or a mapping with address and tls'),
});

/** Client-facing limits. */
export const serverSchema = z.strictObject({
  headersTimeout: duration({ positive: true }).prefault(DEFAULTS.server.headersTimeout).describe('Time allowed for a client to send all request headers'),
  requestTimeout: duration().prefault(DEFAULTS.server.requestTimeout).describe('Time allowed for a whole client request; 0 = off'),
  keepAliveTimeout: duration({ positive: true }).prefault(DEFAULTS.server.keepAliveTimeout).describe('Idle time of a client keep-alive connection'),
  maxHeaderSize: size({ positive: true }).prefault(DEFAULTS.server.maxHeaderSize).describe('Max bytes of request headers (431 above it)'),
  maxHeaderCount: numeric({ min: 1 }).prefault(DEFAULTS.server.maxHeaderCount).describe('Max request header fields (431 above it)'),
  maxUrlSize: size({ positive: true }).prefault(DEFAULTS.server.maxUrlSize).describe('Max bytes of the request target (414 above it)'),
  maxBodySize: size().prefault(DEFAULTS.server.maxBodySize).describe('Max request body bytes (413 above it); 0 = unlimited'),
})
  .prefault({})
  .describe('Client-facing limits');

/** `listen`: one entry or a non-empty list of them. */
export const listenSchema = z
  .union([listenAddressSchema, listenObjectSchema, z.array(listenEntrySchema).min(1)], {
    error: expected('a listen address like ":8080" or a list of them'),
  })
  .describe(
    '"host:port", ":port" (all IPv4 interfaces) or "[::1]:port" for plain HTTP/1.1, { address, tls } for TLS, or a list of them; port 0 = any free port',
  );

/** `admin`: the admin server. */
export const adminSchema = z.strictObject({
  listen: listenAddressSchema.prefault(DEFAULTS.adminListen).describe('Address of the admin server'),
  token: z.string().min(1).optional().describe('Bearer token required for everything but /healthz and /readyz'),
}).describe('Admin server (health, readiness, metrics, status, reload); absent = off');

/** `dns`: the resolvers for upstreams with `resolve`. */
export const dnsSchema = z.strictObject({
  servers: z
    .array(checkedString('an IP address with an optional port, like 10.0.0.2:53', DNS_SERVER_PATTERN, parseDnsServer))
    .min(1)
    .describe('IP address with optional port (default 53), e.g. 10.0.0.2, 10.0.0.2:5353, [::1]:53'),
}).describe('DNS servers for upstreams with resolve; absent = the system resolvers');

/** `accessLog`: one line per request. */
export const accessLogSchema = z.strictObject({
  path: z.string({ error: expected('stdout, stderr or a file path') }).min(1).describe("stdout, stderr or a file path (relative paths start at the config file's directory)"),
  format: z.enum(['json', 'combined']).prefault(DEFAULTS.accessLog.format).describe('json lines, or Apache/nginx combined'),
}).describe('Access log, one line per request; absent = off');

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
  tracing: flag().prefault(DEFAULTS.tracing).describe('Create a W3C traceparent for requests without a valid one; valid ones are passed on either way'),
  watchConfig: flag().prefault(DEFAULTS.watchConfig).describe('Reload when the config file changes on disk (symlink swaps included)'),
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
  dns: dnsSchema.optional(),
  accessLog: accessLogSchema.optional(),
});

/** The config as written, with defaults filled in and numeric strings converted. Only config/ uses it. */
export type RawConfig = z.output<typeof configSchema>;
/** A pool as written, defaults filled in. */
export type RawPool = z.output<typeof poolSchema>;
/** A route as written. */
export type RawRoute = z.output<typeof routeSchema>;
/** One listen entry as written. */
export type RawListenEntry = z.output<typeof listenEntrySchema>;
