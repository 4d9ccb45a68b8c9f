import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.ts';

describe('RetryBudget', () => {
  it('allows retries up to the percentage of requests in the window', () => {
    const b = new RetryBudget(20, 0);
    let allowed = 0;
    for (let i = 0; i < 100; i++) {
      b.recordRequest(1000);
      if (b.tryAcquire(1000)) allowed++;
      if (b.tryAcquire(1000)) allowed++;
    }
    expect(allowed).toBeGreaterThanOrEqual(19);
    expect(allowed).toBeLessThanOrEqual(21);
  });

  it('has a floor so a quiet pool can still fail over', () => {
    const b = new RetryBudget(20, 10);
    let allowed = 0;
    for (let i = 0; i < 500; i++) if (b.tryAcquire(5000)) allowed++;
    expect(allowed).toBe(100); // 10/s over the 10 s window
  });

  it('forgets requests and retries older than the window', () => {
    const b = new RetryBudget(20, 0);
    for (let i = 0; i < 100; i++) b.recordRequest(0);
    let allowed = 0;
    while (b.tryAcquire(500)) allowed++;
    expect(allowed).toBe(20);
    expect(b.tryAcquire(10_999)).toBe(false);
    for (let i = 0; i < 10; i++) b.recordRequest(11_000);
    expect(b.available(11_000)).toBe(2); // the old window is gone
  });
});
