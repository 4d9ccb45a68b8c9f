// Peak EWMA (Finagle / Linkerd / tower lineage): picks by expected cost = decayed peak latency
// estimate × (in-flight + 1) / weight. The estimate lives on the Upstream (`ewmaMs` as of
// `ewmaAt`) so it survives reloads; this file reads and updates it but owns no timers.
//
// Choices, and why:
// - Decay on read, towards 0: as of `now` the estimate is ewmaMs·e^(-(now - ewmaAt)/τ), so an
//   upstream that stopped getting traffic (because it was slow) looks cheaper every second
//   until P2C sends it a probe, whose answer replaces or blends the estimate. Reads never
//   write, so frequent picks don't bias it; members idle equally long keep their order.
// - A sample above the decayed estimate replaces it (the peak); a lower one blends in with
//   w = e^(-Δt/τ), Δt = time since the previous sample (tower's rule). τ = opts.decayMs.
// - Never measured (ewmaMs = 0): costed at the pool's typical latency, a running mean of the
//   successful samples this balancer saw (seeded in update() from members measured before a
//   reload). Tower's fixed 1 s starves an upstream added to a warm pool until that prior
//   decays; Envoy's optimistic 10 ms sends a cold upstream a burst when peers are slower.
//   "As fast as its peers" gives it a fair share until its first answer. DEFAULT_RTT_MS
//   (10 ms) applies only before the pool's first sample, when every member is unmeasured
//   and the value cannot change the order; it only scales the first failure penalties.
// - Failures and timeouts count as slow, never fast (cf. Linkerd's penalty EWMA, PR #4537):
//   the sample is max(latency, min(FAILURE_FACTOR × max(decayed, typical),
//   PENALTY_CAP × typical)) and never lowers the current estimate. A fast 503 doubles the
//   estimate, a run of them backs off geometrically, and the cap (64× typical) bounds the
//   decay back to normal to τ·ln 64 ≈ 42 s at τ = 10 s; a timeout counts as its full latency.
// - pick() gets no clock: its "now" is the latest time passed to onStart/onFinish, at most
//   one idle gap old; the lag is the same for every member, so it never reorders them.
// - Selection: power of two choices over distinct weighted candidates, as Finagle does.
// - Allocation: none. V8 (Node 24) boxes every double stored into a plain object field, so
//   the estimate lives in a Float64Array on Upstream (`u.ewma`, read through the
//   `ewmaMs`/`ewmaAt` accessors).

import type { Upstream } from '../pool/upstream.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';
import { FastRng } from './fast-rng.ts';
import { WeightedSampler } from './weighted-sampler.ts';

/** Decay time constant τ when the options give none (ms). */
export const DEFAULT_DECAY_MS = 10_000;
/** Estimate for never-measured members while the pool has no sample at all (ms). */
export const DEFAULT_RTT_MS = 10;
/** A failed try counts as at least this many times the current estimate. */
export const FAILURE_FACTOR = 2;
/** A failure penalty never exceeds this many times the pool's typical latency. */
export const PENALTY_CAP = 64;
/** Weight of one successful sample in the pool's typical latency (count-based mean). */
const TYPICAL_ALPHA = 1 / 32;
/** Smallest sample or estimate (ms): keeps `inflight + 1` meaningful and 0 = "unmeasured". */
const MIN_MS = 1e-6;
/** Slots of EwmaBalancer.state. */
const NOW = 0;
const TYPICAL = 1;
/** Draws for an untried candidate, or for a second one distinct from the first. */
const CANDIDATE_DRAWS = 4;

/**
 * Peak EWMA with power-of-two-choices. pick O(1) (O(n·k) fallback when tried members hold
 * most of the weight), onStart and onFinish O(1); none allocates.
 */
export class EwmaBalancer implements Balancer {
  readonly name: BalancerName;
  /** Seeded from opts.rng; draws small integers so the hot path never boxes a double. */
  private readonly rng: FastRng;
  private readonly decayMs: number;
  private members: readonly Upstream[];
  private weights: Float64Array;
  private readonly sampler: WeightedSampler;
  /**
   * Balancer-wide doubles: [NOW] the latest clock time seen in onStart/onFinish (pick()'s
   * "now"); [TYPICAL] the pool's typical successful latency in ms (DEFAULT_RTT_MS until a
   * sample arrives). A typed array because V8 boxes every double stored into an object field
   * (a fresh HeapNumber each time).
   */
  private readonly state: Float64Array;
  /** Whether state[TYPICAL] comes from samples yet. */
  private hasTypical: boolean;

  constructor(opts: BalancerOptions) {
    this.name = 'ewma';
    this.rng = new FastRng(opts.rng);
    this.decayMs = opts.decayMs > 0 ? opts.decayMs : DEFAULT_DECAY_MS;
    this.members = [];
    this.weights = new Float64Array(0);
    this.sampler = new WeightedSampler(this.rng);
    this.state = new Float64Array(2);
    this.state[TYPICAL] = DEFAULT_RTT_MS;
    this.hasTypical = false;
  }

