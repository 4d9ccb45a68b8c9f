import { describe, expect, it } from 'vitest';
import { makeUpstreams } from './conformance.case.ts';
import { FAILURE_WEIGHT, FailurePenalty, PENALTY_CAP, PENALTY_DECAY_MS } from './failure-penalty.ts';

describe('failure penalty', () => {
  it('adds FAILURE_WEIGHT per failure and fades by 1/e per PENALTY_DECAY_MS', () => {
    const [a, b] = makeUpstreams([1, 1]);
    const p = new FailurePenalty();
    p.update([a!, b!]);
    expect(p.factor()).toBe(0);
    p.record(a!, 1_000);
    p.record(a!, 1_000);
    expect(p.penaltyOf(a!)).toBeCloseTo(2 * FAILURE_WEIGHT, 9);
    expect(p.penaltyOf(b!)).toBe(0);
    p.observe(1_000 + PENALTY_DECAY_MS);
    expect(p.penaltyOf(a!)).toBeCloseTo((2 * FAILURE_WEIGHT) / Math.E, 9);
    // Long after, it is gone and pick() skips the arithmetic.
    p.observe(1_000 + 20 * PENALTY_DECAY_MS);
    expect(p.factor()).toBe(0);
    expect(p.penaltyOf(a!)).toBe(0);
  });

  it('is capped, survives re-slotting, and stays exact across reference-time rebases', () => {
    const [a, b, c] = makeUpstreams([1, 1, 1]);
    const p = new FailurePenalty();
    p.update([a!, b!]);
    for (let i = 0; i < 1_000; i++) p.record(b!, 5_000);
    expect(p.penaltyOf(b!)).toBeCloseTo(PENALTY_CAP, 9);
    p.update([c!, b!]);
    expect(p.penaltyOf(b!)).toBeCloseTo(PENALTY_CAP, 9);
    expect(p.penaltyOf(a!)).toBe(0);
    // A failure a day later: t0 is rebased, the old penalty has faded, the new one is exact.
    p.record(c!, 86_400_000);
    expect(p.penaltyOf(c!)).toBeCloseTo(FAILURE_WEIGHT, 9);
    expect(p.penaltyOf(b!)).toBeLessThan(1e-12);
    expect(Number.isFinite(p.values[0]!)).toBe(true);
  });

  it('ignores failures of upstreams that are no longer members', () => {
    const [a, b] = makeUpstreams([1, 1]);
    const p = new FailurePenalty();
    p.update([a!]);
    p.record(b!, 1_000);
    expect(p.penaltyOf(b!)).toBe(0);
    expect(p.factor()).toBe(0);
  });
});
