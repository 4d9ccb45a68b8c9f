// Turns a pool's configured upstream entries into the upstreams to build, given what DNS says
// now: an entry with `resolve` becomes one upstream per address (origin `scheme://ADDR:PORT`,
// the name kept as `hostname` for SNI and /status), the others pass through. Pure: the
// registry builds (and carries over, by origin) the upstreams; dns.ts supplies the addresses.

import type { PoolConfig, UpstreamConfig } from '../config/types.ts';
import { originFor } from './answer.ts';

/** An upstream to build: an entry as configured, or one address of a resolved entry. */
export interface ExpandedUpstream extends UpstreamConfig {
  /** The resolved address this upstream is reached at; null for entries without `resolve`. */
  readonly address: string | null;
  /** The configured entry it came from (its `origin` is the name's, not the address's). */
  readonly entry: UpstreamConfig;
}

/**
 * The upstreams of a pool for the current addresses: entries with `resolveMs === null` as
 * they are, each resolved entry once per address in `addressesOf(entry)` (none while the name
 * has never resolved, so the pool answers 503 no-upstream). Two entries that reach the same
 * origin give one upstream (the first entry's weight): an origin is an upstream's identity.
 * `origin` and `url` carry the address; `hostname` keeps the configured name. O(entries × addresses).
 */
export function expandUpstreams(
  upstreams: readonly UpstreamConfig[],
  addressesOf: (entry: UpstreamConfig) => readonly string[],
): ExpandedUpstream[] {
  const out: ExpandedUpstream[] = [];
  const seen = new Set<string>();
  const add = (u: ExpandedUpstream): void => {
    if (seen.has(u.origin)) return;
    seen.add(u.origin);
    out.push(u);
  };
  for (const entry of upstreams) {
    if (entry.resolveMs === null) {
      add({ ...entry, address: null, entry });
      continue;
    }
    for (const address of addressesOf(entry)) {
      const origin = originFor(entry.scheme, address, entry.port);
      add({ ...entry, origin, url: origin + pathOf(entry.url), address, entry });
    }
  }
  return out;
}

/** The pool config with its upstream list expanded (see expandUpstreams); other fields shared. */
export function expandPool(pc: PoolConfig, addressesOf: (entry: UpstreamConfig) => readonly string[]): PoolConfig & { readonly upstreams: readonly ExpandedUpstream[] } {
  return { ...pc, upstreams: expandUpstreams(pc.upstreams, addressesOf) };
}

/** The path part of a configured URL ('' when it has none). */
function pathOf(url: string): string {
  const u = new URL(url);
  const path = u.pathname === '/' ? '' : u.pathname;
  return path + u.search;
}
