// The shape of the config file as written (after ${VAR} expansion): the one source for
// validation, the RawConfig type and the shipped JSON Schema. Values stay in their written
// units here; normalize.ts resolves them. Rules that span several keys live in checks.ts.

import * as z from 'zod';
import { suggestion, type KeyPath, type PathIssue } from './errors.ts';
import { BALANCER_NAMES } from './types.ts';
import {
  DURATION_PATTERN,
  LISTEN_PATTERN,
  PERCENT_PATTERN,
  SIZE_PATTERN,
  STATUS_PATTERN,
  UnitError,
  parseDuration,
  parseListen,
  parsePercent,
  parseSize,
  parseStatusSet,
  parseUpstreamUrl,
  showValue,
} from './units.ts';

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

type ErrorFn = (issue: z.core.$ZodRawIssue) => string | undefined;

/** "is required" for a missing key, else `must be <what> (got …)`. */
function expected(what: string): ErrorFn {
  return (issue) => (issue.input === undefined ? 'is required' : `must be ${what} (got ${showValue(issue.input)})`);
}

interface ScalarSpec<T> {
  /** Noun phrase for the type-mismatch message: "a duration like 250ms, 5s or 1m". */
  readonly what: string;
  /** Extra JSON Schema keywords for the numeric form, e.g. `{ type: 'integer', minimum: 0 }`. */
  readonly number: Record<string, unknown>;
  /** JSON Schema pattern for the string form (the check itself is `parse`). */
  readonly pattern: RegExp;
  /** Returns the output value or throws a UnitError with the operator-facing message. */
  readonly parse: (v: number | string) => T;
}

/** Pushes `parse`'s UnitError as an issue instead of throwing it. */
function parsed<I, T>(parse: (v: I) => T) {
  return (v: I, ctx: z.core.$RefinementCtx<I>): T => {
    try {
      return parse(v);
    } catch (err) {
      if (!(err instanceof UnitError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: v });
      return z.NEVER;
    }
  };
}

/**
 * A scalar written as a number or a string. Strings matter even for numeric keys, because
 * `${VAR}` expansion yields strings (`attempts: ${RETRIES:-3}`). Every message about the value
 * comes from `parse`, so the schema and units.ts never disagree.
 */
function scalar<T>(spec: ScalarSpec<T>) {
  const error = expected(spec.what);
  return z
    .union([z.number({ error }).meta(spec.number), z.string({ error }).meta({ pattern: spec.pattern.source })], { error })
    .transform(parsed(spec.parse));
}

/** A string checked by a units.ts parser and kept as written; `pattern` only informs the JSON Schema. */
function checkedString(what: string, pattern: RegExp, check: (s: string) => unknown) {
  return z
    .string({ error: expected(what) })
    .meta({ pattern: pattern.source })
    .transform(parsed((s: string) => (check(s), s)));
}

/** A duration, kept as written (string or ms number); `positive` rejects 0. */
function duration(positive = false) {
  return scalar({
    what: 'a duration like 250ms, 5s or 1m',
    number: positive ? { exclusiveMinimum: 0 } : { minimum: 0 },
    pattern: DURATION_PATTERN,
    parse: (v) => {
      if (parseDuration(v) === 0 && positive) throw new UnitError('must be greater than 0');
      return v;
    },
  });
}

/** A size, kept as written (string or byte count); `positive` rejects 0. */
function size(positive = false) {
  return scalar({
    what: 'a size like 512b, 16kb or 10mb',
    number: { type: 'integer', minimum: positive ? 1 : 0 },
    pattern: SIZE_PATTERN,
    parse: (v) => {
      if (parseSize(v) === 0 && positive) throw new UnitError('must be greater than 0');
      return v;
    },
  });
}

/** A percentage 0-100, kept as written (`20%` or a number). */
function percent() {
  return scalar({
    what: 'a percentage like 20%',
    number: { minimum: 0, maximum: 100 },
    pattern: PERCENT_PATTERN,
    parse: (v) => (parsePercent(v), v),
  });
}

