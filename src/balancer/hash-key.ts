// The request key of a consistent-hash pool: compiles a HashConfig once into an extractor that
// finds the key (a header, a cookie, a query parameter, the client address or the path) and
// hashes it straight from the request's strings. Pure: no I/O, no state. Which upstream a
// hash goes to is consistent-hash.ts's business.
//
// Choices, and why:
// - The hash: FNV-1a over UTF-16 code units, then murmur3's fmix32 finalizer (FNV-1a alone
//   mixes its low bits poorly for keys that differ in the last character, like user-1, user-2),
//   folded to 30 bits. ~0.75 ns per character on this machine (27 ns for a 36-character UUID;
//   a whole extraction 20–110 ns by source: bench/micro/hash-key.bench.ts); murmur3-style
//   2-units-per-step mixing measured the same. 30 bits, not 32: a value below 2^30 is a Smi in
//   V8, so passing it through calls that are not inlined (pool.pick → balancer.pick) never
//   boxes a number.
// - No allocation beyond what the request already holds: the cookie header and the query
//   string are walked in place (no split, no substring, no URLSearchParams); header names are
//   compared case-insensitively character by character.
// - Values are hashed as sent: no percent-decoding of query values, no unquoting of cookies.
//   An absent or empty value is no key (NO_KEY): such requests are balanced like `random`
//   rather than all landing on one upstream.

import type { HashConfig } from '../config/types.ts';
import { NO_KEY } from './types.ts';

/** Finds and hashes the key of one request: a hash in [0, 2^30), or NO_KEY. */
export type KeyExtractor = (rawHeaders: readonly string[], path: string, clientIp: string) => number;

/** FNV-1a's 32-bit offset basis and prime. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;
/** The IPv4-mapped IPv6 prefix Node reports for IPv4 clients on a dual-stack listener. */
const V4_MAPPED = '::ffff:';
const CHAR_SPACE = 32;
const CHAR_TAB = 9;
const CHAR_EQ = 61; // =
const CHAR_HASH = 35; // #
const CHAR_QUERY = 63; // ?

/**
 * Hash of `s[from, to)` in [0, 2^30): FNV-1a over UTF-16 code units, murmur3 fmix32, top 30
 * bits. NO_KEY when the range is empty. O(to − from), allocates nothing.
 */
export function hashRange(s: string, from: number, to: number): number {
  if (to <= from) return NO_KEY;
  let h = FNV_OFFSET;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix30(h);
}

/** murmur3's fmix32 (full avalanche), keeping the top 30 bits: a Smi in [0, 2^30). O(1). */
export function mix30(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 2;
}

/**
 * Compiles where a consistent-hash pool takes its key from into an extractor, once per pool
 * (off the hot path; allocates the closure). The extractor is O(request headers + the
 * searched string), allocates nothing, and never throws.
 */
export function compileHashKey(cfg: HashConfig): KeyExtractor {
  const name = cfg.name ?? '';
  switch (cfg.source) {
    case 'header': {
      const lower = name.toLowerCase();
      return (raw) => headerKey(raw, lower);
    }
    case 'cookie':
      return (raw) => cookieKey(raw, name);
    case 'query':
      return (_raw, path) => queryKey(path, name);
    case 'client-ip':
      return (_raw, _path, ip) => (ip.startsWith(V4_MAPPED) ? hashRange(ip, V4_MAPPED.length, ip.length) : hashRange(ip, 0, ip.length));
    case 'path':
      return (_raw, path) => hashRange(path, 0, pathEnd(path));
  }
}

/** True when `s` equals the lower-case `lower`, ignoring ASCII case. O(length), no allocation. */
export function equalsLowerAscii(s: string, lower: string): boolean {
  const n = lower.length;
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const t = lower.charCodeAt(i);
    if (c !== t && !(c >= 65 && c <= 90 && c + 32 === t)) return false;
  }
  return true;
}

/** The first header named `lower` (rawHeaders: name, value, name, value…), hashed. */
function headerKey(raw: readonly string[], lower: string): number {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (equalsLowerAscii(raw[i]!, lower)) {
      const v = raw[i + 1]!;
      return hashRange(v, 0, trimEnd(v, 0, v.length));
    }
  }
  return NO_KEY;
}

/** The first cookie `name` in any Cookie header (HTTP/2 may send several), hashed. */
function cookieKey(raw: readonly string[], name: string): number {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!equalsLowerAscii(raw[i]!, 'cookie')) continue;
    const h = cookieIn(raw[i + 1]!, name);
    if (h !== NO_KEY) return h;
  }
  return NO_KEY;
}

/** `name=value` pairs separated by ";" and optional whitespace (RFC 6265 §4.2.1), walked in place. */
function cookieIn(v: string, name: string): number {
  const n = v.length;
  let i = 0;
  while (i < n) {
    while (i < n && (v.charCodeAt(i) === CHAR_SPACE || v.charCodeAt(i) === CHAR_TAB)) i++;
    let end = v.indexOf(';', i);
    if (end < 0) end = n;
    if (end - i > name.length && v.charCodeAt(i + name.length) === CHAR_EQ && v.startsWith(name, i)) {
      const from = i + name.length + 1;
      return hashRange(v, from, trimEnd(v, from, end));
    }
    i = end + 1;
  }
  return NO_KEY;
}

/** The first query parameter `name` of `path` ("/p?a=1&name=v#f"), hashed as sent. */
function queryKey(path: string, name: string): number {
  const q = pathEnd(path);
  if (q === path.length || path.charCodeAt(q) !== CHAR_QUERY) return NO_KEY;
  const fragment = path.indexOf('#', q + 1);
  const n = fragment < 0 ? path.length : fragment;
  let i = q + 1;
  while (i < n) {
    let end = path.indexOf('&', i);
    if (end < 0 || end > n) end = n;
    const after = i + name.length;
    if (after <= end && path.startsWith(name, i) && (after === end || path.charCodeAt(after) === CHAR_EQ)) {
      return after === end ? NO_KEY : hashRange(path, after + 1, end);
    }
    i = end + 1;
  }
  return NO_KEY;
}

/**
 * End of the path proper: the first "?" or "#" (a fragment never reaches a server, but a raw
 * request target may carry one), or the end.
 */
function pathEnd(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === CHAR_QUERY || c === CHAR_HASH) return i;
  }
  return path.length;
}

/** `to` moved back over trailing spaces and tabs (not below `from`). */
function trimEnd(s: string, from: number, to: number): number {
  while (to > from && (s.charCodeAt(to - 1) === CHAR_SPACE || s.charCodeAt(to - 1) === CHAR_TAB)) to--;
  return to;
}
