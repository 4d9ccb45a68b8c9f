// Rules that span several keys: upstream origins are unique per pool, timeouts are ordered,
// the hash key goes with consistent-hash, upstream TLS has https:// upstreams and both halves
// of a client certificate, `resolve` has a name to resolve, listeners do not collide, and the
// admin server fails closed off loopback. Route rules are in route-checks.ts. Each rule reads
// only the keys it needs, each one parsed on its own, so it reports alongside schema issues
// elsewhere (even next to it in the same mapping) instead of waiting for them to be fixed.

import { BlockList, isIP, isIPv4 } from 'node:net';
import { DEFAULTS } from './defaults.ts';
import type { KeyPath, PathIssue } from './errors.ts';
import { isRecord, parseFields, parsePart } from './partial.ts';
import { backoffSchema, healthCheckSchema, passiveSchema, poolSchema, upstreamObjectSchema, upstreamSchema, upstreamTlsSchema } from './pool-schema.ts';
import { checkRoutes } from './route-checks.ts';
import { adminSchema, listenAddressSchema, listenObjectSchema, serverSchema } from './schema.ts';
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
  checkAdmin(raw['admin'], issues);
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
  const urls = checkUpstreams(path, pool['upstreams'], issues);
  checkHash(path, pool, issues);
  checkUpstreamTls(path, pool['tls'], urls, issues);

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

/**
 * Duplicate origins, and `resolve` on an IP address. Returns each upstream's URL (undefined
 * where the schema rejects it), or undefined when `upstreams` is not a list.
 */
function checkUpstreams(path: KeyPath, upstreams: unknown, issues: PathIssue[]): (string | undefined)[] | undefined {
  if (!Array.isArray(upstreams)) return undefined;
  const seen = new Map<string, number>();
  return upstreams.map((item: unknown, i) => {
    // Only the URL matters here: a mapping with a bad weight or an unknown key still has one.
    const url = isRecord(item) ? parseFields(upstreamObjectSchema, item, ['url'])?.url : parsePart(upstreamSchema, item);
    if (typeof url !== 'string') return undefined;
    const { origin } = parseUpstreamUrl(url);
    const first = seen.get(origin);
    const at = isRecord(item) ? [...path, 'upstreams', i, 'url'] : [...path, 'upstreams', i];
    if (first === undefined) seen.set(origin, i);
    else issues.push({ path: at, message: `duplicate upstream ${origin} (same as upstreams[${first}])` });
    const resolve = isRecord(item) ? parseFields(upstreamObjectSchema, item, ['resolve'])?.resolve : undefined;
    const host = new URL(url.trim()).hostname.replace(/^\[|\]$/g, '');
    if (resolve !== undefined && isIP(host) !== 0) {
      issues.push({ path: [...path, 'upstreams', i, 'resolve'], message: `only for a URL whose host is a name (${host} is an IP address)` });
    }
    return url;
  });
}

/** `hash` goes with `balancer: consistent-hash`, and that balancer needs it. */
function checkHash(path: KeyPath, pool: Record<string, unknown>, issues: PathIssue[]): void {
  // Undefined when hash is invalid (the schema says why) or absent next to an unknown key (it may be hash misspelled).
  const fields = parseFields(poolSchema, pool, ['balancer', 'hash']);
  if (fields === undefined) return;
  if (fields.balancer === 'consistent-hash' && fields.hash === undefined) {
    issues.push({ path: [...path, 'balancer'], message: 'consistent-hash needs hash.key (e.g. hash: { key: header:x-user-id })' });
  } else if (fields.balancer !== 'consistent-hash' && fields.hash !== undefined) {
    const defaulted = Object.hasOwn(pool, 'balancer') ? '' : ' by default';
    issues.push({ path: [...path, 'hash'], message: `is only used by consistent-hash (this pool's balancer is ${fields.balancer}${defaulted})`, at: 'key' });
  }
}

/** Upstream TLS needs an https:// upstream, and a client certificate needs its key (and back). */
function checkUpstreamTls(path: KeyPath, rawTls: unknown, urls: readonly (string | undefined)[] | undefined, issues: PathIssue[]): void {
  if (!isRecord(rawTls)) return;
  const known = urls?.filter((u) => u !== undefined) ?? [];
  if (urls !== undefined && known.length === urls.length && known.every((u) => !/^https:/i.test(u.trim()))) {
    issues.push({ path: [...path, 'tls'], message: 'has no https:// upstream (tls applies only to https:// upstreams)', at: 'key' });
  }
  const pair = parseFields(upstreamTlsSchema, rawTls, ['cert', 'key']);
  if (pair === undefined || (pair.cert === undefined) === (pair.key === undefined)) return;
  issues.push(
    pair.cert === undefined
      ? { path: [...path, 'tls', 'key'], message: 'needs cert too: mutual TLS takes a client certificate and its key' }
      : { path: [...path, 'tls', 'cert'], message: 'needs key too: mutual TLS takes a client certificate and its key' },
  );
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

/** An address of `listen` parsed on its own, with the path of the address. */
interface ListenAt {
  readonly at: KeyPath;
  readonly address: HostPort | undefined;
}

/** Each entry of `listen` (string or `{ address, tls }`) parsed on its own; undefined where invalid. */
function listenAddresses(rawListen: unknown): ListenAt[] {
  if (rawListen === undefined) return [];
  const list = Array.isArray(rawListen);
  return (list ? rawListen : [rawListen]).map((item: unknown, i): ListenAt => {
    const at: KeyPath = list ? ['listen', i] : ['listen'];
    // Only the address matters here: a mapping with bad tls still binds it.
    if (isRecord(item)) {
      const s = parseFields(listenObjectSchema, item, ['address'])?.address;
      return { at: [...at, 'address'], address: s === undefined ? undefined : parseListen(s) };
    }
    const s = parsePart(listenAddressSchema, item);
    return { at, address: s === undefined ? undefined : parseListen(s) };
  });
}

function checkListeners(raw: Record<string, unknown>, issues: PathIssue[]): void {
  const entries = listenAddresses(raw['listen']);
  const addresses = entries.map((e) => e.address);
  const list = Array.isArray(raw['listen']);
  entries.forEach(({ at, address: a }, i) => {
    if (a === undefined) return;
    const first = addresses.findIndex((b) => b !== undefined && collides(a, b));
    if (first !== -1 && first < i) issues.push({ path: at, message: `${a.host}:${a.port} collides with listen[${first}]` });
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

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (in any spelling, IPv4-mapped included) or `localhost`; every other name is not. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The admin server fails closed: off loopback it needs a token. Only an explicit address can
 * trip this (the default 127.0.0.1:9901 is loopback); with a token present (even one still to be
 * expanded) it passes.
 */
function checkAdmin(rawAdmin: unknown, issues: PathIssue[]): void {
  if (rawAdmin === undefined) return;
  const admin = parseFields(adminSchema, rawAdmin, ['listen', 'token']);
  if (admin === undefined || admin.token !== undefined || isLoopbackHost(parseListen(admin.listen).host)) return;
  issues.push({
    path: ['admin', 'listen'],
    message: `${admin.listen} is not a loopback address, so the admin server needs admin.token (flags-only form: FAIRWAY_ADMIN_TOKEN); or listen on 127.0.0.1 or [::1]`,
  });
}