/** A number (integer unless `fraction`) in [min, max]; numeric strings are converted. */
function numeric(min: number, max?: number, fraction = false) {
  const range = max === undefined ? `${min} or more` : `from ${min} to ${max}`;
  const what = `${fraction ? 'a number' : 'an integer'} ${range}`;
  return scalar({
    what,
    number: { type: fraction ? 'number' : 'integer', minimum: min, ...(max === undefined ? {} : { maximum: max }) },
    pattern: fraction ? /^\d+(?:\.\d+)?$/ : /^\d+$/,
    parse: (v): number => {
      const n = typeof v === 'number' ? v : /^\s*-?\d+(?:\.\d+)?\s*$/.test(v) ? Number(v) : Number.NaN;
      if ((!fraction && !Number.isInteger(n)) || !(n >= min) || (max !== undefined && n > max)) {
        throw new UnitError(`must be ${what} (got ${showValue(v)})`);
      }
      return n;
    },
  });
}

/** A string matching `pattern`, else `message`. */
function matching(pattern: RegExp, message: (s: string) => string) {
  return checkedString('a string', pattern, (s) => {
    if (!pattern.test(s)) throw new UnitError(message(s));
  });
}

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
  weight: numeric(0, 1000)
    .prefault(DEFAULTS.weight)
    .describe('Relative share of requests, 0-1000; 0 = never picked (kept for draining)'),
});

/** One upstream: a URL string, or `{ url, weight }`. */
export const upstreamSchema = z.union([upstreamUrl, upstreamObjectSchema], { error: expected('a URL or a mapping with url and weight') });

const timeoutKeys = {
  connect: duration(true).describe('TCP (and TLS) connect to an upstream'),
  response: duration(true).describe('Per try: request sent -> response headers received'),
  idle: duration().describe('Max silence while streaming a response body; 0 = off'),
  keepAlive: duration(true).describe(
    "Idle pooled upstream connections are closed after this; keep it below the upstream's keep-alive timeout (Node's default is 5s)",
  ),
};

/** `pools.*.healthCheck`: active checks. */
export const healthCheckSchema = z.strictObject({
  path: matching(/^\/\S*$/, (s) => `must be a path starting with / (got ${showValue(s)})`)
    .prefault(DEFAULTS.healthCheck.path)
    .describe('Path of the GET request sent to each upstream'),
  interval: duration(true).prefault(DEFAULTS.healthCheck.interval).describe('Time between checks of one upstream'),
  timeout: duration(true).prefault(DEFAULTS.healthCheck.timeout).describe('Time allowed for one check; must be shorter than interval'),
  unhealthyThreshold: numeric(1).prefault(DEFAULTS.healthCheck.unhealthyThreshold).describe('Consecutive failures that mark an upstream down'),
  healthyThreshold: numeric(1).prefault(DEFAULTS.healthCheck.healthyThreshold).describe('Consecutive successes that mark it up again'),
  expectStatus: expectStatus.prefault(DEFAULTS.healthCheck.expectStatus).describe('Healthy statuses: a code, a range, or a list of them'),
  initialState: z.enum(['up', 'down']).prefault(DEFAULTS.healthCheck.initialState).describe('State of an upstream before its first check'),
}).describe('Active health checks; absent = none');

/** `pools.*.passive`: ejection on live-traffic failures. */
export const passiveSchema = z.strictObject({
  consecutiveFailures: numeric(0)
    .prefault(DEFAULTS.passive.consecutiveFailures)
    .describe('Consecutive failures (resets, timeouts, 502/503/504) that eject an upstream; 0 = never eject'),
  baseEjectionTime: duration(true).prefault(DEFAULTS.passive.baseEjectionTime).describe('Ejection time = this x times ejected'),
  maxEjectionTime: duration(true).prefault(DEFAULTS.passive.maxEjectionTime).describe('Upper bound of the ejection time'),
  maxEjectionPercent: percent().prefault(DEFAULTS.passive.maxEjectionPercent).describe('Ejection never takes out more than this share of the pool'),
}).describe('Passive health: eject upstreams that fail live traffic');

/** `pools.*.retry.backoff`. */
export const backoffSchema = z.strictObject({
  base: duration().prefault(DEFAULTS.retry.backoff.base).describe('Full-jitter backoff base'),
  max: duration().prefault(DEFAULTS.retry.backoff.max).describe('Full-jitter backoff cap'),
}).describe('Backoff between tries: random(0, min(max, base x 2^n))');

