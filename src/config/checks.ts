// Rules that span several keys: routes name existing pools and are all reachable, upstream
// origins are unique per pool, timeouts are ordered, listeners do not collide. Each rule reads
// only the keys it needs, each one parsed on its own, so it reports alongside schema issues
// elsewhere (even next to it in the same mapping) instead of waiting for them to be fixed.

import { isIPv4 } from 'node:net';
import { formatKeyPath, suggestion, type KeyPath, type PathIssue } from './errors.ts';
import { isRecord, parseFields, parsePart } from './partial.ts';
import {
  DEFAULTS,
  adminSchema,
  backoffSchema,
  healthCheckSchema,
  listenAddressSchema,
  passiveSchema,
  routeSchema,
  serverSchema,
  upstreamObjectSchema,
  upstreamSchema,
} from './schema.ts';
import type { HostPort } from './types.ts';
import { parseDuration, parseListen, parseUpstreamUrl } from './units.ts';

/** Milliseconds of a duration the schema already accepted. */
const ms = (v: string | number): number => parseDuration(v);

/**
 * Every cross-field problem of an expanded raw config. A rule whose keys fail the schema is
 * skipped (the schema reports them), so no problem is reported twice.
 */
export function crossCheck(raw: unknown): PathIssue[] {
  const issues: PathIssue[] = [];
  if (!isRecord(raw)) return issues;
  const pools = isRecord(raw['pools']) ? raw['pools'] : undefined;
  if (pools) for (const [name, pool] of Object.entries(pools)) if (isRecord(pool)) checkPool(['pools', name], pool, issues);
  checkRoutes(raw['routes'], pools === undefined ? undefined : Object.keys(pools), issues);
  checkListeners(raw, issues);
  checkServer(raw['server'], issues);
  return issues;
}

/** Node's HTTP server refuses to start when headersTimeout exceeds a non-zero requestTimeout. */
function checkServer(rawServer: unknown, issues: PathIssue[]): void {
  const server = parseFields(serverSchema.unwrap(), rawServer ?? {}, ['headersTimeout', 'requestTimeout']);
  if (server === undefined) return;
  const requestMs = ms(server.requestTimeout);
  if (requestMs === 0 || ms(server.headersTimeout) <= requestMs) return;
  issues.push(
    isRecord(rawServer) && Object.hasOwn(rawServer, 'headersTimeout')
      ? { path: ['server', 'headersTimeout'], message: `must not exceed requestTimeout (${server.requestTimeout})` }
      : { path: ['server', 'requestTimeout'], message: `must be 0 (off) or at least headersTimeout (${server.headersTimeout} by default)` },
  );
}

function checkPool(path: KeyPath, pool: Record<string, unknown>, issues: PathIssue[]): void {
  const upstreams = pool['upstreams'];
  if (Array.isArray(upstreams)) {
    const seen = new Map<string, number>();
    upstreams.forEach((item: unknown, i) => {
      // Only the URL matters here: a mapping with a bad weight or an unknown key still has one.
      const url = isRecord(item) ? parseFields(upstreamObjectSchema, item, ['url'])?.url : parsePart(upstreamSchema, item);
      if (typeof url !== 'string') return;
      const { origin } = parseUpstreamUrl(url);
      const first = seen.get(origin);
      const at = isRecord(item) ? [...path, 'upstreams', i, 'url'] : [...path, 'upstreams', i];
      if (first === undefined) seen.set(origin, i);
      else issues.push({ path: at, message: `duplicate upstream ${origin} (same as upstreams[${first}])` });
    });
  }

  const rawHealth = pool['healthCheck'];
  const health = isRecord(rawHealth) ? parseFields(healthCheckSchema, rawHealth, ['interval', 'timeout']) : undefined;
  if (health && isRecord(rawHealth) && ms(health.timeout) >= ms(health.interval)) {
    issues.push(
      Object.hasOwn(rawHealth, 'timeout')
        ? { path: [...path, 'healthCheck', 'timeout'], message: `must be shorter than interval (${health.interval})` }
        : { path: [...path, 'healthCheck', 'interval'], message: `must be longer than timeout (${health.timeout} by default)` },
    );
  }

  const rawPassive = pool['passive'];
  const passive = parseFields(passiveSchema, rawPassive ?? {}, ['baseEjectionTime', 'maxEjectionTime']);
  if (passive && ms(passive.baseEjectionTime) > ms(passive.maxEjectionTime)) {
    const explicit = isRecord(rawPassive) && Object.hasOwn(rawPassive, 'baseEjectionTime');
    issues.push(
      explicit
        ? { path: [...path, 'passive', 'baseEjectionTime'], message: `must not exceed maxEjectionTime (${passive.maxEjectionTime})` }
        : { path: [...path, 'passive', 'maxEjectionTime'], message: `must not be below baseEjectionTime (${passive.baseEjectionTime} by default)` },
    );
  }

  const rawRetry = pool['retry'];
  const rawBackoff = isRecord(rawRetry) ? rawRetry['backoff'] : undefined;
  const backoff = parseFields(backoffSchema, rawBackoff ?? {}, ['base', 'max']);
  if (backoff && ms(backoff.base) > ms(backoff.max)) {
    const explicit = isRecord(rawBackoff) && Object.hasOwn(rawBackoff, 'base');
    issues.push(
      explicit
        ? { path: [...path, 'retry', 'backoff', 'base'], message: `must not exceed backoff.max (${backoff.max})` }
        : { path: [...path, 'retry', 'backoff', 'max'], message: `must not be below backoff.base (${backoff.base} by default)` },
    );
  }
}

