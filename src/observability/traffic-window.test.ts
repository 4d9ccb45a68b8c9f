// TrafficWindow: per-second slots, reuse of a slot once its second has passed, sums over ranges,
// and the bucket quantile.

import { describe, expect, it } from 'vitest';
import { TrafficWindow, WINDOW_BUCKETS, WINDOW_SLOTS, bucketBoundsMs, bucketQuantileMs, emptySums, secondOf } from './traffic-window.ts';

/** The bucket a latency lands in, found from the bounds (not the hot path's arithmetic). */
function bucketOf(ms: number): number {
  for (let b = 0; b < WINDOW_BUCKETS; b++) {
    const [lo, hi] = bucketBoundsMs(b);
    if (ms >= lo && ms < hi) return b;
  }
  return WINDOW_BUCKETS - 1;
}

describe('TrafficWindow', () => {
  it('counts tries started and failed per second, latencies in their buckets', () => {
    const w = new TrafficWindow();
    expect(w.counts).toBeNull();
    for (let i = 0; i < 5; i++) w.started(10_000 + i);
    w.started(11_000);
    w.finished(10_100, 0.3, true);
    w.finished(10_200, 7, false);
    w.finished(11_900, 70_000, true);
    const s10 = w.sum(10, 10);
    expect(s10.started).toBe(5);
    expect(s10.failed).toBe(1);
    expect(s10.buckets[bucketOf(0.3)]).toBe(1);
    expect(s10.buckets[bucketOf(7)]).toBe(1);
    expect(bucketOf(0.3)).not.toBe(bucketOf(7));
    const both = w.sum(10, 11);
    expect(both.started).toBe(6);
    expect(both.buckets[bucketOf(70_000)]).toBe(1);
    expect([...both.buckets].reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('a slot is cleared when it is reused for a later second, and old seconds read as empty', () => {
    const w = new TrafficWindow();
    w.started(5_000);
    w.started(5_500);
    // The same slot, WINDOW_SLOTS seconds later.
    const later = (5 + WINDOW_SLOTS) * 1000;
    w.started(later);
    expect(w.sum(5 + WINDOW_SLOTS, 5 + WINDOW_SLOTS).started).toBe(1);
    // Second 5 is gone: its slot now holds another second.
    expect(w.sum(5, 5).started).toBe(0);
    // A range reaching further back than the window is clamped to it.
    expect(w.sum(0, 5 + WINDOW_SLOTS).started).toBe(1);
  });

  it('an idle upstream ages out without any write: nothing older than the window is summed', () => {
    const w = new TrafficWindow();
    for (let s = 0; s < 10; s++) w.started(s * 1000);
    expect(w.sum(0, 9).started).toBe(10);
    // Read as of a much later second: every stamp is too old to be in range.
    expect(w.sum(1000 - 59, 1000).started).toBe(0);
  });

  it('sum() adds into a given accumulator (several upstreams or workers)', () => {
    const a = new TrafficWindow();
    const b = new TrafficWindow();
    a.started(1000);
    b.started(1000);
    b.started(1001);
    const acc = emptySums();
    a.sum(1, 1, acc);
    b.sum(1, 1, acc);
    expect(acc.started).toBe(3);
  });

  it('negative and fractional clock readings land in a slot without throwing', () => {
    const w = new TrafficWindow();
    w.started(-1500);
    w.finished(-1400, 1, true);
    expect(w.sum(secondOf(-1500), secondOf(-1500)).started).toBe(1);
  });
});

describe('bucketQuantileMs', () => {
  const buckets = (pairs: [number, number][]): Float64Array => {
    const b = new Float64Array(WINDOW_BUCKETS);
    for (const [i, c] of pairs) b[i] = c;
    return b;
  };

  it('is null without samples', () => {
    expect(bucketQuantileMs(new Float64Array(WINDOW_BUCKETS), 0.5)).toBeNull();
  });

  it('interpolates inside the bucket that holds the rank', () => {
    // 100 samples in [8.192 ms, 16.384 ms): p50 halfway, p99 near the top.
    const i = bucketOf(10);
    expect(bucketBoundsMs(i)).toEqual([8.192, 16.384]);
    expect(bucketQuantileMs(buckets([[i, 100]]), 0.5)).toBeCloseTo(12.288, 6);
    expect(bucketQuantileMs(buckets([[i, 100]]), 0.99)).toBeCloseTo(8.192 + 0.99 * 8.192, 6);
    // 99 fast ones and one slow one: p50 stays low, p99.9 is the slow one's.
    const mixed = buckets([
      [bucketOf(1), 99],
      [bucketOf(900), 1],
    ]);
    expect(bucketQuantileMs(mixed, 0.5)!).toBeLessThan(2);
    expect(bucketQuantileMs(mixed, 0.999)!).toBeGreaterThan(500);
  });

  it('the hot path puts every latency in the bucket whose bounds hold it', () => {
    for (const ms of [0, 0.0005, 0.001, 0.0015, 0.5, 1, 1.024, 2.047, 2.048, 99.9, 1000, 65_000]) {
      const w = new TrafficWindow();
      w.finished(1000, ms, true);
      const sums = w.sum(1, 1);
      expect(sums.buckets[bucketOf(ms)], `${ms} ms`).toBe(1);
    }
  });
});
