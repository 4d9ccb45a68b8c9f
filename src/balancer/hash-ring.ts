// The consistent-hash ring: points on a 30-bit circle, each owned by one upstream slot, sorted,
// with a radix index so finding a key's first point is O(1) expected. Built off the hot path;
// knows origins and weights only (not health, load or requests).
//
// Choices, and why (measured: bench/micro/hash-ring.bench.ts; figures in bench/README.md):
// - A ring (ketama / Envoy ring hash), not Maglev: a member's points depend only on its origin
//   and weight, so removing or adding one moves exactly the keys it owns or takes (Maglev moves
//   about twice that), skipping a member (down, overloaded, tried) has a natural "next one in
//   this key's order" (the next point clockwise), and a ring over a subset of members places
//   keys exactly as the full ring with the others skipped. Maglev's O(1) lookup is matched by
//   the radix index: pick() stays well under 100 ns at 10 000 upstreams.
// - Points per unit of weight: POINTS_PER_WEIGHT (1 024) while the ring stays within MAX_POINTS
//   (2^20), i.e. up to 1 024 units of weight (1 024 upstreams of weight 1). A member's share of
//   the circle varies by about 1/√points around its weight's share: ±3 % at 1 024 points (±8 %
//   at ketama's 160, which left one of 4 upstreams with 32 % of the keys in our test). Above
//   1 024 units the ring is scaled down to MAX_POINTS, and a join or leave then also changes
//   other members' point counts by one now and then, which moves about another 1/N of the keys
//   (2/N in all). Each member's fractional point is dithered by its own hash, so those changes
//   spread over joins instead of hitting every equal-weight member at once.
// - Point positions: murmur3's fmix32 of (FNV-1a(origin) + k·φ) for k = 0, 1, …: the points of a
//   member never depend on the others, and equal positions (rare) are ordered by slot.

import { hashRange, mix30 } from './hash-key.ts';

/** Points per unit of weight while the ring stays within MAX_POINTS. */
export const POINTS_PER_WEIGHT = 1024;
/** Most points a ring holds (give or take one per member): 8 MiB of point arrays and a ≤ 2 MiB index. */
export const MAX_POINTS = 1 << 20;
/** The circle: positions and keys are in [0, 2^30). */
export const RING_BITS = 30;
/** Slot bits in the sort key (position · 2^SLOT_BITS + slot): up to 4 194 304 slots. */
const SLOT_BITS = 22;
const SLOT_SCALE = 2 ** SLOT_BITS;
/** Golden-ratio step between a member's successive point seeds. */
const PHI = 0x9e3779b9 | 0;

/** Points per unit of weight for a ring over `totalWeight` units. O(1). */
export function pointsPerWeight(totalWeight: number): number {
  return totalWeight > 0 ? Math.min(POINTS_PER_WEIGHT, MAX_POINTS / totalWeight) : POINTS_PER_WEIGHT;
}

/**
 * How many points a member of weight `w` gets at `perWeight`: ⌊w·perWeight + dither⌋ with the
 * member's own dither in [0, 1) (exact when w·perWeight is whole), at least one unless w = 0.
 */
export function pointCount(w: number, perWeight: number, dither: number): number {
  return w > 0 ? Math.max(1, Math.floor(w * perWeight + dither)) : 0;
}

/** A member's point seed: FNV-1a + fmix32 of its origin (30 bits). */
export function originSeed(origin: string): number {
  return hashRange(origin, 0, origin.length);
}

/** A member's dither for pointCount(), in [0, 1), from its seed. */
export function ditherOf(seed: number): number {
  return (seed & 0xffff) / 0x10000;
}

/** A built ring. Immutable; O(1) expected lookups that allocate nothing. */
export class HashRing {
  /** Number of points. */
  readonly size: number;
  /** Sorted point positions in [0, 2^30). */
  readonly positions: Int32Array;
  /** Slot (index into the build's origins) owning each point. */
  readonly owners: Int32Array;
  /** index[b] = first point whose position >>> shift ≥ b, for b in [0, 2^(30 − shift)]. */
  private readonly index: Int32Array;
  private readonly shift: number;

  /**
   * Builds the ring for `origins[i]` of weight `weights[i]` (weight 0: no points) at
   * `perWeight` points per unit of weight. Off the hot path: O(P log P) for P points, allocates
   * the arrays (and an 8-byte-per-point sort buffer).
   */
  constructor(origins: readonly string[], weights: Float64Array, perWeight: number) {
    const n = origins.length;
    if (n >= SLOT_SCALE) throw new Error(`a hash ring holds at most ${SLOT_SCALE - 1} upstreams`);
    const seeds = new Int32Array(n);
    let size = 0;
    for (let i = 0; i < n; i++) {
      seeds[i] = originSeed(origins[i]!);
      size += pointCount(weights[i]!, perWeight, ditherOf(seeds[i]!));
    }
    const packed = new Float64Array(size);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const seed = seeds[i]!;
      const count = pointCount(weights[i]!, perWeight, ditherOf(seed));
      for (let c = 0; c < count; c++) packed[k++] = mix30((seed + Math.imul(c, PHI)) | 0) * SLOT_SCALE + i;
    }
    packed.sort();
    this.size = size;
    this.positions = new Int32Array(size);
    this.owners = new Int32Array(size);
    for (let p = 0; p < size; p++) {
      const v = packed[p]!;
      const pos = Math.floor(v / SLOT_SCALE);
      this.positions[p] = pos;
      this.owners[p] = v - pos * SLOT_SCALE;
    }
    // About two points per index bucket: a lookup scans one or two positions.
    const bits = size < 4 ? 0 : Math.min(RING_BITS, Math.floor(Math.log2(size)) - 1);
    this.shift = RING_BITS - bits;
    const buckets = 1 << bits;
    this.index = new Int32Array(buckets + 1);
    let p = 0;
    for (let b = 0; b <= buckets; b++) {
      while (p < size && this.positions[p]! >>> this.shift < b) p++;
      this.index[b] = p;
    }
  }

  /**
   * The first point at or after `key` (in [0, 2^30)) clockwise, wrapping to 0: the start of
   * the key's order. O(1) expected, allocates nothing. Undefined result when size = 0.
   */
  find(key: number): number {
    const positions = this.positions;
    const size = this.size;
    let p = this.index[key >>> this.shift]!;
    while (p < size && positions[p]! < key) p++;
    return p === size ? 0 : p;
  }

  /** Bytes held by the ring's arrays. */
  get bytes(): number {
    return this.positions.byteLength + this.owners.byteLength + this.index.byteLength;
  }
}
