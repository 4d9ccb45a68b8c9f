// W3C Trace Context (https://www.w3.org/TR/trace-context/) at the proxy: is an incoming
// `traceparent` valid (then it goes on unchanged, with `tracestate`), and a new one for requests
// without a valid one. Pure, except for the pool of random bytes new ids are cut from.

import { randomFillSync } from 'node:crypto';

/** Length of a version-00 traceparent: 2 + 1 + 32 + 1 + 16 + 1 + 2. */
const LENGTH_00 = 55;

/** 48 hex-digit values per id pair (16-byte trace id + 8-byte parent id). */
const ID_BYTES = 24;
/** Random bytes fetched at a time: one crypto call serves this many new traceparents. */
const POOL_IDS = 256;
const pool = Buffer.allocUnsafe(ID_BYTES * POOL_IDS);
let next = POOL_IDS;

function isLowerHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/** True when s[from, to) are lower-case hex digits, not all zero. */
function hexId(s: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!isLowerHex(c)) return false;
    if (c !== 48) nonZero = true;
  }
  return nonZero;
}

/**
 * Whether `value` is a traceparent this proxy passes on: `VV-TRACEID-PARENTID-FF`, lower-case
 * hex, trace and parent ids not all zero, version not `ff`. Version 00 must be exactly 55
 * characters; a later version may append `-…` fields (the spec's forward compatibility).
 * O(55), allocates nothing.
 */
export function isValidTraceparent(value: string): boolean {
  const n = value.length;
  if (n < LENGTH_00) return false;
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (!isLowerHex(v0) || !isLowerHex(v1) || (v0 === 102 && v1 === 102)) return false;
  const version00 = v0 === 48 && v1 === 48;
  if (version00 ? n !== LENGTH_00 : n > LENGTH_00 && value.charCodeAt(LENGTH_00) !== 45 /* - */) return false;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return false;
  return hexId(value, 3, 35) && hexId(value, 36, 52) && isLowerHex(value.charCodeAt(53)) && isLowerHex(value.charCodeAt(54));
}

/** The trace id (32 hex digits) of a valid traceparent. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/**
 * A new version-00 traceparent, sampled (flags 01), with a random trace id and parent id cut
 * from a pool of crypto-random bytes refilled every POOL_IDS calls (bench: one call ≈ the hex
 * encoding of 24 bytes plus a refill share). A zero id (one in 2^128) is redrawn, as the spec
 * forbids it.
 */
export function newTraceparent(): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next++ * ID_BYTES;
  const hex = pool.toString('hex', at, at + ID_BYTES);
  const trace = hex.slice(0, 32);
  const parent = hex.slice(32);
  if (trace === '00000000000000000000000000000000' || parent === '0000000000000000') return newTraceparent();
  return `00-${trace}-${parent}-01`;
}
