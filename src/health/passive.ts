// Passive health: what proxied traffic says about an upstream. A connect failure ejects at
// once; consecutive failures (resets, timeouts, 502/503/504) eject for base × times ejected,
// never taking out more than maxEjectionPercent of the pool unless connects are refused.
// Re-admission when the time ends is done lazily by Pool.pick(); heartbeats live in checker.ts.

import type { Pool } from '../pool/pool.ts';
import { UpstreamFlag, type Upstream } from '../pool/upstream.ts';
import type { Logger } from '../observability/log.ts';
import { Outcome } from '../core/outcome.ts';




/** Records an attempt's outcome; may eject `u` and rebuild the pool. O(1) except on ejection. */
export function observeOutcome(pool: Pool, u: Upstream, outcome: Outcome, nowMs: number, code: string, log: Logger | null): void {
  switch (outcome) {
    case Outcome.Success:
      u.consecutiveFailures = 0;
      return;
    case Outcome.Neutral:
      return;
    case Outcome.ConnectFailure:
      u.consecutiveFailures++;
      if ((u.flags & UpstreamFlag.Ejected) === 0) eject(pool, u, nowMs, true, `connect failed (${code})`, log);
      return;
    case Outcome.Failure: {
      u.consecutiveFailures++;
      const threshold = pool.config.passive.consecutiveFailures;
      if (threshold === 0 || u.consecutiveFailures < threshold || u.flags & UpstreamFlag.Ejected) return;
      if (!withinEjectionCap(pool)) return;
      eject(pool, u, nowMs, false, `${u.consecutiveFailures} consecutive failures (last: ${code})`, log);
      return;
    }
  }
}

/**
 * True when ejecting one more upstream for failures keeps the ejected share within
 * maxEjectionPercent. At least one upstream may always be ejected from a pool of two or more
 * (Envoy's rule), so small pools can still shed a broken member.
 */
function withinEjectionCap(pool: Pool): boolean {
  const total = pool.upstreams.length;
  if (total < 2) return false;
  let ejected = 0;
  for (const u of pool.upstreams) if (u.flags & UpstreamFlag.Ejected && !u.ejectedByConnect) ejected++;
  const cap = Math.max(1, Math.floor((total * pool.config.passive.maxEjectionPercent) / 100));
  return ejected + 1 <= cap;
}

function eject(pool: Pool, u: Upstream, nowMs: number, byConnect: boolean, reason: string, log: Logger | null): void {
  const p = pool.config.passive;
  u.ejections++;
  const durationMs = Math.min(p.maxEjectionMs, p.baseEjectionMs * u.ejections);
  u.flags |= UpstreamFlag.Ejected;
  u.ejectedUntil = nowMs + durationMs;
  u.ejectedByConnect = byConnect;
  u.reason = `ejected: ${reason}`;
  pool.rebuild();
  log?.warn(
    { pool: pool.name, upstream: u.origin, from: 'up', to: 'ejected', reason, ejectedForMs: durationMs },
    'upstream ejected',
  );
}

/** Ends an ejection early (a heartbeat showed the upstream reachable again). */
export function readmit(pool: Pool, u: Upstream, reason: string, log: Logger | null): void {
  if ((u.flags & UpstreamFlag.Ejected) === 0) return;
  u.flags &= ~UpstreamFlag.Ejected;
  u.consecutiveFailures = 0;
  if (u.flags === 0) u.reason = null;
  pool.rebuild();
  log?.info({ pool: pool.name, upstream: u.origin, from: 'ejected', to: u.state, reason }, 'upstream readmitted');
}
