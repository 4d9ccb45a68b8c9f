// LatencyHistogram: bucket placement (Prometheus `le` is inclusive), cumulative view, the
// percentile engines (WASM and JS agree), clamping of odd samples, reset/destroy, no allocation.

import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_SEC, LatencyHistogram, defaultHdrEngine, type HdrEngine } from './histogram.ts';

const made: LatencyHistogram[] = [];
function hist(opts: ConstructorParameters<typeof LatencyHistogram>[0] = {}): LatencyHistogram {
  const h = new LatencyHistogram(opts);
  made.push(h);
  return h;
}
afterEach(() => {
  for (const h of made.splice(0)) h.destroy();
});

describe('LatencyHistogram buckets', () => {
  it('uses ascending default bounds from 0.5 ms to 60 s', () => {
    expect(LATENCY_BUCKETS_SEC[0]).toBe(0.0005);
    expect(LATENCY_BUCKETS_SEC.at(-1)).toBe(60);
    for (let i = 1; i < LATENCY_BUCKETS_SEC.length; i++) expect(LATENCY_BUCKETS_SEC[i]!).toBeGreaterThan(LATENCY_BUCKETS_SEC[i - 1]!);
    const h = hist({ hdr: null });
    expect(h.counts.length).toBe(LATENCY_BUCKETS_SEC.length + 1);
  });

  it('puts a sample equal to a bound in that bound (le is inclusive) and above the last in +Inf', () => {
    const h = hist({ bucketsSec: [0.001, 0.01, 0.1], hdr: null });
    h.record(1); // = 1 ms → le 0.001
    h.record(1.0001); // → le 0.01
    h.record(10); // → le 0.01
    h.record(100); // → le 0.1
    h.record(100.5); // → +Inf
    h.record(1e9); // → +Inf
    expect([...h.counts]).toEqual([1, 2, 1, 2]);
    expect(h.count).toBe(6);
    expect([...h.cumulative()]).toEqual([1, 3, 4, 6]);
    expect(h.sumMs).toBeCloseTo(1 + 1.0001 + 10 + 100 + 100.5 + 1e9, 6);
  });

  it('counts negative, zero and NaN samples as 0 in the first bucket and never throws', () => {
    const h = hist();
    h.record(-5);
    h.record(Number.NaN);
    h.record(0);
    expect(h.counts[0]).toBe(3);
    expect(h.sumMs).toBe(0);
    expect(h.percentiles().p99Ms).toBe(0);
  });

  it('clamps samples beyond the percentile range instead of throwing', () => {
    const h = hist();
    h.record(10 * 3_600_000); // ten hours
    expect(h.percentiles().maxMs).toBeCloseTo(3_600_000, -4);
    expect(h.counts[LATENCY_BUCKETS_SEC.length]).toBe(1);
  });

  it('rejects bounds that are not positive and ascending', () => {
    expect(() => new LatencyHistogram({ bucketsSec: [0.1, 0.1], hdr: null })).toThrow(RangeError);
    expect(() => new LatencyHistogram({ bucketsSec: [0, 1], hdr: null })).toThrow(RangeError);
    expect(() => new LatencyHistogram({ bucketsSec: [1, Infinity], hdr: null })).toThrow(RangeError);
  });
});

