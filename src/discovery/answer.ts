// Pure rules of DNS discovery: which failure kind a resolver error is, how one lookup round's
// A and AAAA outcomes combine with the last good set, address ordering and set differences,
// and the origin an address is reached at. No sockets, no timers: dns.ts does the lookups.

import { isIPv4, isIPv6 } from 'node:net';

/** Why a lookup round did not give a fresh address set. Labels of the failure counters. */
export const DnsFailureKind = {
  /** No answer within the resolver's timeout and tries (c-ares ETIMEOUT). */
  Timeout: 'timeout',
  /** The server answered SERVFAIL. */
  ServFail: 'servfail',
  /** The name does not exist (NXDOMAIN). */
  NxDomain: 'nxdomain',
  /** The server answered REFUSED. */
  Refused: 'refused',
  /** NOERROR with no A and no AAAA records. */
  Empty: 'empty',
  /** Nothing listens at the DNS server's address (ECONNREFUSED). */
  Unreachable: 'unreachable',
  /** Anything else (bad response, out of memory in c-ares, …); the code says which. */
  Other: 'other',
} as const;
export type DnsFailureKind = (typeof DnsFailureKind)[keyof typeof DnsFailureKind];

/** Every failure kind, in a stable order (metrics rows, zeroed counters). */
export const DNS_FAILURE_KINDS: readonly DnsFailureKind[] = Object.freeze(Object.values(DnsFailureKind));

/** An address with the TTL (seconds) its record carried. */
export interface TtlAddress {
  readonly address: string;
  readonly ttl: number;
}

/** What one family's query (A or AAAA) gave. */
export type FamilyOutcome =
  | { readonly kind: 'ok'; readonly records: readonly TtlAddress[] }
  /** The family has no records: NOERROR with no data (ENODATA) or no such name (ENOTFOUND). */
  | { readonly kind: 'absent'; readonly nxdomain: boolean }
  | { readonly kind: 'error'; readonly failure: DnsFailure };

/** A failed round: its kind plus the resolver's code and message, for logs and /status. */
export interface DnsFailure {
  readonly kind: DnsFailureKind;
  /** The resolver's error code (`ETIMEOUT`, `ESERVFAIL`, …) or `EEMPTY` for an empty answer. */
  readonly code: string;
  readonly message: string;
}

/**
 * Turns the rejection of `resolve4`/`resolve6` into a family outcome. ENODATA and ENOTFOUND
 * mean "this family has no records" (the other family may have some); every other code is
 * an error of the round. Pure, O(1).
 */
export function outcomeOfError(err: unknown): FamilyOutcome {
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : 'EUNKNOWN';
  if (code === 'ENODATA') return { kind: 'absent', nxdomain: false };
  if (code === 'ENOTFOUND') return { kind: 'absent', nxdomain: true };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'error', failure: { kind: failureKindOf(code), code, message } };
}

/** The failure kind of a resolver error code (node:dns `E*` codes). Pure, O(1). */
export function failureKindOf(code: string): DnsFailureKind {
  switch (code) {
    case 'ETIMEOUT':
      return DnsFailureKind.Timeout;
    case 'ESERVFAIL':
      return DnsFailureKind.ServFail;
    case 'ENOTFOUND':
      return DnsFailureKind.NxDomain;
    case 'EREFUSED':
      return DnsFailureKind.Refused;
    case 'ENODATA':
      return DnsFailureKind.Empty;
    case 'ECONNREFUSED':
      return DnsFailureKind.Unreachable;
    default:
      return DnsFailureKind.Other;
  }
}