interface Match {
  readonly host: string | null;
  readonly pathPrefix: string | null;
}

/** True when every request `later` matches is already taken by `earlier` (first match wins). */
function shadows(earlier: Match, later: Match): boolean {
  return hostCovers(earlier.host, later.host) && prefixCovers(earlier.pathPrefix, later.pathPrefix);
}

function hostCovers(earlier: string | null, later: string | null): boolean {
  if (earlier === null || earlier === later) return true;
  if (later === null) return false;
  // "*.example.com" surely takes "api.example.com" (one label more); deeper names and
  // wildcard-versus-wildcard depend on the router's rules, so they are not judged here.
  if (earlier.startsWith('*.') && !later.startsWith('*.')) {
    const suffix = earlier.slice(1);
    return later.endsWith(suffix) && !later.slice(0, -suffix.length).includes('.') && later.length > suffix.length;
  }
  return false;
}

function prefixCovers(earlier: string | null, later: string | null): boolean {
  if (earlier === null || earlier === later) return true;
  if (later === null || !later.startsWith(earlier)) return false;
  // Covered whether the router compares raw prefixes or whole path segments.
  return earlier.endsWith('/') || later[earlier.length] === '/';
}

function describeMatch(m: Match): string {
  if (m.host === null && m.pathPrefix === null) return 'has no match and takes every request';
  const parts = [m.host === null ? null : `host ${m.host}`, m.pathPrefix === null ? null : `pathPrefix ${m.pathPrefix}`];
  return `(${parts.filter((p) => p !== null).join(', ')}) takes every request this route matches`;
}

function checkRoutes(rawRoutes: unknown, poolNames: readonly string[] | undefined, issues: PathIssue[]): void {
  if (rawRoutes === undefined) {
    if (poolNames !== undefined && poolNames.length > 1) {
      issues.push({
        path: ['routes'],
        message: `required when more than one pool is defined (pools: ${poolNames.join(', ')}); add a route without match as the default`,
      });
    }
    return;
  }
  if (!Array.isArray(rawRoutes)) return;
  const earlier: { index: number; match: Match }[] = [];
  rawRoutes.forEach((item: unknown, i) => {
    if (!isRecord(item)) return;
    // With no pools at all, that is the one problem to report (the schema does).
    const pool = parseFields(routeSchema, item, ['pool'])?.pool;
    if (pool !== undefined && poolNames !== undefined && poolNames.length > 0 && !poolNames.includes(pool)) {
      const hint = suggestion(pool, poolNames) || ` (pools: ${poolNames.join(', ')})`;
      issues.push({ path: ['routes', i, 'pool'], message: `unknown pool '${pool}'${hint}` });
    }
    // The match is known when it is valid (or absent, with no unknown key that could be it
    // misspelled). A route whose match is not known is still unreachable after a catch-all.
    const known = parseFields(routeSchema, item, ['match']);
    const match: Match | undefined = known && { host: known.match?.host?.toLowerCase() ?? null, pathPrefix: known.match?.pathPrefix ?? null };
    const shadow = earlier.find((e) => (match === undefined ? e.match.host === null && e.match.pathPrefix === null : shadows(e.match, match)));
    if (shadow) {
      issues.push({
        path: ['routes', i],
        message: `unreachable: ${formatKeyPath(['routes', shadow.index])} ${describeMatch(shadow.match)}; put more specific routes first`,
      });
    }
    if (match !== undefined) earlier.push({ index: i, match });
  });
}

/**
 * Same port and overlapping hosts, so the second bind would fail with EADDRINUSE: the same
 * host, `::` (dual-stack, takes IPv4 too) against anything, or 0.0.0.0 against an IPv4 address.
 * Port 0 never collides; host names are compared as written.
 */
function collides(a: HostPort, b: HostPort): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  if (a.host === b.host || a.host === '::' || b.host === '::') return true;
  return (a.host === '0.0.0.0' && isIPv4(b.host)) || (b.host === '0.0.0.0' && isIPv4(a.host));
}

/** Each address of `listen` parsed on its own (undefined where invalid), at its index. */
function listenAddresses(rawListen: unknown): (HostPort | undefined)[] {
  if (rawListen === undefined) return [];
  return (Array.isArray(rawListen) ? rawListen : [rawListen]).map((item: unknown) => {
    const s = parsePart(listenAddressSchema, item);
    return s === undefined ? undefined : parseListen(s);
  });
}

function checkListeners(raw: Record<string, unknown>, issues: PathIssue[]): void {
  const addresses = listenAddresses(raw['listen']);
  const list = Array.isArray(raw['listen']);
  addresses.forEach((a, i) => {
    if (a === undefined) return;
    const first = addresses.findIndex((b) => b !== undefined && collides(a, b));
    if (first !== -1 && first < i) issues.push({ path: ['listen', i], message: `${a.host}:${a.port} collides with listen[${first}]` });
  });
  const admin = raw['admin'] === undefined ? undefined : parseFields(adminSchema, raw['admin'], ['listen']);
  if (admin === undefined) return;
  const adminAddress = parseListen(admin.listen);
  const clash = addresses.findIndex((a) => a !== undefined && collides(a, adminAddress));
  if (clash !== -1) {
    const other = list ? `listen[${clash}]` : 'listen';
    const defaulted = isRecord(raw['admin']) && !Object.hasOwn(raw['admin'], 'listen') ? ` (the default ${DEFAULTS.adminListen})` : '';
    issues.push({ path: ['admin', 'listen'], message: `${admin.listen}${defaulted} collides with ${other}; the admin server needs its own port` });
  }
}
