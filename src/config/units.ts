// Parsers for the config's value syntaxes: durations, sizes, percentages, status sets, listen
// addresses, upstream URLs, hash keys, load factors and DNS servers. Pure: each returns a value
// or throws a UnitError whose message is shown to the operator as is. Where a value sits in the
// file is load.ts's business.

import { isIPv4, isIPv6 } from 'node:net';
import { didYouMean } from './errors.ts';
import type { HostPort, StatusSet } from './types.ts';

/** A value that does not parse. `message` is operator-facing and names the bad value. */
export class UnitError extends Error {
  override readonly name = 'UnitError';
}

/** Node timers overflow above 2^31-1 ms (about 24.8 days) and then fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * A duration string: one or more `<number><unit>` parts (`250ms`, `5s`, `1.5s`, `1m30s`, `1h`),
 * or a bare number of milliseconds. Exported for the JSON Schema, which must agree with
 * {@link parseDuration}.
 */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/;

/** A size string: a number with an optional unit b, k/kb, m/mb, g/gb (any case; 1 kb = 1024 bytes). */
export const SIZE_PATTERN = /^\d+(?:\.\d+)?\s*(?:[bB]|[kKmMgG](?:[iI]?[bB])?)?$/;

/** A percentage: `20%`, `12.5%`, or a bare number. */
export const PERCENT_PATTERN = /^\d+(?:\.\d+)?%?$/;

/** One status item or a comma-separated list of them: `200`, `200-399`, `200, 204`. */
export const STATUS_PATTERN = /^\s*\d{3}(?:\s*-\s*\d{3})?(?:\s*,\s*\d{3}(?:\s*-\s*\d{3})?)*\s*$/;

/** What a listen address looks like: `host:port`, `:port` or `[ipv6]:port`. The port range is checked by {@link parseListen}. */
export const LISTEN_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Renders a bad value for a message: strings quoted, everything else as JSON. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

/**
 * Parses a duration to whole milliseconds (rounded). `"250ms"`, `"5s"`, `"1.5s"`, `"1m"`,
 * `"1h"`, `"1m30s"`; a bare number (or numeric string) means milliseconds.
 * @throws UnitError when malformed, negative, or longer than a Node timer can wait.
 */
export function parseDuration(s: string | number): number {
  let ms: number;
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0) throw new UnitError(`invalid duration ${s} (must be a non-negative number of milliseconds)`);
    ms = s;
  } else if (typeof s === 'string' && DURATION_PATTERN.test(s)) {
    ms = 0;
    if (/^\d+(?:\.\d+)?$/.test(s)) ms = Number(s);
    else for (const part of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? ''] ?? 0);
  } else {
    throw new UnitError(`invalid duration ${showValue(s)} (use e.g. 250ms, 5s, 1m)`);
  }
  ms = Math.round(ms);
  if (ms > MAX_DURATION_MS) throw new UnitError(`duration ${showValue(s)} is too long (at most 24 days, the limit of Node timers)`);
  return ms;
}

/**
 * Parses a size to whole bytes (rounded). `"512b"`, `"16kb"`, `"10mb"`, `"1gb"`; `k`, `m`, `g`
 * and `kib`, `mib`, `gib` are accepted too, in any case; 1 kb = 1024 bytes. A bare number
 * (or numeric string) means bytes.
 * @throws UnitError when malformed or negative.
 */
export function parseSize(s: string | number): number {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0) throw new UnitError(`invalid size ${s} (must be a non-negative number of bytes)`);
    return Math.round(s);
  }
  const m = typeof s === 'string' && SIZE_PATTERN.test(s) ? /^([\d.]+)\s*([a-z]?)/.exec(s.toLowerCase()) : null;
  const factor = m ? SIZE_UNITS[m[2] ?? ''] : undefined;
  if (!m || factor === undefined) throw new UnitError(`invalid size ${showValue(s)} (use e.g. 512b, 16kb, 10mb, 1gb)`);
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`size ${showValue(s)} is too large`);
  return bytes;
}

/**
 * Parses a percentage in 0–100: `"20%"`, `"12.5%"`, `20` or `"20"`.
 * @throws UnitError when malformed or out of range.
 */
export function parsePercent(s: string | number): number {
  let n: number;
  if (typeof s === 'number') n = s;
  else if (typeof s === 'string' && PERCENT_PATTERN.test(s)) n = Number(s.replace(/%$/, ''));
  else throw new UnitError(`invalid percentage ${showValue(s)} (use e.g. 20%)`);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new UnitError(`percentage ${showValue(s)} must be between 0% and 100%`);
  return n;
}

/**
 * Parses HTTP status codes into inclusive ranges, in the order written: `200` → [[200,200]],
 * `"200-399"` → [[200,399]], `"200, 204"` → [[200,200],[204,204]], or a list of any of those.
 * Every code must be within 100–599.
 * @throws UnitError on a malformed item, an out-of-range code, a reversed range or an empty list.
 */
