// Least-connections: the member with the fewest in-flight requests relative to its weight,
// counting recent failures as requests still in flight (failure-penalty.ts), so an upstream
// that fails fast does not look idle. It reads `u.inflight`, which the pool maintains; it
// keeps no per-request state itself.
//
// Design. Up to EXACT_SCAN_MAX members, an exact scan: compare inflight_i × weight_j with
// inflight_j × weight_i (no division), ties broken at random by weight (each tied member
// wins with probability weight_k / Σ tied weights), so idle members share load in
// proportion to weight, like nginx's least_conn. Above it, power-of-two-choices as
// Envoy's least-request: two distinct weighted random candidates, the less loaded wins.
// Measured (`npx node bench/micro/pick.bench.ts --crossover --filter=^lc-`, Node 24, 2 shared
// cores, p50 per pick + onStart + onFinish with 8 in flight): scan 20 ns at 4 members, 27 ns
// at 8, 100 ns at 12, 160 ns at 16, 225 ns at 32 (once members outnumber requests in
// flight, idle ones tie and the branches stop predicting); P2C a flat 50–55 ns. Hence
// EXACT_SCAN_MAX = 8; at 10 000 members the scan would take ~50 µs against P2C's ~50 ns.
// An ordered structure kept in onStart/onFinish would be exact, but costs O(log n) on every
// call, needs a member→slot lookup per call and makes the random tie-break hard; P2C is
// near-optimal in practice (Mitzenmacher) and is what Envoy ships.

import type { Upstream } from '../pool/upstream.ts';
import { RANGE } from './fast-rng.ts';
import { FailurePenalty } from './failure-penalty.ts';
import { TwoChoices, PAIR_READY, SCAN_UNTRIED } from './two-choices.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';
import { WeightedMembers } from './weighted-members.ts';

/** Largest member count served by the exact scan; above it, power-of-two-choices. */
export const EXACT_SCAN_MAX = 8;

/**
 * Least-connections: fewest in-flight relative to weight. O(n) exact for n ≤ EXACT_SCAN_MAX,
 * O(1) power-of-two-choices above; allocates nothing per pick.
 */
export class LeastConnectionsBalancer extends WeightedMembers implements Balancer {
  readonly name: BalancerName;
  private readonly exactScanMax: number;
  /** P2C candidates, drawn through the inherited sampler. */
  private readonly choices: TwoChoices;
  /** Recent failures by member slot, counted as in-flight requests. */
  private readonly penalty: FailurePenalty;

  /** `exactScanMax` is for tests and benchmarks; the default is EXACT_SCAN_MAX. */
  constructor(opts: BalancerOptions, exactScanMax: number = EXACT_SCAN_MAX) {
    super(opts);
    this.name = 'least-connections';
    this.exactScanMax = exactScanMax;
    this.choices = new TwoChoices(this.rng, this.sampler);
    this.penalty = new FailurePenalty();
  }

  /**
   * Off the hot path: snapshots weights, rebuilds the candidate draws, re-slots the failure
   * penalties (each upstream keeps its own). O(n), allocates.
   */
  override update(members: readonly Upstream[]): void {
    super.update(members);
    this.choices.reset(this.weights, members.length);
    this.penalty.update(members);
  }

  /**
   * Hot path, allocates nothing. Exact scan O(n·k) for small pools; P2C O(k) above, with a
   * fallback to the exact scan when tried members hold most of the weight.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    const n = this.members.length;
    if (n === 0) return undefined;
    if (n === 1) return this.members[0];
    if (n <= this.exactScanMax) return this.scan(tried);
    return this.pickTwo(tried);
  }

  /** Records the clock (the pool already counted the attempt in `u.inflight`). O(1). */
  onStart(_u: Upstream, nowMs: number): void {
    this.penalty.observe(nowMs);
  }

  /** A failure adds to `u`'s penalty (the pool already decremented `u.inflight`). O(1). */
  onFinish(u: Upstream, nowMs: number, _latencyMs: number, ok: boolean): void {
    if (ok) this.penalty.observe(nowMs);
    else this.penalty.record(u, nowMs);
  }

  /** `u`'s failure penalty now, in requests in flight (tests, /status). O(1). */
  penaltyOf(u: Upstream): number {
    return this.penalty.penaltyOf(u);
  }

  /**
   * Exact least load/weight among untried members (all members if none is untried), load =
   * in-flight + failure penalty.
   * Two passes and one random draw: the first finds the least ratio and the total weight of
   * the members tied at it, the second walks to the drawn point among those. (A per-tie coin
   * flip, reservoir style, cost ~20 ns per tie in mispredicted branches: at rest every member
   * ties.)
   */
  private scan(tried: readonly Upstream[] | null): Upstream {
    const members = this.members;
    const weights = this.weights;
    const n = members.length;
    const hasTried = tried !== null && tried.length > 0;
    // Penalties now: q × e (e = 0 once every penalty has faded, the usual case).
    const q = this.penalty.values;
    const e = this.penalty.factor();
    let found = false;
    let bestLoad = 0;
    let bestWeight = 1;
    let tiedWeight = 0;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      if (hasTried && wasTried(tried, u)) continue;
      const load = u.inflight + q[i]! * e;
      const w = weights[i]!;
      const lhs = load * bestWeight;
      const rhs = bestLoad * w;
      if (!found || lhs < rhs) {
        found = true;
        bestLoad = load;
        bestWeight = w;
        tiedWeight = w;
      } else if (lhs === rhs) {
        tiedWeight += w;
      }
    }
    if (!found) return this.scan(null);
    // Weighted choice among the tied: each with probability weight / Σ tied weights.
    let r = (this.rng.next() / RANGE) * tiedWeight;
    let last = members[0]!;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      if ((u.inflight + q[i]! * e) * bestWeight !== bestLoad * weights[i]!) continue;
      if (hasTried && wasTried(tried, u)) continue;
      last = u;
      r -= weights[i]!;
      if (r < 0) return u;
    }
    // Rounding left r at or just above 0: the last tied member owns that sliver.
    return last;
  }

  /** Power of two choices: two distinct weighted candidates, the lower load per weight wins. */
  private pickTwo(tried: readonly Upstream[] | null): Upstream {
    const members = this.members;
    const choices = this.choices;
    if (tried !== null && tried.length > 0) {
      const k = choices.drawUntried(members, tried);
      if (k === SCAN_UNTRIED) return this.scan(tried);
      if (k !== PAIR_READY) return members[k]!;
    } else {
      choices.draw();
    }
    const i = choices.pair[0]!;
    const j = choices.pair[1]!;
    const a = members[i]!;
    const b = members[j]!;
    const q = this.penalty.values;
    const e = this.penalty.factor();
    // Lower (in-flight + penalty) per weight wins; on a tie keep the first draw (itself random).
    return (b.inflight + q[j]! * e) * this.weights[i]! < (a.inflight + q[i]! * e) * this.weights[j]! ? b : a;
  }
}
