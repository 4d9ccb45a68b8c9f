// The last minute of one upstream's traffic in one-second slots: tries started, tries failed and
// their time to response headers in the latency buckets, for the share of traffic, req/s, error
// share and recent p50/p99 that /status and the dashboard show. It counts and sums; what the
// figures mean (share of a pool, balancer figures) is src/admin/explain.ts's.
//
// Why slots and not per-request timestamps: writing one counter in a typed array costs a few
// nanoseconds and allocates nothing, and the memory is fixed (SLOTS × STRIDE counters) whatever
// the request rate. A slot is reused once its second has passed: a slot whose stamp is not the
// second being read is empty, so an idle upstream needs no timer to age out.

/** Slots kept: the current second and the 63 before it (a power of two: the slot is `s & MASK`). */
export const WINDOW_SLOTS = 64;
const MASK = WINDOW_SLOTS - 1;
/**
 * Latency buckets per slot, by powers of two of microseconds: bucket b > 0 holds latencies in
 * [2^(b-1), 2^b) µs, bucket 0 holds < 1 µs. The index is `32 − clz32(µs)`: no comparisons, so
 * no mispredicted branch (a scan over the Prometheus bounds cost ~15 ns more per request here).
 * Resolution: a factor of 2, as coarse as the 1–2.5–5 Prometheus bounds.
 */
export const WINDOW_BUCKETS = 33;
/** Counters per slot: [STARTED, FAILED, bucket 0 … bucket n]. */
const STARTED = 0;
const FAILED = 1;
const FIRST_BUCKET = 2;
const STRIDE = FIRST_BUCKET + WINDOW_BUCKETS;
/** Stamp of a slot never used: no clock second is this (it would be 68 years before the origin). */
const NEVER = -0x80000000;

/**
 * Whole seconds of a clock reading in ms. Allocation-free for readings below 2^31 s. A multiply,
 * not a division (a fraction of the cost on the hot path); a reading within one ulp of a whole
 * second may land in the second before, which no figure can tell.
 */
export function secondOf(nowMs: number): number {
  return (nowMs * 0.001) | 0;
}

/** Sums over a range of seconds (see TrafficWindow.sum). */
export interface TrafficSums {
  started: number;
  failed: number;
  /** Finished tries per latency bucket (WINDOW_BUCKETS entries; see bucketBoundsMs). */
  readonly buckets: Float64Array;
}

/**
 * Per-second counters of one upstream. `started` and `finished` are the hot path: O(1) without
 * loops, allocation-free after the first call (which allocates the counters, ~9 KB, so an
 * upstream that never gets traffic costs about 300 bytes).
 * Readers take any range of the last WINDOW_SLOTS seconds; they allocate freely.
 */
export class TrafficWindow {
  /** The second each slot holds; NEVER = never used. */
  declare readonly stamps: Int32Array;
  /** SLOTS × STRIDE counters; null until the first record. */
  declare counts: Uint32Array | null;

  constructor() {
    this.stamps = new Int32Array(WINDOW_SLOTS).fill(NEVER);
    this.counts = null;
  }

  /** A try was sent at `nowMs` (clock ms). Called once per try, by Pool.start. */
  started(nowMs: number): void {
    const base = this.slot(secondOf(nowMs));
    this.counts![base + STARTED]!++;
  }

  /**
   * A try ended at `nowMs` after `latencyMs` (time to response headers, or to the failure);
   * `ok` false = a failed try. Called once per try, by Pool.finish.
   */
  finished(nowMs: number, latencyMs: number, ok: boolean): void {
    const base = this.slot(secondOf(nowMs));
    const counts = this.counts!;
    if (!ok) counts[base + FAILED]!++;
    // NaN and negative readings count as 0 µs; > 2^32 µs (71 min) wraps, harmlessly, into a bucket.
    counts[base + FIRST_BUCKET + 32 - Math.clz32(Math.max(0, latencyMs * 1000) >>> 0)]!++;
  }

  /** Offset of second `s`'s counters, clearing the slot when it last held an older second. */
  private slot(s: number): number {
    const i = s & MASK;
    const base = i * STRIDE;
    if (this.stamps[i] !== s) {
      if (this.counts === null) this.counts = new Uint32Array(WINDOW_SLOTS * STRIDE);
      else this.counts.fill(0, base, base + STRIDE);
      this.stamps[i] = s;
    }
    return base;
  }

  /**
   * Adds the counters of seconds `from` … `to` (inclusive, clamped to what the window keeps as
   * of second `to`) into `into` (or a new TrafficSums). O((to − from) × buckets).
   */
  sum(from: number, to: number, into: TrafficSums = emptySums()): TrafficSums {
    const counts = this.counts;
    if (counts === null) return into;
    for (let s = Math.max(from, to - MASK); s <= to; s++) {
      const i = s & MASK;
      if (this.stamps[i] !== s) continue;
      const base = i * STRIDE;
      into.started += counts[base + STARTED]!;
      into.failed += counts[base + FAILED]!;
      for (let b = 0; b < WINDOW_BUCKETS; b++) into.buckets[b]! += counts[base + FIRST_BUCKET + b]!;
    }
    return into;
  }
}

/** A zeroed TrafficSums. */
export function emptySums(): TrafficSums {
  return { started: 0, failed: 0, buckets: new Float64Array(WINDOW_BUCKETS) };
}

/** [lower, upper) bounds of bucket `b` in ms. */
export function bucketBoundsMs(b: number): [number, number] {
  return b === 0 ? [0, 0.001] : [2 ** (b - 1) / 1000, 2 ** b / 1000];
}

/**
 * The `q` quantile (0–1) of the latencies counted in `buckets`, in ms, interpolated linearly
 * inside the bucket that holds its rank (as Prometheus's histogram_quantile does). null when
 * nothing was counted.
 */
export function bucketQuantileMs(buckets: Float64Array, q: number): number | null {
  let total = 0;
  for (let b = 0; b < buckets.length; b++) total += buckets[b]!;
  if (total === 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * total;
  let below = 0;
  let last = 0;
  for (let b = 0; b < buckets.length; b++) {
    const c = buckets[b]!;
    if (c === 0) continue;
    last = b;
    if (below + c >= rank) {
      const [lo, hi] = bucketBoundsMs(b);
      return lo + ((hi - lo) * (rank - below)) / c;
    }
    below += c;
  }
  return bucketBoundsMs(last)[1];
}
