// The consistent-hash ring: points on a 30-bit circle, each owned by one upstream slot, sorted,
// with a key table that answers most lookups in one read and a radix index for the rest (both
// O(1)). Built off the hot path; knows origins and weights only (not health, load or requests).
//
// Choices, and why (measured: bench/micro/hash-ring.bench.ts; figures in bench/README.md):
// - A ring (ketama / Envoy ring hash), not Maglev: a member's points depend only on its origin
//   and weight, so removing or adding one moves exactly the keys it owns or takes (Maglev, as
//   measured, moved 2.6× that at 100 upstreams and 6–9× at 1 000–10 000), skipping a member
//   (down, overloaded, tried) has a natural "next one in this key's order" (the next point
//   clockwise), and a ring over a subset of members places keys exactly as the full ring with
//   the others skipped. Maglev's one-read lookup (~2 ns) is approached by the key table: pick()
//   stays under 100 ns at 10 000 upstreams (~70 ns measured, cache misses included); its table
//   is smaller (4 MiB against the ring's 12 MiB at 10 000 upstreams) and builds no faster.
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
/** Most points a ring holds (give or take one per member): about 12 MiB of arrays at that size. */
export const MAX_POINTS = 1 << 20;
/** The circle: positions and keys are in [0, 2^30). */
export const RING_BITS = 30;
/** Smallest key table: 2^14 buckets (64 KiB), so bucket offsets fit in 16 bits. */
const MIN_TABLE_BITS = RING_BITS - 16;
/** Table offset meaning "no point inside this bucket" (every key in it goes to the owner). */
const NO_POINT = 0xffff;
/** Most upstreams a ring places (owner slots are 16-bit). */
export const MAX_SLOTS = 65_535;
/** The radix sort's digit: two passes cover the 30-bit positions. */
const RADIX_BITS = 15;
const RADIX_MASK = (1 << RADIX_BITS) - 1;
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

/**
 * A built ring. Immutable; lookups allocate nothing.
 *
 * Two views of the same circle. The sorted points with a radix `index` find a key's first
 * point exactly (find()), and let pick() walk on from it. And `table`, one 32-bit entry per
 * bucket of the circle (about one bucket per point, at least 2^MIN_TABLE_BITS): the owner slot of
 * the first point at or after the bucket's start, and the offset in the bucket of the first
 * point inside it (0xFFFF when none). A key at or before that offset belongs to that owner: one
 * read (like Maglev) for 60–90 % of keys (more in small pools); the rest take find(). Exact ring semantics either
 * way, so placement never depends on the table's size.
 */
export class HashRing {
  /** Number of points. */
  readonly size: number;
  /** Sorted point positions in [0, 2^30). */
  readonly positions: Int32Array;
  /** Slot (index into the build's origins) owning each point, in position order. */
  readonly owners: Uint16Array;
  /** Per key bucket: (offset of the first point inside it) << 16 | owner slot (see the class note). */
  readonly table: Int32Array;
  /** A key's bucket is key >>> tableShift (≤ 16); its offset in it, key & offsetMask. */
  readonly tableShift: number;
  readonly offsetMask: number;
  /** index[b] = first point whose position >>> shift ≥ b, for b in [0, 2^(30 − shift)]. */
  private readonly index: Int32Array;
  private readonly shift: number;

  /**
   * Builds the ring for `origins[i]` of weight `weights[i]` (weight 0: no points) at
   * `perWeight` points per unit of weight. Off the hot path: O(P) for P points (a two-pass
   * radix sort); allocates the arrays and a sort buffer.
   */
  constructor(origins: readonly string[], weights: Float64Array, perWeight: number) {
    const n = origins.length;
    if (n > MAX_SLOTS) throw new Error(`a consistent-hash pool holds at most ${MAX_SLOTS} upstreams (got ${n})`);
    const seeds = new Int32Array(n);
    let size = 0;
    for (let i = 0; i < n; i++) {
      seeds[i] = originSeed(origins[i]!);
      size += pointCount(weights[i]!, perWeight, ditherOf(seeds[i]!));
    }
    const positions = new Int32Array(size);
    const owners = new Uint16Array(size);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const seed = seeds[i]!;
      const count = pointCount(weights[i]!, perWeight, ditherOf(seed));
      for (let c = 0; c < count; c++) {
        positions[k] = mix30((seed + Math.imul(c, PHI)) | 0);
        owners[k++] = i;
      }
    }
    sortPoints(positions, owners);
    this.size = size;
    this.positions = positions;
    this.owners = owners;
    // About two points per index bucket: find() scans one or two positions.
    const bits = size < 4 ? 0 : Math.min(RING_BITS, Math.floor(Math.log2(size)) - 1);
    this.shift = RING_BITS - bits;
    this.index = firstAtOrAfter(positions, bits, this.shift);
    // About one key bucket per point (0.7 to 1.4): at most 4 MiB of table at MAX_POINTS.
    const tableBits = Math.max(MIN_TABLE_BITS, size < 2 ? 0 : Math.round(Math.log2(size)));
    this.tableShift = RING_BITS - tableBits;
    this.offsetMask = (1 << this.tableShift) - 1;
    const starts = firstAtOrAfter(positions, tableBits, this.tableShift);
    this.table = new Int32Array(1 << tableBits);
    if (size === 0) return;
    for (let b = 0; b < this.table.length; b++) {
      const p = starts[b]!;
      const inside = p < starts[b + 1]!;
      const offset = inside ? positions[p]! & this.offsetMask : NO_POINT;
      this.table[b] = (offset << 16) | owners[p === size ? 0 : p]!;
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
    return this.positions.byteLength + this.owners.byteLength + this.table.byteLength + this.index.byteLength;
  }
}

/**
 * For each of the 2^bits buckets b of the circle (and b = 2^bits), the first point whose
 * position >>> shift ≥ b: size when there is none. O(P + 2^bits).
 */
function firstAtOrAfter(positions: Int32Array, bits: number, shift: number): Int32Array {
  const buckets = 1 << bits;
  const out = new Int32Array(buckets + 1);
  let p = 0;
  for (let b = 0; b <= buckets; b++) {
    while (p < positions.length && positions[p]! >>> shift < b) p++;
    out[b] = p;
  }
  return out;
}

/**
 * Sorts the points by position, owners alongside: LSD radix sort, two stable passes of 15
 * bits, so equal positions stay in slot order. O(P); 1 M points in ~20 ms here, against
 * ~130 ms for a Float64Array sort of packed (position, slot) values.
 */
function sortPoints(positions: Int32Array, owners: Uint16Array): void {
  const n = positions.length;
  const p2 = new Int32Array(n);
  const o2 = new Uint16Array(n);
  const count = new Int32Array(1 << RADIX_BITS);
  for (let pass = 0; pass < 2; pass++) {
    const shift = pass * RADIX_BITS;
    const [fromP, fromO, toP, toO] = pass === 0 ? [positions, owners, p2, o2] : [p2, o2, positions, owners];
    count.fill(0);
    for (let i = 0; i < n; i++) count[(fromP[i]! >>> shift) & RADIX_MASK]!++;
    let sum = 0;
    for (let b = 0; b < count.length; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const d = count[(fromP[i]! >>> shift) & RADIX_MASK]!++;
      toP[d] = fromP[i]!;
      toO[d] = fromO[i]!;
    }
  }
}