  /**
   * Off the hot path: snapshots weights, rebuilds the sampler, and seeds the pool's typical
   * latency from members measured before (a reload keeps their state). O(n), allocates.
   */
  update(members: readonly Upstream[]): void {
    const n = members.length;
    this.members = members.slice();
    this.weights = new Float64Array(n);
    let sum = 0;
    let measured = 0;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      this.weights[i] = u.weight;
      if (u.ewmaMs > 0) {
        sum += u.ewmaMs;
        measured++;
        if (u.ewmaAt > this.state[NOW]!) this.state[NOW] = u.ewmaAt;
      }
    }
    if (!this.hasTypical && measured > 0) {
      this.state[TYPICAL] = sum / measured;
      this.hasTypical = true;
    }
    this.sampler.reset(this.weights, n);
  }

  /**
   * Hot path, allocates nothing. Two distinct weighted candidates not in `tried`, the lower
   * cost wins (the first drawn on a tie). O(1); O(n·k) scan when redraws can't find an
   * untried member. Every member tried: returns a candidate anyway.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    const members = this.members;
    const n = members.length;
    if (n === 0) return undefined;
    if (n === 1) return members[0];
    const hasTried = tried !== null && tried.length > 0;
    let i: number;
    let j: number;
    if (n === 2) {
      // Both are the candidates; a random order makes ties fair.
      i = this.rng.next() & 1;
      j = 1 - i;
      if (hasTried) {
        const ti = wasTried(tried, members[i]!);
        const tj = wasTried(tried, members[j]!);
        if (ti !== tj) return ti ? members[j] : members[i];
      }
    } else {
      const sampler = this.sampler;
      i = sampler.draw();
      if (hasTried) {
        let r = 0;
        while (wasTried(tried, members[i]!)) {
          if (++r > CANDIDATE_DRAWS) return this.cheapestUntried(tried);
          i = sampler.draw();
        }
      }
      j = sampler.draw();
      for (let r = 0; r < CANDIDATE_DRAWS && (j === i || (hasTried && wasTried(tried, members[j]!))); r++) {
        j = sampler.draw();
      }
      if (j === i || (hasTried && wasTried(tried, members[j]!))) return members[i];
    }
    const a = members[i]!;
    const b = members[j]!;
    // Decayed estimates, written out rather than called, and shaped so every branch yields a
    // computed double: V8 boxes (allocates) a double returned from a call it did not inline,
    // and a double that meets a tagged value (a field read as is, a small-integer constant)
    // in a branch. pick-alloc.ts showed ~30 B/pick before this shape.
    const now = this.state[NOW]!;
    const tau = this.decayMs;
    const typical = this.state[TYPICAL]!;
    const sa = a.ewmaMs;
    const sb = b.ewmaMs;
    const estA = sa > 0 ? Math.max(sa * Math.exp(Math.min(0, (a.ewmaAt - now) / tau)), MIN_MS) : typical;
    const estB = sb > 0 ? Math.max(sb * Math.exp(Math.min(0, (b.ewmaAt - now) / tau)), MIN_MS) : typical;
    // cost = estimate × (inflight + 1) / weight, compared without dividing.
    const costA = estA * (a.inflight + 1) * this.weights[j]!;
    const costB = estB * (b.inflight + 1) * this.weights[i]!;
    return costB < costA ? b : a;
  }

  /** Records the clock only: the estimate changes when the response (or failure) arrives. O(1). */
  onStart(_u: Upstream, nowMs: number): void {
    if (nowMs > this.state[NOW]!) this.state[NOW] = nowMs;
  }

  /**
   * Folds one latency sample into `u.ewmaMs` / `u.ewmaAt` (also for an upstream no longer a
   * member: its state outlives this balancer). Failures are penalised, never fast. O(1);
   * allocates one HeapNumber (the `u.ewmaMs` store).
   */
  onFinish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
    const state = this.state;
    if (nowMs > state[NOW]!) state[NOW] = nowMs;
    const latency = Math.max(latencyMs, MIN_MS);
    if (ok) {
      if (this.hasTypical) state[TYPICAL] = state[TYPICAL]! + (latency - state[TYPICAL]!) * TYPICAL_ALPHA;
      else {
        state[TYPICAL] = latency;
        this.hasTypical = true;
      }
    }
    // w = e^(-Δt/τ), Δt since the last sample (never negative). Never measured: ewmaMs = 0, so
    // decayed = 0 and the first sample replaces it.
    const w = Math.exp(Math.min(0, (u.ewmaAt - nowMs) / this.decayMs));
    const decayed = Math.max(u.ewmaMs, 0) * w;
    let next: number;
    if (!ok) {
      // The failure's sample: max(latency, min(FAILURE_FACTOR × max(decayed, typical),
      // PENALTY_CAP × typical)); and it only ever raises the estimate as read now.
      const typical = state[TYPICAL]!;
      const p = Math.max(latency, Math.min(FAILURE_FACTOR * Math.max(decayed, typical), PENALTY_CAP * typical));
      next = Math.max(p, decayed);
    } else {
      // Peak: a slower sample replaces the estimate; a faster one blends in with weight 1 - w.
      next = latency > decayed ? latency : decayed + latency * (1 - w);
    }
    // The one allocation on this path: V8 stores a double into an object field as a fresh
    // HeapNumber (16 B). The estimate lives on Upstream so it survives reloads; see the header.
    u.ewmaMs = Math.max(next, MIN_MS);
    u.ewmaAt = nowMs;
  }

  /** Lowest cost among untried members (all members if none is untried). O(n·k), rare. */
  private cheapestUntried(tried: readonly Upstream[]): Upstream {
    const members = this.members;
    const weights = this.weights;
    const n = members.length;
    const now = this.state[NOW]!;
    const typical = this.state[TYPICAL]!;
    let best: Upstream | null = null;
    let bestCost = 0;
    let bestWeight = 1;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      if (wasTried(tried, u)) continue;
      const stored = u.ewmaMs;
      const est = stored > 0 ? Math.max(stored * Math.exp(Math.min(0, (u.ewmaAt - now) / this.decayMs)), MIN_MS) : typical;
      const cost = est * (u.inflight + 1);
      if (best === null || cost * bestWeight < bestCost * weights[i]!) {
        best = u;
        bestCost = cost;
        bestWeight = weights[i]!;
      }
    }
    return best ?? members[0]!;
  }
}
