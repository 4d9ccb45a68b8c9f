// Weighted random selection over the member set, via an alias table built in update().
// It ignores load and latency on purpose; in-flight and health belong to the pool.

import type { Upstream } from '../pool/upstream.ts';
import type { Balancer, BalancerName, BalancerOptions } from './types.ts';
import { WeightedMembers } from './weighted-members.ts';

/**
 * Weighted random: P(member i) = weight_i / Σweight. An alias table (Vose) rather than prefix
 * sums + binary search: O(1) instead of O(log n) per pick for the same O(n) rebuild.
 */
export class RandomBalancer extends WeightedMembers implements Balancer {
  readonly name: BalancerName;

  constructor(opts: BalancerOptions) {
    super(opts);
    this.name = 'random';
  }

  /** Hot path: WeightedMembers.pickByWeight. O(1), allocates nothing. */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    return this.pickByWeight(tried);
  }

  /** No-op: random ignores load. O(1). */
  onStart(_u: Upstream, _nowMs: number): void {}

  /** No-op: random ignores latency. O(1). */
  onFinish(_u: Upstream, _nowMs: number, _latencyMs: number, _ok: boolean): void {}
}