describe('LatencyHistogram percentiles', () => {
  it('prefers WASM where WebAssembly is available', () => {
    expect(defaultHdrEngine()).toBe('wasm');
    expect(hist().engine).toBe('wasm');
  });

  it.each<HdrEngine>(['wasm', 'js'])('%s: p50/p90/p99 of 1..1000 ms within 1 %%', (engine) => {
    const h = hist({ hdr: engine });
    for (let v = 1; v <= 1000; v++) h.record(v);
    const p = h.percentiles();
    expect(p.count).toBe(1000);
    expect(p.p50Ms!).toBeGreaterThanOrEqual(500 * 0.99);
    expect(p.p50Ms!).toBeLessThanOrEqual(500 * 1.01);
    expect(p.p90Ms!).toBeGreaterThanOrEqual(900 * 0.99);
    expect(p.p90Ms!).toBeLessThanOrEqual(900 * 1.01);
    expect(p.p99Ms!).toBeGreaterThanOrEqual(990 * 0.99);
    expect(p.p99Ms!).toBeLessThanOrEqual(990 * 1.01);
    expect(p.maxMs!).toBeCloseTo(1000, -1);
    expect(p.p99Ms!).toBeLessThanOrEqual(p.maxMs!);
  });

  it('never reports a percentile above the largest sample', () => {
    const h = hist();
    h.record(11.512);
    const p = h.percentiles();
    expect(p.p50Ms).toBe(p.maxMs);
    expect(p.p99Ms).toBe(p.maxMs);
  });

  it('keeps sub-millisecond resolution (records microseconds)', () => {
    const h = hist();
    for (let i = 0; i < 100; i++) h.record(0.25);
    expect(h.percentiles().p50Ms).toBeCloseTo(0.25, 2);
  });

  it('WASM and JS engines agree on the same samples', () => {
    const a = hist({ hdr: 'wasm' });
    const b = hist({ hdr: 'js' });
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const ms = Math.exp((x / 2147483648) * 8 - 3);
      a.record(ms);
      b.record(ms);
    }
    expect(a.percentiles()).toEqual(b.percentiles());
    expect([...a.counts]).toEqual([...b.counts]);
  });

  it('reports nulls before the first sample and without a percentile engine', () => {
    expect(hist().percentiles()).toEqual({ count: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null });
    const h = hist({ hdr: null });
    h.record(3);
    expect(h.percentiles()).toEqual({ count: 1, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null });
  });
});

describe('LatencyHistogram lifecycle', () => {
  it('reset() clears buckets, sum and percentiles', () => {
    const h = hist();
    h.record(5);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.sumMs).toBe(0);
    expect([...h.counts].every((c) => c === 0)).toBe(true);
    expect(h.percentiles().p50Ms).toBeNull();
  });

  it('destroy() is idempotent; recording afterwards keeps counting buckets', () => {
    const h = hist({ hdr: 'wasm' });
    h.record(5);
    h.destroy();
    h.destroy();
    expect(h.isDestroyed).toBe(true);
    expect(() => h.record(7)).not.toThrow();
    expect(h.count).toBe(2);
    expect(h.percentiles().p50Ms).toBeNull();
  });

  it('destroy() before the first record keeps the percentile histogram from ever being built', () => {
    const h = hist({ hdr: 'wasm' });
    h.destroy();
    h.record(5);
    expect(h.count).toBe(1);
    expect(h.percentiles()).toEqual({ count: 1, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null });
  });

  it('record() allocates nothing in steady state (no GC during 2M records)', async () => {
    const h = hist();
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) h.record((i % 5000) / 10);
    };
    // Warm up the same loop so it runs optimised: interpreted code boxes its own doubles.
    run(2_000_000);
    // The loop is synchronous, so only its own allocations can trigger a collection inside
    // [t0, t1]: one boxed double per record would be ~32 MB and several scavenges.
    const gcs: PerformanceEntry[] = [];
    const obs = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
    obs.observe({ entryTypes: ['gc'] });
    const t0 = performance.now();
    run(2_000_000);
    const t1 = performance.now();
    // GC entries arrive asynchronously, in order: force one collection after t1 and wait for its
    // entry, so every collection inside [t0, t1] has been delivered by then.
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const deadline = Date.now() + 5000;
    while (!gcs.some((e) => e.startTime > t1) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    obs.disconnect();
    expect(gcs.some((e) => e.startTime > t1), 'the forced collection was observed').toBe(true);
    expect(gcs.filter((e) => e.startTime >= t0 && e.startTime <= t1)).toEqual([]);
    expect(h.count).toBe(4_000_000);
  });
});