/** `pools.*.retry`. */
export const retrySchema = z.strictObject({
  attempts: numeric(1, 10).prefault(DEFAULTS.retry.attempts).describe('Total tries per request, including the first; 1 = no retry'),
  perTryTimeout: duration(true).optional().describe("Response timeout of each try; defaults to the pool's timeouts.response"),
  budget: percent().prefault(DEFAULTS.retry.budget).describe("Retries may add at most this share of the pool's requests"),
  budgetMinPerSecond: numeric(0, undefined, true)
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
  maxConnectionsPerUpstream: numeric(1).prefault(DEFAULTS.maxConnectionsPerUpstream).describe('Max open connections per upstream'),
  ewmaDecay: duration(true).prefault(DEFAULTS.ewmaDecay).describe('EWMA balancer: decay time of the latency estimate'),
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
  headersTimeout: duration(true).prefault(DEFAULTS.server.headersTimeout).describe('Time allowed for a client to send all request headers'),
  requestTimeout: duration().prefault(DEFAULTS.server.requestTimeout).describe('Time allowed for a whole client request; 0 = off'),
  keepAliveTimeout: duration(true).prefault(DEFAULTS.server.keepAliveTimeout).describe('Idle time of a client keep-alive connection'),
  maxHeaderSize: size(true).prefault(DEFAULTS.server.maxHeaderSize).describe('Max bytes of request headers'),
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
const poolName = z.string().regex(POOL_NAME_PATTERN);

/** The whole config file. Parse with {@link validateRaw} to get operator-facing issues. */
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

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

/** Messages for issues no schema-level `error` handled: the operator-facing wording of zod's codes. */
const issueMessage: ErrorFn = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const name = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (issue.input === null && (issue.expected === 'object' || issue.expected === 'record')) {
        return 'is empty (write {} to use the defaults, or remove the key)';
      }
      return `must be ${name} (got ${showValue(issue.input)})`;
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const hint = typeof issue.input === 'string' ? suggestion(issue.input, values) : '';
      return `must be one of ${values.join(', ')}${hint}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return `must have at least ${min} ${min === 1 ? 'item' : 'items'}`;
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${min} characters long`;
      return `must be at least ${min}`;
    }
    case 'too_big':
      return `must be at most ${Number(issue.maximum)}`;
    case 'unrecognized_keys':
      return `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    default:
      return undefined;
  }
};

/**
 * The keys of the object schema at `path` (through optional, default, array, record, union and
 * pipe wrappers), for "did you mean" hints on unknown keys. Undefined when no object is there.
 */
export function knownKeysAt(schema: z.ZodType, path: KeyPath): readonly string[] | undefined {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return knownKeysAt(schema.unwrap() as z.ZodType, path);
  }
  if (schema instanceof z.ZodPipe) return knownKeysAt(schema.in as z.ZodType, path);
  if (schema instanceof z.ZodUnion) {
    for (const option of schema.options as readonly z.ZodType[]) {
      const keys = knownKeysAt(option, path);
      if (keys !== undefined) return keys;
    }
    return undefined;
  }
  const [head, ...rest] = path;
  if (schema instanceof z.ZodObject) {
    if (head === undefined) return Object.keys(schema.shape);
    const child = typeof head === 'string' ? (schema.shape as Record<string, z.ZodType | undefined>)[head] : undefined;
    return child === undefined ? undefined : knownKeysAt(child, rest);
  }
  if (head === undefined) return undefined;
  if (schema instanceof z.ZodArray && typeof head === 'number') return knownKeysAt(schema.element as z.ZodType, rest);
  if (schema instanceof z.ZodRecord) return knownKeysAt(schema.valueType as z.ZodType, rest);
  return undefined;
}

/** True when a union branch failed only because the value has another type altogether. */
function isTypeMismatch(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.length === 1 && branch[0]?.path.length === 0 && branch[0].code === 'invalid_type';
}

/**
 * zod issues → PathIssues. A union whose branches all but one failed on the value's type is
 * replaced by that branch's own issues (so `{ url: 1 }` reports `url`, not "invalid input").
 * Unknown keys become one issue per key, located at the key, with a "did you mean" hint.
 */
export function schemaIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix: KeyPath = []): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'invalid_union') {
      const relevant = issue.errors.filter((branch) => !isTypeMismatch(branch));
      const only = relevant.length === 1 ? relevant[0] : undefined;
      if (only !== undefined) {
        out.push(...schemaIssues(schema, only, path));
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, path) ?? [];
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key '${key}'${suggestion(key, known)}`, at: 'key' });
      continue;
    }
    if (path.length === 0 && issue.code === 'invalid_type') {
      const input = (issue as { input?: unknown }).input;
      const message =
        input === null || input === undefined
          ? 'the config is empty (it needs at least listen and pools)'
          : `the config must be a mapping of keys (got ${showValue(input)})`;
      out.push({ path, message });
      continue;
    }
    out.push(issue.code === 'invalid_key' ? { path, message: issue.message, at: 'key' } : { path, message: issue.message });
  }
  return out;
}

