// The member snapshot that random, least-connections, ewma and consistent-hash share: members,
// their weights and an alias-table sampler over them, rebuilt by update(); plus weighted random
// selection among untried members (random's pick, and consistent-hash's without a key).
// Load, latency and keys are the subclasses' business; health is the pool's.

import type { Upstream } from '../pool/upstream.ts';
import { FastRng, RANGE } from './fast-rng.ts';
import { wasTried, type BalancerOptions } from './types.ts';
import { WeightedSampler } from './weighted-sampler.ts';

/** Redraws a re-pick makes before it falls back to an exact scan over untried members. */
const TRIED_REDRAWS = 8;

/** Base of the balancers that draw members by weight. Allocates only in update(). */
export abstract class WeightedMembers {
  /** Seeded from opts.rng; draws small integers so the hot path never boxes a double. */
  protected readonly rng: FastRng;
  protected members: readonly Upstream[];
  /** members[i].weight as of update(). */
  protected weights: Float64Array;
  /** Draws a member index by weight. */
  protected readonly sampler: WeightedSampler;

  constructor(opts: BalancerOptions) {
    this.rng = new FastRng(opts.rng);
    this.members = [];
    this.weights = new Float64Array(0);
    this.sampler = new WeightedSampler(this.rng);
  }

  /** Off the hot path: snapshots members and weights, rebuilds the sampler. O(n), allocates. */
  update(members: readonly Upstream[]): void {
    const n = members.length;
    this.members = members.slice();
    this.weights = new Float64Array(n);
    for (let i = 0; i < n; i++) this.weights[i] = members[i]!.weight;
    this.sampler.reset(this.weights, n);
  }

  /**
   * Weighted random: P(member i) = weight_i / Σweight among untried members. O(1), allocates
   * nothing. A re-pick redraws up to TRIED_REDRAWS times, then draws exactly among the untried
   * members in O(n·k) (only when the tried members hold most of the weight). When every member
   * was tried, returns the first draw; undefined only without members.
   */
  protected pickByWeight(tried: readonly Upstream[] | null): Upstream | undefined {
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
