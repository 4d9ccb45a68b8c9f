// Peak EWMA balancer: picks by expected cost = decayed peak latency estimate × (in-flight + 1)
// / weight, the lower of two candidates (power of two choices, as Finagle does). The cost model
// (decay, samples, failure penalty, typical latency) is ewma-cost.ts; the candidate draws are
// two-choices.ts; this file compares two costs fast and wires the hooks.
//
// - pick() gets no clock: its "now" is the latest time passed to onStart/onFinish, at most
//   one idle gap old; the lag is the same for every member, so it never reorders them.
// - Speed (pick() ≤ 50 ns at every pool size up to 10 000; bench/micro/pick.bench.ts): the two
//   costs are ordered without Math.exp (cheap bounds on e^x settle all but near-ties), the
//   winner is chosen without data-dependent branches (a mispredicted branch cost ~20 ns), and
//   the estimates are reached through a per-slot array built in update(). Details at pick().
// - Allocation: none. V8 (Node 24) boxes every double stored into a plain object field (hence
//   the Float64Arrays), boxes the doubles of code it runs unoptimised, and deoptimises pick()
//   on a path pick() never took before: see the note on pick()'s exact path.

import type { Upstream } from '../pool/upstream.ts';
import { EwmaCost } from './ewma-cost.ts';
import type * as Cost from './ewma-cost.ts';
import { TwoChoices, PAIR_READY, SCAN_UNTRIED } from './two-choices.ts';
import type * as Choices from './two-choices.ts';
import { RANGE } from './fast-rng.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';
import { WeightedMembers } from './weighted-members.ts';
import { aliasDraw } from './weighted-sampler.ts';

export { DEFAULT_DECAY_MS, DEFAULT_RTT_MS, FAILURE_FACTOR, PENALTY_CAP } from './ewma-cost.ts';

// ewma-cost.ts's slots and floors and two-choices.ts's modes, as literals typed by their own: a
// constant imported from another module is a load in V8's optimised code, not a constant, and
// that cost pick() 4–15 ns (measured); the types make a mismatch a compile error.
const NOW: typeof Cost.NOW = 0;
const TYPICAL: typeof Cost.TYPICAL = 1;
const INV_TAU: typeof Cost.INV_TAU = 2;
const FLOOR_SPAN: typeof Cost.FLOOR_SPAN = 3;
const EST: typeof Cost.EST = 0;
const AT: typeof Cost.AT = 1;
const MIN_MS: typeof Cost.MIN_MS = 1e-6;
const FLOOR_SAFE_MS: typeof Cost.FLOOR_SAFE_MS = 1e-2;
const UNIFORM: typeof Choices.UNIFORM = 0;
const CANDIDATE_DRAWS: typeof Choices.CANDIDATE_DRAWS = 4;
const PAIRS: typeof Choices.PAIRS = 1;
/** FastRng draw → [0, 1). */
const INV_RANGE = 1 / RANGE;

/**
 * Peak EWMA with power-of-two-choices. pick O(1) (O(n·k) fallback when tried members hold
 * most of the weight), onStart and onFinish O(1); none allocates.
 */
export class EwmaBalancer extends WeightedMembers implements Balancer {
  readonly name: BalancerName;
  private readonly cost: EwmaCost;
  /** cost.state (the same Float64Array): pick() reads the clock and typical latency from it. */
  private readonly state: Float64Array;
  private readonly choices: TwoChoices;
  /**
   * `members[i].ewma` by slot (the same Float64Array objects, not copies): a candidate's
   * estimate is one load away instead of two through the Upstream.
   */
  private estimates: readonly Float64Array[];
  /** pick()'s scratch for its exact path: [0] typical, [1] a decayed estimate, read back by index. */
  private readonly select: Float64Array;

  constructor(opts: BalancerOptions) {
    super(opts);
    this.name = 'ewma';
    this.cost = new EwmaCost(opts.decayMs);
    this.state = this.cost.state;
    this.choices = new TwoChoices(this.rng, this.sampler);
    this.estimates = [];
    this.select = new Float64Array(2);
  }

  /**
   * Off the hot path: snapshots weights and estimate arrays, builds the draw tables, and seeds
   * the pool's typical latency from members measured before (a reload keeps their state).
   * O(n) (O(n²) pairs up to 16 members), allocates.
   */
  override update(members: readonly Upstream[]): void {
    super.update(members);
    const estimates: Float64Array[] = [];
    for (let i = 0; i < members.length; i++) estimates.push(members[i]!.ewma);
    this.estimates = estimates;
    this.cost.seed(members);
    this.choices.reset(this.weights, members.length);
  }

