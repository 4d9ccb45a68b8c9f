// Weighted random selection over the member set, via an alias table built in update().
// It ignores load and latency on purpose; in-flight and health belong to the pool.

import type { Upstream } from '../pool/upstream.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';
import { FastRng, RANGE } from './fast-rng.ts';
import { WeightedSampler } from './weighted-sampler.ts';

/** Redraws a re-pick makes before it falls back to an exact scan over untried members. */
const TRIED_REDRAWS = 8;

/**
 * Weighted random: P(member i) = weight_i / Σweight. An alias table (Vose) rather than prefix
 * sums + binary search: O(1) instead of O(log n) per pick for the same O(n) rebuild.
 */
export class RandomBalancer implements Balancer {
  readonly name: BalancerName;
  /** Seeded from opts.rng; draws small integers so the hot path never boxes a double. */
  private readonly rng: FastRng;
  private members: readonly Upstream[];
  private weights: Float64Array;
  private readonly sampler: WeightedSampler;

  constructor(opts: BalancerOptions) {
    this.name = 'random';
    this.rng = new FastRng(opts.rng);
    this.members = [];
    this.weights = new Float64Array(0);
    this.sampler = new WeightedSampler(this.rng);
  }

  /** Off the hot path: snapshots weights and rebuilds the alias table. O(n), allocates. */
  update(members: readonly Upstream[]): void {
    const n = members.length;
    this.members = members.slice();
    this.weights = new Float64Array(n);
    for (let i = 0; i < n; i++) this.weights[i] = members[i]!.weight;
    this.sampler.reset(this.weights, n);
  }

  /**
   * Hot path. O(1), allocates nothing. A re-pick redraws up to TRIED_REDRAWS times, then
   * draws exactly among the untried members in O(n·k) (only when the tried members hold
   * most of the weight). When every member was tried, returns the first draw.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    const members = this.members;
    const n = members.length;
    if (n === 0) return undefined;
    const first = members[this.sampler.draw()]!;
    if (tried === null || tried.length === 0 || !wasTried(tried, first)) return first;
    for (let r = 0; r < TRIED_REDRAWS; r++) {
      const u = members[this.sampler.draw()]!;
      if (!wasTried(tried, u)) return u;
    }
    return this.pickUntried(tried, first);
  }

  /** No-op: random ignores load. O(1). */
  onStart(_u: Upstream, _nowMs: number): void {}

  /** No-op: random ignores latency. O(1). */
  onFinish(_u: Upstream, _nowMs: number, _latencyMs: number, _ok: boolean): void {}

  /** Exact weighted draw among untried members: two passes, one rng call, no allocation. */
  private pickUntried(tried: readonly Upstream[], fallback: Upstream): Upstream {
    const members = this.members;
    const weights = this.weights;
    const n = members.length;
    let total = 0;
    for (let i = 0; i < n; i++) if (!wasTried(tried, members[i]!)) total += weights[i]!;
    if (total === 0) return fallback;
    let r = (this.rng.next() / RANGE) * total;
    let last = fallback;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      if (wasTried(tried, u)) continue;
      last = u;
      r -= weights[i]!;
      if (r < 0) return u;
    }
    // Rounding left r at or just above 0: the last untried member owns that sliver.
    return last;
  }
}
