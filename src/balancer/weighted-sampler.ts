// Alias tables (Vose's method): O(1) weighted random draws of an index, built off the hot path.
// The one alias-table module: random, least-connections, ewma and consistent-hash draw through
// it, and two-choices.ts draws its candidate pairs from one. It knows weights only: not
// members, health or load.

import { RANGE, type FastRng } from './fast-rng.ts';

/** FastRng draw → [0, 1). */
const INV_RANGE = 1 / RANGE;

/**
 * Draws an index in [0, n) with probability weight[i] / Σweight. The table is built off the
 * hot path by `reset()`; `draw()` costs one rng call, one multiply and one comparison, without
 * a data-dependent branch.
 */
export class WeightedSampler {
  private readonly rng: FastRng;
  private n: number;
  /** All weights equal: skip the table, draw a uniform index. */
  private uniform: boolean;
  /** Interleaved alias table (see buildAlias); empty when uniform. */
  private table: Float64Array;

  constructor(rng: FastRng) {
    this.rng = rng;
    this.n = 0;
    this.uniform = true;
    this.table = new Float64Array(0);
  }

  /** Members the last reset() covered. */
  get size(): number {
    return this.n;
  }

  /** The interleaved alias table (aliasDraw()); empty when uniform. */
  get aliasTable(): Float64Array {
    return this.table;
  }

  /** True when the last reset() saw equal weights (draws are uniform). */
  get isUniform(): boolean {
    return this.uniform;
  }

  /**
   * Rebuilds the table for `weights[0..n)` (each > 0, finite). Off the hot path: O(n),
   * allocates the table (and two scratch stacks) unless all weights are equal.
   */
  reset(weights: Float64Array, n: number): void {
    this.n = n;
    let uniform = true;
    for (let i = 1; i < n; i++) if (weights[i] !== weights[0]) uniform = false;
    this.uniform = uniform;
    this.table = uniform ? new Float64Array(0) : buildAlias(weights, n);
  }

  /**
   * A weighted random index in [0, n). O(1), allocates nothing. Undefined result when n = 0
   * (callers check membership first).
   */
  draw(): number {
    const n = this.n;
    if (this.uniform) return (this.rng.next() * n * INV_RANGE) | 0;
    return aliasDraw(this.table, n, this.rng.next());
  }
}

/**
 * An index in [0, n) from an interleaved alias table and one 30-bit draw `r`: the integer part
 * of r·n/2^30 picks a column, the fractional part (≥ 16 bits up to 16 384 columns) keeps it or
 * takes its alias. The choice is arithmetic on a 0/1 flag, not a branch the predictor would
 * miss (a mispredicted keep-or-alias branch cost ~20 ns in ewma's pick()). O(1).
 */
export function aliasDraw(table: Float64Array, n: number, r: number): number {
  const x = r * n * INV_RANGE;
  const c = x | 0;
  const a = table[2 * c + 1]! | 0;
  return a ^ ((a ^ c) & -+(x - c < table[2 * c]!));
}

/**
 * Vose's alias method over weights[0..n) (each > 0, finite), interleaved so one draw reads one
 * cache line: [2c] the probability of keeping column c (scaled to [0, 1]), [2c + 1] the column
 * taken otherwise. O(n), allocates.
 */
export function buildAlias(weights: Float64Array, n: number): Float64Array {
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  fillAlias(weights, n, total, prob, alias);
  const table = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    table[2 * i] = prob[i]!;
    table[2 * i + 1] = alias[i]!;
  }
  return table;
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
