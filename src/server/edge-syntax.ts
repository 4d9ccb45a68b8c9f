// Character-level HTTP and URI grammar for the edge checks (edge-checks.ts): host[:port] per
// RFC 3986, tokens and OWS per RFC 9110, the authority of an absolute-form target, and ASCII
// case-insensitive comparison. Pure and allocation-free (IPv6 literals aside); no policy here.

import { isIPv6 } from 'node:net';

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** RFC 3986 reg-name characters: unreserved and sub-delims ('%' is checked apart). */
const REG_NAME = table(`${ALNUM}-._~!$&'()*+,;=`);
/** RFC 9110 §5.6.2 tchar. */
const TOKEN = table(`${ALNUM}!#$%&'*+-.^_\`|~`);

/** ASCII lower case of one character code. */
export function lowerCode(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** `s` holds the lower-case literal `lower` at `at`, ASCII case-insensitively. */
export function equalsLowerAt(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if (lowerCode(s.charCodeAt(at + i)) !== lower.charCodeAt(i)) return false;
  return true;
}

/** `s` equals the lower-case literal `lower`, ASCII case-insensitively. */
export function equalsLower(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  return s === lower || equalsLowerAt(s, 0, lower);
}

/** Index of the first character at or after `i` that is not SP or HTAB. */
export function skipOws(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** Index of the first character at or after `i` that is not a tchar. */
export function tokenEnd(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) < 128 && TOKEN[s.charCodeAt(i)] === 1) i++;
  return i;
}

/** Index after "http://" or "https://", or -1 when `url` is not absolute-form. */
export function authorityStart(url: string): number {
  if (url.startsWith('http://')) return 7;
  if (url.startsWith('https://')) return 8;
  return -1;
}

/** End of the authority that starts at `start`: the first '/', '?' or the end. */
export function authorityEnd(url: string, start: number): number {
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f) return i;
  }
  return url.length;
}

function isHex(c: number): boolean {
  const l = c | 0x20;
  return (c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x66);
}

/**
 * `s[start, end)` is host[:port] per RFC 3986 §3.2.2–3: a non-empty reg-name (IPv4 is one
 * syntactically) or a bracketed IPv6 address (no zone id, no IPvFuture), then an optional port
 * of 1–5 digits ≤ 65535. Empty, spaces, '/', '@', '\', a bare ':' and lists "a, b" fail.
 * O(length); allocates only for IPv6 literals (node:net isIPv6).
 */
export function isValidHost(s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  let i = start;
  if (s.charCodeAt(i) === 0x5b /* [ */) {
    const close = s.indexOf(']', i);
    if (close === -1 || close >= end) return false;
    const inner = s.slice(i + 1, close);
    if (inner.indexOf('%') !== -1 || !isIPv6(inner)) return false;
    i = close + 1;
  } else {
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3a /* : */) break;
      if (c === 0x25 /* % */) {
        if (i + 2 >= end || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
        i += 2;
        continue;
      }
      if (c >= 128 || REG_NAME[c] !== 1) return false;
    }
    if (i === start) return false;
  }
  if (i === end) return true;
  if (s.charCodeAt(i) !== 0x3a) return false;
  return isPort(s, i + 1, end);
}

function isPort(s: string, start: number, end: number): boolean {
  const n = end - start;
  if (n < 1 || n > 5) return false;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v <= 65535;
}
