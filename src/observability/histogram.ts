// Latency histogram for the hot path: fixed Prometheus buckets in a Float64Array (exported by
// admin/metrics.ts) plus an HdrHistogram for the p50/p90/p99 that /status shows. It records
// and reads; it does not know about labels, upstreams or the exposition format.

import * as hdr from 'hdr-histogram-js';

/**
 * Upper bounds (seconds, Prometheus `le`) of the response-time buckets: 0.5 ms … 60 s. The
 * bottom is below 1 ms because upstreams on the same host or rack answer in well under one.
 */
export const LATENCY_BUCKETS_SEC: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

/** Largest value the percentile histogram tracks (µs); larger samples are clamped to it. 1 hour. */
const HDR_MAX_US = 3_600_000_000;

/** LATENCY_BUCKETS_SEC in ms, shared by every histogram built with the default bounds. */
const DEFAULT_BOUNDS_MS = Float64Array.from(LATENCY_BUCKETS_SEC, (s) => s * 1000);

/** Which HdrHistogram implementation backs the percentiles. */
export type HdrEngine = 'wasm' | 'js';

let wasmState: 'untried' | 'ready' | 'failed' = 'untried';

/** Initialises hdr-histogram-js's WebAssembly once; false when this runtime cannot. */
function wasmReady(): boolean {
  if (wasmState === 'untried') {
    try {
      hdr.initWebAssemblySync();
      wasmState = 'ready';
    } catch {
      wasmState = 'failed';
    }
  }
  return wasmState === 'ready';
}

/**
 * The engine used when none is asked for: WASM unless WebAssembly is unavailable. Measured on
 * Node 24 (2 vCPU, 10M records of 0.08–90 ms, best of 10): record() with WASM 16–21 ns, with
 * the JS build 44–45 ns, buckets alone 4–5 ns (loop overhead included).
 */
export function defaultHdrEngine(): HdrEngine {
  return wasmReady() ? 'wasm' : 'js';
}

/** Percentiles in milliseconds; null fields when nothing was recorded. */
export interface LatencyPercentiles {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

export interface LatencyHistogramOptions {
  /** Upper bounds in seconds, ascending; defaults to LATENCY_BUCKETS_SEC. */
  bucketsSec?: readonly number[];
  /** `null` = no percentile histogram (buckets only). Default: defaultHdrEngine(). */
  hdr?: HdrEngine | null;
}

/**
 * One upstream's time-to-response-headers distribution.
 *
 * Invariants: `counts[i]` is the number of samples in bucket i alone (not cumulative), with
 * `counts[bounds.length]` the +Inf bucket, so the sum of `counts` is always `count`.
 * `record()` allocates nothing and costs O(buckets) comparisons (16) plus one HdrHistogram
 * record. The HdrHistogram (~17 KB) is created by the first record, so upstreams that never
 * get traffic (weight 0, unit tests, benches with thousands of members) cost a few hundred
 * bytes. A WASM-backed instance holds WebAssembly memory until `destroy()`; recording after
 * `destroy()` is allowed and only updates the buckets.
 */
export class LatencyHistogram {
  // Fields are `declare`d and assigned once in the constructor. A plain `sumMs: number;`
  // becomes a JS field declaration under type stripping, initialised to undefined; V8 then
  // keeps the field tagged and every `sumMs += ms` allocates a HeapNumber (measured: 25 ns
  // and a scavenge every ~65k records, against 17 ns and none with `declare`).
  /** Bucket upper bounds in milliseconds, ascending (shared between instances: read only). */
  declare readonly boundsMs: Float64Array;
  /** Same bounds in seconds, as given (for the `le` label). */
  declare readonly boundsSec: readonly number[];
  /** Per-bucket (non-cumulative) counts; the last slot is +Inf. */
  declare readonly counts: Float64Array;
  /** Samples recorded. */
  declare count: number;
  /** Sum of the samples, milliseconds. */
  declare sumMs: number;
  /** Which engine backs the percentiles, or null for none. */
  declare readonly engine: HdrEngine | null;
  /** Created on the first record; null before that and after destroy(). */
  private declare hdr: hdr.Histogram | null;
  private declare destroyed: boolean;

