// The balancers' hot-path random source: a small generator seeded from the injected Rng, whose
// draws are small integers. It does not replace Rng (tests still choose the seed through it).
//
// Why: an Rng returns a double, and a double returned from a call V8 did not inline is boxed
// (a 16-byte HeapNumber); Math.random() itself allocated one per call in
// bench/micro/pick-alloc.ts. Integers below 2^30 are Smis and never allocate, inlined or not.
// The generator step itself is util/rng.ts's mulberry32 (the one seededRng uses too).

import { mulberry32, type Rng } from '../util/rng.ts';

/** 2^30: draws are integers in [0, RANGE). */
export const RANGE = 1073741824;

/** mulberry32 with its state in an Int32Array, so updating it never allocates either. */
export class FastRng {
  private readonly state: Int32Array;

  /** Seeds from one call to `rng`. */
  constructor(rng: Rng) {
    this.state = new Int32Array(1);
    this.state[0] = Math.floor(rng() * 4294967296) | 0;
  }

  /** A uniform integer in [0, 2^30): the generator's top 30 bits. O(1), allocates nothing. */
  next(): number {
    return mulberry32(this.state) >>> 2;
  }

  /** A uniform integer in [0, n) for 0 < n ≤ 2^30 (bias < n / 2^30). O(1), allocates nothing. */
  below(n: number): number {
    return Math.floor((this.next() * n) / RANGE);
  }
}
