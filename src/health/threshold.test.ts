import { describe, expect, it } from 'vitest';
import { observe, type ThresholdState } from './threshold.ts';

/** Feeds `results` ('+' success, '-' failure) and returns the indexes at which the state flipped. */
function run(s: ThresholdState, results: string, healthy: number, unhealthy: number): number[] {
  const flips: number[] = [];
  for (let i = 0; i < results.length; i++) {
    if (observe(s, results[i] === '+', healthy, unhealthy)) flips.push(i);
  }
  return flips;
}

describe('observe', () => {
  it('marks an up upstream down after exactly unhealthyThreshold consecutive failures', () => {
    const s: ThresholdState = { up: true, streak: 0 };
    expect(observe(s, false, 2, 3)).toBe(false);
    expect(observe(s, false, 2, 3)).toBe(false);
    expect(s.up).toBe(true);
    expect(observe(s, false, 2, 3)).toBe(true);
    expect(s).toEqual({ up: false, streak: -3 });
    // Further failures change nothing but the count.
    expect(observe(s, false, 2, 3)).toBe(false);
    expect(s).toEqual({ up: false, streak: -4 });
  });

  it('marks a down upstream up after exactly healthyThreshold consecutive successes', () => {
    const s: ThresholdState = { up: false, streak: -5 };
    expect(observe(s, true, 2, 3)).toBe(false);
    expect(s).toEqual({ up: false, streak: 1 });
    expect(observe(s, true, 2, 3)).toBe(true);
    expect(s).toEqual({ up: true, streak: 2 });
    expect(observe(s, true, 2, 3)).toBe(false);
    expect(s.up).toBe(true);
  });

  it('starts from a fresh state (initialState down): up after healthyThreshold successes', () => {
    const s: ThresholdState = { up: false, streak: 0 };
    expect(run(s, '++', 3, 3)).toEqual([]);
    expect(run(s, '+', 3, 3)).toEqual([0]);
    expect(s.up).toBe(true);
  });

  it('restarts the count when results alternate', () => {
    const s: ThresholdState = { up: true, streak: 0 };
    expect(run(s, '--+--+--+', 2, 3)).toEqual([]);
    expect(s).toEqual({ up: true, streak: 1 });
    expect(run(s, '---', 2, 3)).toEqual([2]);
    expect(run(s, '+-+-+-+-', 2, 3)).toEqual([]);
    expect(s.up).toBe(false);
    expect(run(s, '++', 2, 3)).toEqual([1]);
  });

  it('never flaps faster than the thresholds allow', () => {
    // Pseudo-random results; between two flips there must be at least threshold results,
    // all of the kind that caused the second flip.
    let x = 12345;
    let results = '';
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      results += (x >>> 16) % 3 === 0 ? '-' : '+';
    }
    for (const [healthy, unhealthy] of [[1, 1], [2, 3], [3, 2], [5, 5]] as const) {
      const s: ThresholdState = { up: true, streak: 0 };
      let up = true;
      let last = -1;
      let flipCount = 0;
      for (let i = 0; i < results.length; i++) {
        const ok = results[i] === '+';
        if (!observe(s, ok, healthy, unhealthy)) continue;
        flipCount++;
        up = !up;
        expect(s.up).toBe(up);
        const need = up ? healthy : unhealthy;
        expect(i - last).toBeGreaterThanOrEqual(need);
        expect(results.slice(i - need + 1, i + 1)).toBe((up ? '+' : '-').repeat(need));
        last = i;
      }
      expect(flipCount).toBeGreaterThan(0);
    }
  });

  it('with thresholds of 1, every change of result flips', () => {
    const s: ThresholdState = { up: true, streak: 0 };
    expect(run(s, '+-+--++', 1, 1)).toEqual([1, 2, 3, 5]);
  });

  it('treats thresholds below 1 as 1', () => {
    const s: ThresholdState = { up: true, streak: 0 };
    expect(observe(s, false, 0, 0)).toBe(true);
    expect(observe(s, true, 0, 0)).toBe(true);
  });
});