/** The addresses of one name, kept per family so one family's failure keeps only its own. */
export interface FamilySets {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/** The result of one round: a new good set (or null: keep the last), and what failed (or null). */
export interface RoundResult {
  /** The families to keep from now on, or null when the round gave nothing usable. */
  readonly sets: FamilySets | null;
  /** Lowest TTL (seconds) among the fresh records, reported only; null without fresh records. */
  readonly ttlSeconds: number | null;
  /** Set when any family failed or the answer was empty, even if `sets` is not null. */
  readonly failure: DnsFailure | null;
}

/**
 * Combines one round's A and AAAA outcomes with the last good sets `prev`:
 * - a family that answered replaces its set (absent = now empty);
 * - a family that failed keeps its previous set, and the round counts as failed;
 * - if no family answered with an address, nothing changes (empty answers and NXDOMAIN keep
 *   the last good set, as do errors).
 * Pure; allocates only the result.
 */
export function combineRound(prev: FamilySets, a: FamilyOutcome, aaaa: FamilyOutcome): RoundResult {
  const firstError = a.kind === 'error' ? a.failure : aaaa.kind === 'error' ? aaaa.failure : null;
  if (a.kind !== 'ok' && aaaa.kind !== 'ok') {
    if (firstError !== null) return { sets: null, ttlSeconds: null, failure: firstError };
    const nx = (a.kind === 'absent' && a.nxdomain) || (aaaa.kind === 'absent' && aaaa.nxdomain);
    const failure: DnsFailure = nx
      ? { kind: DnsFailureKind.NxDomain, code: 'ENOTFOUND', message: 'no such name (NXDOMAIN)' }
      : { kind: DnsFailureKind.Empty, code: 'EEMPTY', message: 'no A or AAAA records' };
    return { sets: null, ttlSeconds: null, failure };
  }
  let ttl = Infinity;
  const pick = (o: FamilyOutcome, old: readonly string[], valid: (s: string) => boolean): readonly string[] => {
    if (o.kind === 'error') return old;
    if (o.kind === 'absent') return [];
    const out: string[] = [];
    for (const r of o.records) {
      if (!valid(r.address)) continue;
      out.push(r.address);
      if (r.ttl < ttl) ttl = r.ttl;
    }
    return sortAddresses(out);
  };
  const v4 = pick(a, prev.v4, isIPv4);
  const v6 = pick(aaaa, prev.v6, isIPv6);
  if (v4.length === 0 && v6.length === 0) {
    // Only possible when the answers held no valid address: treat as empty.
    return { sets: null, ttlSeconds: null, failure: firstError ?? { kind: DnsFailureKind.Empty, code: 'EEMPTY', message: 'no valid addresses' } };
  }
  return { sets: { v4, v6 }, ttlSeconds: ttl === Infinity ? null : ttl, failure: firstError };
}

/** The union of both families: IPv4 first, each family in address order. */
export function unionOf(sets: FamilySets): readonly string[] {
  return [...sets.v4, ...sets.v6];
}

/** A sortable key: IPv4 as 8 hex digits, IPv6 expanded to 32 hex digits (so "::1" sorts by value). */
function sortKey(address: string): string {
  if (isIPv4(address)) {
    let k = '4';
    for (const part of address.split('.')) k += Number(part).toString(16).padStart(2, '0');
    return k;
  }
  const [head = '', tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = address.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return '6' + groups.map((g) => g.padStart(4, '0')).join('').toLowerCase();
}

/**
 * Distinct addresses in a stable order: IPv4 before IPv6, each by numeric value
 * (127.0.0.9 before 127.0.0.10). Returns a new array. O(n log n).
 * Dotted-quad-in-IPv6 forms (::ffff:1.2.3.4) sort by their text, which is stable but not numeric.
 */
export function sortAddresses(addresses: readonly string[]): string[] {
  const keyed = [...new Set(addresses)].map((a) => [sortKey(a), a] as const);
  keyed.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return keyed.map((k) => k[1]);
}

/** What changed between two address sets. */
export interface AddressChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** Addresses in `next` and not in `prev` (added), and the reverse (removed). O(n + m). */
export function diffAddresses(prev: readonly string[], next: readonly string[]): AddressChange {
  const before = new Set(prev);
  const after = new Set(next);
  return { added: next.filter((a) => !before.has(a)), removed: prev.filter((a) => !after.has(a)) };
}

/** True when both sets hold the same addresses in the same order. O(n). */
export function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The origin a discovered address is reached at: `scheme://ADDR:PORT`, IPv6 in brackets
 * (`http://[fd00::2]:8080`). The identity of the upstream created for that address.
 */
export function originFor(scheme: string, address: string, port: number): string {
  return isIPv6(address) ? `${scheme}://[${address}]:${port}` : `${scheme}://${address}:${port}`;
}
