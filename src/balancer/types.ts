// The interface every balancing algorithm implements. A balancer only decides which member
// goes next; health, membership and in-flight bookkeeping belong to the pool.

import type { BalancerName } from '../config/types.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { Rng } from '../util/rng.ts';

export type { BalancerName };

/**
 * `pick()`'s key when the request has none (or its pool hashes none): balancers that use keys
 * (consistent-hash) then balance like `random`; the others ignore keys altogether.
 */
export const NO_KEY = -1;

export interface Balancer {
  readonly name: BalancerName;
  /**
   * Off the hot path. Called with the selectable members (up, not ejected, weight > 0)
   * whenever that set or a weight changes, and with every configured upstream of the pool
   * (`all`, the same array while the configuration is unchanged): consistent-hash places keys
   * over `all` so that a member going down moves only its own keys; the others ignore it.
   * May allocate.
   */
  update(members: readonly Upstream[], all?: readonly Upstream[]): void;
  /**
   * Hot path: allocates nothing. Returns a member not in `tried` when one exists; when every
   * member was tried, returns any member (a retry on the same upstream beats no retry only
   * when it is the sole choice, and the caller decides). `undefined` only when there are no
   * members at all. `key` is the request's hash key, in [0, 2^30) (balancer/hash-key.ts), or
   * NO_KEY; only consistent-hash reads it.
   */
  pick(tried: readonly Upstream[] | null, key: number): Upstream | undefined;
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
  /**
   * consistent-hash bounded loads: no member takes more than this × the pool's mean in-flight
   * per unit of weight (1.25 = 125 %); null = off; absent = DEFAULT_LOAD_FACTOR (1.25).
   * Ignored by the others.
   */
  loadFactor?: number | null | undefined;
}

export type BalancerFactory = (opts: BalancerOptions) => Balancer;

/** True when `u` is in `tried`. O(k) with k ≤ attempts; allocates nothing. */
export function wasTried(tried: readonly Upstream[] | null, u: Upstream): boolean {
  if (tried === null) return false;
  for (let i = 0; i < tried.length; i++) if (tried[i] === u) return true;
  return false;
}
