// One view of health across a cluster: the messages that carry it and how a process applies
// them. The primary runs the active checks (its own runtime, no listeners) and sends every
// result with the threshold state it decided; a worker that ejects an upstream from its own
// traffic sends the ejection, which the primary passes to the other workers. The receiving side
// applies both through its HealthState, still the only writer. Balancer state (in-flight, EWMA)
// is never shared. Upstreams are named by pool name + origin, the registry's identity.

import type { HealthCheckResult, Upstream } from '../pool/upstream.ts';
import type { Pool } from '../pool/pool.ts';
import type { SharedCheck, SharedEjection } from '../health/state.ts';
import type { Runtime } from '../runtime.ts';

/** Primary → workers: one check result and the threshold state after it. */
export interface CheckMessage {
  readonly type: 'check';
  readonly pool: string;
  readonly origin: string;
  readonly result: HealthCheckResult;
  readonly up: boolean;
  readonly streak: number;
}

/** The last check of every upstream, for a worker that just started. */
export interface ChecksMessage {
  readonly type: 'checks';
  readonly checks: readonly CheckMessage[];
}

/** Worker → primary → the other workers: a passive ejection seen by one worker. */
export interface EjectMessage {
  readonly type: 'eject';
  readonly pool: string;
  readonly origin: string;
  readonly byConnect: boolean;
  readonly durationMs: number;
  readonly reason: string;
}

export function checkMessage(pool: Pool, u: Upstream, c: SharedCheck): CheckMessage {
  return { type: 'check', pool: pool.name, origin: u.origin, result: c.result, up: c.up, streak: c.streak };
}

export function ejectMessage(pool: Pool, u: Upstream, e: SharedEjection): EjectMessage {
  return { type: 'eject', pool: pool.name, origin: u.origin, byConnect: e.byConnect, durationMs: e.durationMs, reason: e.reason };
}

/** The last check result of every upstream of `rt` that has one (the primary's runtime). */
export function checkSnapshot(rt: Runtime): ChecksMessage {
  const checks: CheckMessage[] = [];
  for (const pool of rt.current.pools.values()) {
    for (const u of pool.upstreams) {
      if (u.lastCheck === null) continue;
      checks.push({ type: 'check', pool: pool.name, origin: u.origin, result: u.lastCheck, up: u.state !== 'down', streak: u.checkStreak });
    }
  }
  return { type: 'checks', checks };
}

/** origin → upstream per member list, built once per list (lists are replaced whole, never edited). */
const byOrigin = new WeakMap<readonly Upstream[], Map<string, Upstream>>();

/** The running pool `name` and its member at `origin`, or null (not, or not yet, known here). */
function find(rt: Runtime, name: string, origin: string): { pool: Pool; u: Upstream } | null {
  const pool = rt.current.pools.get(name);
  if (pool === undefined) return null;
  let index = byOrigin.get(pool.upstreams);
  if (index === undefined) {
    index = new Map(pool.upstreams.map((u) => [u.origin, u]));
    byOrigin.set(pool.upstreams, index);
  }
  const u = index.get(origin);
  return u === undefined ? null : { pool, u };
}

/**
 * Applies a shared check or ejection to `rt` through its HealthState. Returns false when the
 * upstream is unknown here (a reload or a DNS change not seen yet): the next check result, one
 * interval later, brings it in line. O(1) after the first message for a member list.
 */
export function applyShared(rt: Runtime, m: CheckMessage | EjectMessage): boolean {
  const found = find(rt, m.pool, m.origin);
  if (found === null) return false;
  const { pool, u } = found;
  if (m.type === 'check') {
    const cfg = pool.config.healthCheck;
    if (cfg === null) return false;
    rt.health.recordSharedCheck(pool, u, cfg, { result: m.result, up: m.up, streak: m.streak });
  } else {
    rt.health.applySharedEjection(pool, u, rt.clock(), { byConnect: m.byConnect, durationMs: m.durationMs, reason: m.reason });
  }
  return true;
}
