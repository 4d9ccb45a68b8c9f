// The interface every balancing algorithm implements. A balancer only decides which member
// goes next; health, membership and in-flight bookkeeping belong to the pool.

import type { BalancerName } from '../config/types.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { Rng } from '../util/rng.ts';

export type { BalancerName };

export interface Balancer {
  readonly name: BalancerName;
  /**
   * Off the hot path. Called with the selectable members (up, not ejected, weight > 0)
   * whenever that set or a weight changes. May allocate.
   */
  update(members: readonly Upstream[]): void;
  /**
   * Hot path: allocates nothing. Returns a member not in `tried` when one exists; when every
   * member was tried, returns any member (a retry on the same upstream beats no retry only
   * when it is the sole choice, and the caller decides). `undefined` only when there are no
   * members at all.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined;
  /** Called once when an attempt is sent to `u`, after the pool incremented `u.inflight`. */
  onStart(u: Upstream, nowMs: number): void;
  /**
   * Called exactly once per onStart, after the pool decremented `u.inflight`.
   * `latencyMs` is the time to response headers (or to the failure); `ok` is false for
   * failures and timeouts, which must never make an upstream look fast.
   */
  onFinish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void;
}

export interface BalancerOptions {
  rng: Rng;
  /** EWMA decay time constant (ms). Ignored by the others. */
  decayMs: number;
}

export type BalancerFactory = (opts: BalancerOptions) => Balancer;

/** True when `u` is in `tried`. O(k) with k ≤ attempts; allocates nothing. */
export function wasTried(tried: readonly Upstream[] | null, u: Upstream): boolean {
  if (tried === null) return false;
  for (let i = 0; i < tried.length; i++) if (tried[i] === u) return true;
  return false;
}