export function parseStatusSet(v: number | string | readonly (number | string)[]): StatusSet {
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) throw new UnitError('must list at least one status (e.g. 200-399)');
  const ranges: (readonly [number, number])[] = [];
  for (const item of items as readonly unknown[]) {
    const parts = typeof item === 'number' ? [String(item)] : typeof item === 'string' ? item.split(',') : null;
    if (!parts) throw new UnitError(`invalid status ${showValue(item)} (use a code like 200, a range like 200-399, or a list of them)`);
    for (const part of parts) {
      const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part);
      if (!m) throw new UnitError(`invalid status ${showValue(typeof item === 'number' ? item : part.trim())} (use a code like 200, a range like 200-399, or a list of them)`);
      const lo = Number(m[1]);
      const hi = m[2] === undefined ? lo : Number(m[2]);
      for (const code of [lo, hi]) {
        if (code < 100 || code > 599) throw new UnitError(`status ${code} is outside 100-599`);
      }
      if (hi < lo) throw new UnitError(`status range ${lo}-${hi} is reversed (write ${hi}-${lo})`);
      ranges.push(Object.freeze([lo, hi] as const));
    }
  }
  return Object.freeze(ranges);
}

/**
 * Parses a listen address: `"host:port"`, `":port"` (all IPv4 interfaces, host `0.0.0.0`) or
 * `"[ipv6]:port"` (host without brackets). Port 0–65535; 0 asks the OS for a free port.
 * @throws UnitError when malformed or the port is out of range.
 */