  constructor(opts: LatencyHistogramOptions = {}) {
    const bounds = opts.bucketsSec ?? LATENCY_BUCKETS_SEC;
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (!(b > 0) || !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!)) {
        throw new RangeError(`bucket bounds must be finite, positive and ascending (got ${bounds.join(', ')})`);
      }
    }
    this.boundsSec = bounds === LATENCY_BUCKETS_SEC ? LATENCY_BUCKETS_SEC : Object.freeze([...bounds]);
    this.boundsMs = bounds === LATENCY_BUCKETS_SEC ? DEFAULT_BOUNDS_MS : Float64Array.from(bounds, (s) => s * 1000);
    this.counts = new Float64Array(bounds.length + 1);
    this.count = 0;
    this.sumMs = 0;
    const engine = opts.hdr === undefined ? defaultHdrEngine() : opts.hdr;
    this.engine = engine === 'wasm' && !wasmReady() ? 'js' : engine;
    this.hdr = null;
    this.destroyed = false;
  }

  /**
   * Hot path: records one sample in milliseconds. Allocates nothing; O(buckets). Negative or
   * NaN samples count as 0 (a clock oddity must not throw on the request path).
   */
  record(ms: number): void {
    if (!(ms > 0)) ms = 0;
    const bounds = this.boundsMs;
    const n = bounds.length;
    let i = 0;
    // Linear scan from the bottom: most samples are small, so this exits in a few steps and
    // beats a binary search on 16 bounds.
    while (i < n && ms > bounds[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
    // HdrHistogram records integers only: microseconds keep sub-millisecond resolution.
    const us = Math.round(ms * 1000);
    const h = this.hdr;
    if (h !== null) h.recordValue(us < HDR_MAX_US ? us : HDR_MAX_US);
    else this.recordFirst(us);
  }

  /** The first percentile sample: builds the HdrHistogram (unless destroyed or disabled). */
  private recordFirst(us: number): void {
    if (this.engine === null || this.destroyed) return;
    const h = newHdr(this.engine);
    this.hdr = h;
    h.recordValue(us < HDR_MAX_US ? us : HDR_MAX_US);
  }

  /** p50/p90/p99/max since creation or the last reset(). O(hdr buckets): call at read time only. */
  percentiles(): LatencyPercentiles {
    const h = this.hdr;
    if (h === null || h.totalCount === 0) {
      return { count: this.count, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null };
    }
    // getValueAtPercentile answers the top of the sample's HDR bucket (≤ 1 % above it); cap
    // at the largest sample so p99 never reads above max.
    const max = h.maxValue;
    return {
      count: this.count,
      p50Ms: Math.min(h.getValueAtPercentile(50), max) / 1000,
      p90Ms: Math.min(h.getValueAtPercentile(90), max) / 1000,
      p99Ms: Math.min(h.getValueAtPercentile(99), max) / 1000,
      maxMs: max / 1000,
    };
  }

  /** Cumulative bucket counts (Prometheus `_bucket`); the last entry is +Inf and equals `count`. Allocates. */
  cumulative(): Float64Array {
    const out = new Float64Array(this.counts.length);
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      out[i] = acc;
    }
    return out;
  }

  /** Clears every count (buckets and percentiles). */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.hdr?.reset();
  }

  /**
   * Frees the percentile histogram (WebAssembly memory is not garbage-collected). Idempotent;
   * afterwards `record()` keeps the buckets and `percentiles()` reports nulls.
   */
  destroy(): void {
    const h = this.hdr;
    this.hdr = null;
    this.destroyed = true;
    h?.destroy();
  }

  /** True once destroy() ran. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }
}

function newHdr(engine: HdrEngine): hdr.Histogram {
  return hdr.build({
    useWebAssembly: engine === 'wasm',
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HDR_MAX_US,
    // 2 digits = 1 % value resolution: plenty for p50/p99, and a quarter of the 3-digit memory.
    numberOfSignificantValueDigits: 2,
  });
}
