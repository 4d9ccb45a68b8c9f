// The rules of passive health, pure: how long an ejection lasts, how much of a pool may be
// ejected at once, and how a check result reads in a reason. health/state.ts applies them; this
// module writes no state.

import type { PassiveConfig } from '../config/types.ts';
import type { Pool } from '../pool/pool.ts';
import { UpstreamFlag, type HealthCheckResult } from '../pool/upstream.ts';

/** Ejection time for the n-th ejection of an upstream: base × n, capped. */
export function ejectionMs(p: PassiveConfig, n: number): number {
  return Math.min(p.maxEjectionMs, p.baseEjectionMs * n);
}

/**
 * True when ejecting one more upstream for failures keeps the ejected share within
 * maxEjectionPercent. At least one upstream may always be ejected from a pool of two or more
 * (Envoy's rule), so small pools can still shed a broken member. Ejections for refused
 * connects do not count: an upstream that refuses connections cannot serve anyway.
 */
export function withinEjectionCap(pool: Pool): boolean {
  const total = pool.upstreams.length;
  if (total < 2) return false;
  let ejected = 0;
  for (const u of pool.upstreams) if (u.flags & UpstreamFlag.Ejected && !u.ejectedByConnect) ejected++;
  const cap = Math.max(1, Math.floor((total * pool.config.passive.maxEjectionPercent) / 100));
  return ejected + 1 <= cap;
}

/** What a failed check saw: the error, or the status. */
export function describeCheck(r: HealthCheckResult): string {
  if (r.error !== null) return r.error;
  return r.status === null ? 'no response' : `status ${r.status}`;
}