/** Result of {@link validateRaw}: the typed config, or every schema issue. */
export type RawResult = { readonly ok: true; readonly config: RawConfig } | { readonly ok: false; readonly issues: PathIssue[] };

const PARSE_OPTIONS = { error: issueMessage, reportInput: true } as const;

/** Validates an expanded config object against {@link configSchema}, collecting every issue. */
export function validateRaw(input: unknown): RawResult {
  const result = configSchema.safeParse(input, PARSE_OPTIONS);
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, issues: [...schemaIssues(configSchema, result.error.issues), ...misnamedPoolIssues(input)] };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * zod does not look at the value of a record entry whose key is invalid, so a pool with a bad
 * name would hide its own problems until the name is fixed: judge those pools here.
 */
function misnamedPoolIssues(input: unknown): PathIssue[] {
  const pools = isRecord(input) ? input['pools'] : undefined;
  if (!isRecord(pools)) return [];
  const out: PathIssue[] = [];
  for (const [name, pool] of Object.entries(pools)) {
    if (POOL_NAME_PATTERN.test(name)) continue;
    const result = poolSchema.safeParse(pool, PARSE_OPTIONS);
    if (!result.success) out.push(...schemaIssues(configSchema, result.error.issues, ['pools', name]));
  }
  return out;
}

/** Parses `input` with a part of the config schema (for checks.ts); undefined when that part is invalid. */
export function parsePart<T extends z.ZodType>(part: T, input: unknown): z.output<T> | undefined {
  const result = part.safeParse(input);
  return result.success ? result.data : undefined;
}

/**
 * Some keys of a mapping, each parsed by `schema`'s own rule for it, defaults filled in (for
 * checks.ts: a rule is judged as soon as the keys it reads are valid, whatever their siblings
 * are). Undefined when `input` is not a mapping, when one of the keys has an invalid value, or
 * when one is absent while the mapping has an unknown key: that may be the key misspelled, and
 * its default would be a guess.
 */
export function parseFields<S extends z.ZodObject, K extends keyof S['shape'] & string>(
  schema: S,
  input: unknown,
  keys: readonly K[],
): { [P in K]: z.output<S['shape'][P]> } | undefined {
  if (!isRecord(input)) return undefined;
  const shape = schema.shape as Record<string, z.ZodType>;
  const hasUnknownKey = Object.keys(input).some((k) => !Object.hasOwn(shape, k));
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!Object.hasOwn(input, key) && hasUnknownKey) return undefined;
    const field = shape[key];
    const result = field?.safeParse(Object.hasOwn(input, key) ? input[key] : undefined);
    if (!result?.success) return undefined;
    out[key] = result.data;
  }
  return out as { [P in K]: z.output<S['shape'][P]> };
}

const ENV_REFERENCE = '\\$\\{';

/**
 * Widens every string pattern of the JSON Schema to also accept `${VAR}` references: editors
 * see the file before expansion, zod sees it after, and only zod can judge the expanded value.
 */
function allowEnvReferences(node: Record<string, unknown>): void {
  const pattern = node['pattern'];
  // The same node can be visited more than once when a schema is reused: widen it only once.
  if (typeof pattern === 'string' && !pattern.endsWith(ENV_REFERENCE)) node['pattern'] = `(?:${pattern})|${ENV_REFERENCE}`;
}

/** The JSON Schema shipped as config/fairway.schema.json, for editor completion and checks (draft-07, the draft editors support best). */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-07',
    override: (ctx) => {
      if (ctx.zodSchema !== poolName) allowEnvReferences(ctx.jsonSchema as Record<string, unknown>);
    },
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: 'urn:fairway:config',
    title: 'Fairway configuration',
    description:
      'fairway.yaml: listeners, pools of upstreams, health checks, retries and routes. Durations: 250ms, 5s, 1m (bare number = ms). Sizes: 16kb, 10mb (bare number = bytes). ${VAR} and ${VAR:-default} are replaced from the environment.',
    ...rest,
  };
}

/** {@link configJsonSchema} as the exact text of config/fairway.schema.json (2-space JSON, final newline). */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