export function parseListen(s: string): HostPort {
  const bad = (why: string): UnitError =>
    new UnitError(`invalid listen address ${showValue(s)}${why} (use "host:port", ":port" or "[::1]:port")`);
  if (typeof s !== 'string') throw bad('');
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(s);
  if (!m) {
    if (/^[^:]*$/.test(s) && s !== '') throw bad(': missing port');
    if (/^[0-9A-Fa-f:]+:\d+$/.test(s) && s.split(':').length > 2) throw bad(': put an IPv6 address in brackets');
    throw bad('');
  }
  const v6 = m[1];
  const host = v6 ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? ''));
  if (v6 !== undefined && !isIPv6(v6)) throw bad(`: '${v6}' is not an IPv6 address`);
  if (v6 === undefined && !isIPv4(host) && !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw bad(`: '${host}' is not a host name or IP address`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new UnitError(`invalid listen address ${showValue(s)}: port ${port} is out of range 0-65535`);
  return Object.freeze({ host, port });
}

/** An upstream URL reduced to what the proxy needs. */
export interface UpstreamUrl {
  /** The URL as written, trimmed, trailing slash removed. */
  readonly url: string;
  /** `scheme://host:port` with the host lower-cased and the port always explicit: the upstream's identity. */
  readonly origin: string;
}

/**
 * Parses an upstream URL: `http://` or `https://`, a host, an optional port (default from the
 * scheme), and nothing else: no path other than `/`, no query, fragment or credentials
 * (Fairway forwards each request's own path).
 * @throws UnitError naming what is wrong.
 */
export function parseUpstreamUrl(s: string): UpstreamUrl {
  const example = '(e.g. http://127.0.0.1:3000)';
  if (typeof s !== 'string' || s.trim() === '') throw new UnitError(`invalid URL ${showValue(s)} ${example}`);
  const written = s.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(written)) throw new UnitError(`URL ${showValue(s)} must start with http:// or https://`);
  let u: URL;
  try {
    u = new URL(written);
  } catch {
    throw new UnitError(`invalid URL ${showValue(s)} ${example}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UnitError(`URL ${showValue(s)} must start with http:// or https://`);
  }
  if (u.hostname === '') throw new UnitError(`URL ${showValue(s)} has no host ${example}`);
  if (u.username !== '' || u.password !== '') throw new UnitError(`URL ${showValue(s)} must not contain credentials (user:password@)`);
  if (u.pathname !== '/') throw new UnitError(`URL ${showValue(s)} must not have a path (${u.pathname}); each request's own path is forwarded`);
  if (u.search !== '' || u.hash !== '' || /[?#]/.test(written)) throw new UnitError(`URL ${showValue(s)} must not have a query or fragment`);
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  return Object.freeze({ url: written.replace(/\/$/, ''), origin: `${u.protocol}//${u.hostname}:${port}` });
}

/** An HTTP token (RFC 9110 §5.6.2): what a header name, cookie name or hash key name must be. */
export const TOKEN_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Where a consistent-hash pool takes each request's key from. */
export interface HashKey {
  readonly source: 'header' | 'cookie' | 'query' | 'client-ip' | 'path';
  /** Header name (lower-cased), cookie or query parameter name (as written); null for client-ip and path. */
  readonly name: string | null;
}

/** What a hash key looks like; the name's syntax is checked by {@link parseHashKey}. */
export const HASH_KEY_PATTERN = /^(?:(?:header|cookie|query):\S+|client-ip|path)$/;

const NAMED_HASH_SOURCES = ['header', 'cookie', 'query'] as const;
const HASH_KEY_FORMS = 'header:NAME, cookie:NAME, query:NAME, client-ip or path';

/**
 * Parses a consistent-hash key: `header:NAME` (name lower-cased: header names are
 * case-insensitive), `cookie:NAME`, `query:NAME` (names as written), `client-ip` or `path`.
 * NAME must be an HTTP token.
 * @throws UnitError naming what is wrong, with a hint for a misspelled source.
 */
export function parseHashKey(s: string): HashKey {
  if (s === 'client-ip' || s === 'path') return Object.freeze({ source: s, name: null });
  const colon = s.indexOf(':');
  const source = colon === -1 ? s : s.slice(0, colon);
  const name = colon === -1 ? '' : s.slice(colon + 1);
  const known = NAMED_HASH_SOURCES.find((k) => k === source);
  if (known === undefined) {
    const close = didYouMean(source, [...NAMED_HASH_SOURCES, 'client-ip', 'path']);
    const named = close !== undefined && colon !== -1 && NAMED_HASH_SOURCES.some((k) => k === close);
    const hint = close === undefined ? '' : ` (did you mean '${named ? `${close}:${name}` : close}'?)`;
    throw new UnitError(`invalid hash key ${showValue(s)}: use ${HASH_KEY_FORMS}${hint}`);
  }
  if (name === '') throw new UnitError(`hash key ${showValue(s)} needs a name after '${known}:' (e.g. ${known}:x-user-id)`);
  if (!TOKEN_PATTERN.test(name)) throw new UnitError(`hash key ${showValue(s)}: ${showValue(name)} is not a valid ${known} name (letters, digits and !#$%&'*+-.^_\`|~ only)`);
  return Object.freeze({ source: known, name: known === 'header' ? name.toLowerCase() : name });
}

/** A bounded-load factor: a percentage of 100 or more, or `off`. */
export const LOAD_FACTOR_PATTERN = /^(?:off|\d+(?:\.\d+)?%?)$/;

/**
 * Parses a consistent-hash load factor: `125%` (or 125) → 1.25; `off` → null. Below 100% no
 * upstream could ever take its share, so that is an error (a factor written 1.25 gets a hint).
 * @throws UnitError when malformed or below 100%.
 */
export function parseLoadFactor(v: string | number): number | null {
  if (v === 'off') return null;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\d+(?:\.\d+)?%?$/.test(v)) n = Number(v.replace(/%$/, ''));
  else throw new UnitError(`invalid load factor ${showValue(v)} (use a percentage like 125%, or off)`);
  if (!Number.isFinite(n) || n < 100) {
    const hint = n >= 1 && n < 10 ? ` (write ${Math.round(n * 100)}% for ${n} times the mean)` : '';
    throw new UnitError(`load factor ${showValue(v)} must be at least 100%${hint}`);
  }
  return n / 100;
}

/** What a DNS server address looks like: an IP literal with an optional port. */
export const DNS_SERVER_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\](?::\d{1,5})?|[0-9A-Fa-f:.]+)$/;

/** The port of a DNS server written without one. */
export const DNS_PORT = 53;

/**
 * Parses a DNS server address: `10.0.0.2`, `10.0.0.2:5353`, `::1`, `[::1]` or `[::1]:5353`,
 * normalized as `host:port` with IPv6 in brackets (`[::1]:53`), the form
 * `dns.Resolver.setServers` takes. A host name is refused: a resolver is reached by address.
 * @throws UnitError naming what is wrong.
 */
export function parseDnsServer(s: string): string {
  const bad = (why: string): UnitError => new UnitError(`invalid DNS server ${showValue(s)}: ${why} (use e.g. 10.0.0.2, 10.0.0.2:5353 or [::1]:53)`);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (!isIPv6(host)) throw bad(`'${host}' is not an IPv6 address`);
  } else if (isIPv6(s)) {
    host = s;
  } else {
    const m = /^([^:]*)(?::(\d+))?$/.exec(s);
    host = m?.[1] ?? s;
    portText = m?.[2];
    if (m === null || !isIPv4(host)) throw bad(host.includes(':') ? 'put an IPv6 address in brackets to give a port' : 'must be an IP address');
  }
  const port = portText === undefined ? DNS_PORT : Number(portText);
  if (!(port >= 1 && port <= 65535)) throw bad(`port ${portText ?? ''} is out of range 1-65535`);
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
