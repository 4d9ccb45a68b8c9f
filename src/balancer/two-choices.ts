// Power-of-two-choices candidate draws, shared by ewma and least-connections (above its exact
// scan): two distinct members, i by weight, then j by weight among the others. It draws
// indexes only; comparing the two (cost, load) is the caller's job. ewma's pick() reads the
// tables here and draws inline (a call cost it 1–8 ns); its tests check that copy against
// draw().
//
// How (measured in ewma's pick(), bench/micro/pick.bench.ts): a redraw loop for j that ran on a
// third of picks at 3 members, and the alias table's keep-or-alias branch, each cost more in
// mispredictions than the rest of pick(); so the draws avoid data-dependent branches:
// - equal weights (UNIFORM): j = i + 1 + uniform(n − 1), wrapped: uniform among the others;
// - up to PAIR_TABLE_MAX members, mixed weights (PAIRS): one alias draw from the table of
//   ordered pairs, P(i, j) = p_i · p_j / (1 − p_i), what drawing j again until it differs gives;
// - larger, mixed (WEIGHTED): alias draws with a redraw that rarely runs (Σp² < 2 % at 100
//   members), written so every operation runs on every pick (code V8 has never seen run
//   deoptimises the caller when it first runs).

import type { Upstream } from '../pool/upstream.ts';
import { RANGE, type FastRng } from './fast-rng.ts';
import { wasTried } from './types.ts';
import { WeightedSampler, aliasDraw } from './weighted-sampler.ts';

/** Draws for an untried candidate, or for a second one distinct from the first. */
export const CANDIDATE_DRAWS = 4;
/** drawUntried(): the two candidates are in `pair`. */
export const PAIR_READY = -1;
/** drawUntried(): redraws found no untried member; the caller scans exactly. */
export const SCAN_UNTRIED = -2;

/** How draw() picks its two candidates (TwoChoices.mode). */
export const UNIFORM = 0;
export const PAIRS = 1;
export const WEIGHTED = 2;
/** Largest pool drawn from a table of ordered pairs (PAIRS): 16 members, 240 pairs. */
const PAIR_TABLE_MAX = 16;
/** FastRng draw → [0, 1). */
const INV_RANGE = 1 / RANGE;

/**
 * Two distinct weighted candidates per draw. O(1), allocates nothing per draw; reset() is
 * O(n) (O(n²) pairs up to PAIR_TABLE_MAX members) and allocates.
 */
export class TwoChoices {
  private readonly rng: FastRng;
  /** Members by weight; the owner resets it (with the same weights) before reset(). */
  private readonly sampler: WeightedSampler;
  private n: number;
  // The draw tables below are public for ewma's pick(), which draws from them inline (see there).
  /** UNIFORM, PAIRS or WEIGHTED. */
  mode: number;
  /** Ordered pairs by weight (PAIRS mode); pairOf[k] = i << 8 | j. */
  private readonly pairs: WeightedSampler;
  pairOf: Int32Array;
  /** The members' alias table (sampler.aliasTable) and the pairs' (PAIRS mode), for draw(). */
  table: Float64Array;
  pairTable: Float64Array;
  /** The candidates of the last draw: [0] first drawn (wins ties), [1] second. */
  readonly pair: Int32Array;

  constructor(rng: FastRng, sampler: WeightedSampler) {
    this.rng = rng;
    this.sampler = sampler;
    this.n = 0;
    this.mode = UNIFORM;
    this.pairs = new WeightedSampler(rng);
    this.pairOf = new Int32Array(0);
    this.table = new Float64Array(0);
    this.pairTable = new Float64Array(0);
    this.pair = new Int32Array(2);
  }

  /** Off the hot path, after `sampler.reset(weights, n)`: chooses the mode, builds the pair table. */
  reset(weights: Float64Array, n: number): void {
    this.n = n;
    this.mode = this.sampler.isUniform ? UNIFORM : n <= PAIR_TABLE_MAX ? PAIRS : WEIGHTED;
    this.table = this.sampler.aliasTable;
    if (this.mode !== PAIRS) return;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]!;
    const count = n * (n - 1);
    const pairWeights = new Float64Array(count);
    this.pairOf = new Int32Array(count);
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        pairWeights[k] = (weights[i]! * weights[j]!) / (total - weights[i]!);
        this.pairOf[k++] = (i << 8) | j;
      }
    }
    this.pairs.reset(pairWeights, count);
    this.pairTable = this.pairs.aliasTable;
  }

  /**
   * Two candidates into `pair` (n ≥ 2), distinct except, rarely, in WEIGHTED mode when every
   * redraw met the first (then both are the first: compared with itself, it wins). O(1).
   */
  draw(): void {
    const n = this.n;
    let i: number;
    let j: number;
    if (n === 2) {
      // Both are the candidates; a random order makes ties fair.
      i = this.rng.next() & 1;
      j = 1 - i;
    } else if (this.mode === UNIFORM) {
      i = (this.rng.next() * n * INV_RANGE) | 0;
      j = i + 1 + ((this.rng.next() * (n - 1) * INV_RANGE) | 0);
      j -= n & -+(j >= n);
    } else if (this.mode === PAIRS) {
      const pairOf = this.pairOf;
      const p = pairOf[aliasDraw(this.pairTable, pairOf.length, this.rng.next())]!;
      i = p >> 8;
      j = p & 255;
    } else {
      const table = this.table;
      i = aliasDraw(table, n, this.rng.next());
      let r = 0;
      do j = aliasDraw(table, n, this.rng.next());
      while (r++ < CANDIDATE_DRAWS && j === i);
    }
    this.pair[0] = i;
    this.pair[1] = j;
  }

  /**
   * Candidates when some members were tried already: redraws around them. Returns a member
   * index to take as is (the only untried one drawn), PAIR_READY with two untried candidates
   * in `pair`, or SCAN_UNTRIED when CANDIDATE_DRAWS redraws found none (tried members hold
   * most of the weight, or all were tried). O(k) per draw, k = tried.length.
   */
  drawUntried(members: readonly Upstream[], tried: readonly Upstream[]): number {
    const pair = this.pair;
    if (this.n === 2) {
      this.draw();
      const ti = wasTried(tried, members[pair[0]!]!);
      const tj = wasTried(tried, members[pair[1]!]!);
      // Both untried, or both tried (every member was: compare them anyway).
      if (ti !== tj) return ti ? pair[1]! : pair[0]!;
      return PAIR_READY;
    }
    const sampler = this.sampler;
    let i = sampler.draw();
    let r = 0;
    while (wasTried(tried, members[i]!)) {
      if (++r > CANDIDATE_DRAWS) return SCAN_UNTRIED;
      i = sampler.draw();
    }
    let j = sampler.draw();
    for (let r = 0; r < CANDIDATE_DRAWS && (j === i || wasTried(tried, members[j]!)); r++) j = sampler.draw();
    if (j === i || wasTried(tried, members[j]!)) return i;
    pair[0] = i;
    pair[1] = j;
    return PAIR_READY;
  }
}