  /**
   * Hot path, allocates nothing. Two distinct weighted candidates not in `tried`, the lower
   * cost wins (the first drawn on a tie). O(1); O(n·k) scan when redraws can't find an
   * untried member. Every member tried: returns a candidate anyway.
   *
   * Candidates: two-choices.ts (i by weight, then j by weight among the others, drawn without
   * data-dependent branches).
   *
   * Cost = decayed estimate × (inflight + 1) / weight, compared without dividing:
   *
   *   cost_i ∝ pa·e^(-(now − t_i)/τ),  pa = s_i·(inflight_i + 1)·w_j,  and the same for j (pb, w_i)
   *
   * (never measured: s = typical, t = now), so j is cheaper iff pb·e^(-x) < pa, x = (t_i − t_j)/τ.
   * With T(x) = 1 + x + x²/2 + … + x⁵/120, e^x ≥ T(x) and e^(-x) ≥ T(−x) for every x, so j
   * surely wins when pb < pa·T(x) and surely loses when pb·T(−x) ≥ pa: no Math.exp. The winner
   * comes from a 0/1 flag, not a branch (which candidate is cheaper is a coin flip to the
   * predictor, and a miss cost ~20 ns). The exact reading at the end takes the rest: pairs
   * within ~x⁶/360 of a tie (~0.5 % of picks at 10 000 members in the bench's traffic, none at
   * 3), estimates that may have decayed to the MIN_MS floor, clocks ahead of now, NaN, and two
   * never-measured candidates.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    const members = this.members;
    const n = members.length;
    if (n === 0) return undefined;
    if (n === 1) return members[0];
    const choices = this.choices;
    let i: number;
    let j: number;
    if (tried !== null && tried.length > 0) {
      const k = choices.drawUntried(members, tried);
      if (k === SCAN_UNTRIED) return members[this.cheapestUntried(tried)];
      if (k !== PAIR_READY) return members[k];
      i = choices.pair[0]!;
      j = choices.pair[1]!;
    } else if (n === 2) {
      // TwoChoices.draw(), by hand: called, even inlined by V8, it cost pick() 1–8 ns (measured
      // in bench/micro/pick.bench.ts), and pick() must not get slower. Same draws, same order:
      // ewma.test.ts checks this copy against draw().
      i = this.rng.next() & 1;
      j = 1 - i;
    } else if (choices.mode === UNIFORM) {
      i = (this.rng.next() * n * INV_RANGE) | 0;
      j = i + 1 + ((this.rng.next() * (n - 1) * INV_RANGE) | 0);
      j -= n & -+(j >= n);
    } else if (choices.mode === PAIRS) {
      const pairOf = choices.pairOf;
      const p = pairOf[aliasDraw(choices.pairTable, pairOf.length, this.rng.next())]!;
      i = p >> 8;
      j = p & 255;
    } else {
      const table = choices.table;
      i = aliasDraw(table, n, this.rng.next());
      let r = 0;
      do j = aliasDraw(table, n, this.rng.next());
      while (r++ < CANDIDATE_DRAWS && j === i);
    }

    const ea = this.estimates[i]!;
    const eb = this.estimates[j]!;
    const state = this.state;
    const now = state[NOW]!;
    const typical = state[TYPICAL]!;
    const storedA = ea[EST]!;
    const storedB = eb[EST]!;
    // m = 1 when measured. Never measured (common in a large mixed pool: nobody drew them yet)
    // is costed at typical, undecayed, selected arithmetically rather than by a branch.
    const ma = +(storedA > 0);
    const mb = +(storedB > 0);
    const sa = storedA + (typical - storedA) * (1 - ma);
    const sb = storedB + (typical - storedB) * (1 - mb);
    const da = (now - ea[AT]!) * ma;
    const db = (now - eb[AT]!) * mb;
    const weights = this.weights;
    const pa = sa * (members[i]!.inflight + 1) * weights[j]!;
    const pb = sb * (members[j]!.inflight + 1) * weights[i]!;
    const x = (db - da) * state[INV_TAU]!;
    const x2 = x * x;
    const even = 1 + x2 * (0.5 + x2 * (1 / 24));
    const odd = x * (1 + x2 * (1 / 6 + x2 * (1 / 120)));
    const jWins = +(pb < pa * (even + odd));
    const jLoses = +(pb * (even - odd) >= pa);
    const span = state[FLOOR_SPAN]!;
    if (
      (jWins | jLoses) !== 0 &&
      ma + mb > 0 &&
      sa >= FLOOR_SAFE_MS &&
      sb >= FLOOR_SAFE_MS &&
      da >= 0 &&
      db >= 0 &&
      da <= span &&
      db <= span
    ) {
      return members[i ^ ((i ^ j) & -jWins)];
    }
    // The rest: costs read as ever (two exps, the MIN_MS floor, typical when never measured).
    // Inline and without branches, because V8 optimises code it has seen run: a rarely made
    // call stays unoptimised and boxes every double it computes, and a path pick() has never
    // taken deoptimises it when first taken. Two never-measured candidates come here, and they
    // are every pool's first picks, so this path has run before pick() is optimised.
    const tau = this.cost.decayMs;
    const select = this.select;
    select[0] = typical;
    select[1] = Math.max(storedA * Math.exp(Math.min(0, (ea[AT]! - now) / tau)), MIN_MS);
    const estA = select[ma]!;
    select[1] = Math.max(storedB * Math.exp(Math.min(0, (eb[AT]! - now) / tau)), MIN_MS);
    const estB = select[mb]!;
    const jCheaper = +(estB * (members[j]!.inflight + 1) * weights[i]! < estA * (members[i]!.inflight + 1) * weights[j]!);
    return members[i ^ ((i ^ j) & -jCheaper)];
  }

  /** Records the clock only: the estimate changes when the response (or failure) arrives. O(1). */
  onStart(_u: Upstream, nowMs: number): void {
    this.cost.observe(nowMs);
  }

  /**
   * Folds one latency sample into `u.ewmaMs` / `u.ewmaAt` (ewma-cost.ts; also for an upstream
   * no longer a member). Failures are penalised, never fast. O(1); allocates nothing.
   */
  onFinish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
    this.cost.fold(u, nowMs, latencyMs, ok);
  }

  /** Index of the lowest cost among untried members (all members if none is untried). O(n·k), rare. */
  private cheapestUntried(tried: readonly Upstream[]): number {
    const members = this.members;
    const weights = this.weights;
    const n = members.length;
    let best = -1;
    let bestCost = 0;
    let bestWeight = 1;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      if (wasTried(tried, u)) continue;
      const cost = this.cost.estimateMs(u) * (u.inflight + 1);
      if (best < 0 || cost * bestWeight < bestCost * weights[i]!) {
        best = i;
        bestCost = cost;
        bestWeight = weights[i]!;
      }
    }
    return best < 0 ? 0 : best;
  }
}
