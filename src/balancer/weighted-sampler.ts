// O(1) weighted random draws of a member index (Vose's alias method), shared by random,
// least-connections (P2C mode) and ewma. It knows weights only: not members, health or load.

import { RANGE, type FastRng } from './fast-rng.ts';

/**
 * Draws an index in [0, n) with probability weight[i] / Σweight. The table is built off the
 * hot path by `reset()`; `draw()` costs one rng call, one multiply and one comparison.
 */
export class WeightedSampler {
  private readonly rng: FastRng;
  private n: number;
  /** All weights equal: skip the table, draw a uniform index. */
  private uniform: boolean;
  /** Probability of keeping column i (else take alias[i]), scaled to [0, 1]. */
  private prob: Float64Array;
  private alias: Int32Array;

  constructor(rng: FastRng) {
    this.rng = rng;
    this.n = 0;
    this.uniform = true;
    this.prob = new Float64Array(0);
    this.alias = new Int32Array(0);
  }

  /**
   * Rebuilds the table for `weights[0..n)` (each > 0, finite). Off the hot path: O(n),
   * allocates the table (and two scratch stacks) when n grows.
   */
  reset(weights: Float64Array, n: number): void {
    this.n = n;
    let uniform = true;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      total += w;
      if (w !== weights[0]) uniform = false;
    }
    this.uniform = uniform;
    if (uniform || n === 0) return;

    if (this.prob.length < n) {
      this.prob = new Float64Array(n);
      this.alias = new Int32Array(n);
    }
    fillAlias(weights, n, total, this.prob, this.alias);
  }

  /**
   * A weighted random index in [0, n). O(1), allocates nothing. Undefined result when n = 0
   * (callers check membership first).
   */
  draw(): number {
    const n = this.n;
    // One 30-bit draw: the integer part picks a column, the fractional part (30 − log2 n bits,
    // ≥ 16 bits up to 16 384 members) decides column vs alias.
    const x = (this.rng.next() * n) / RANGE;
    const i = Math.floor(x);
    if (this.uniform) return i;
    return x - i < this.prob[i]! ? i : this.alias[i]!;
  }
}

/**
 * Vose's alias method: fills prob[0..n) (chance of keeping column i, in [0, 1]) and
 * alias[0..n) (the column taken otherwise) for `weights[0..n)` summing to `total`.
 * Off the hot path: O(n), allocates two scratch stacks.
 */
export function fillAlias(weights: Float64Array, n: number, total: number, prob: Float64Array, alias: Int32Array): void {
  // Scale each weight so the mean is 1, then pair every under-full column with an over-full
  // one. Both stacks hold indexes; together they never exceed n entries.
  const small = new Int32Array(n);
  const large = new Int32Array(n);
  let ns = 0;
  let nl = 0;
  const scale = n / total;
  for (let i = 0; i < n; i++) {
    const p = weights[i]! * scale;
    prob[i] = p;
    alias[i] = i;
    if (p < 1) small[ns++] = i;
    else large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns]!;
    const l = large[nl - 1]!;
    alias[s] = l;
    const rest = prob[l]! + prob[s]! - 1;
    prob[l] = rest;
    if (rest < 1) {
      nl--;
      small[ns++] = l;
    }
  }
  // Whatever is left is full up to rounding error.
  while (nl > 0) prob[large[--nl]!] = 1;
  while (ns > 0) prob[small[--ns]!] = 1;
}
