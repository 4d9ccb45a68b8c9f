import { describe, expect, it } from 'vitest';
import { BALANCER_NAMES, type BalancerName } from '../config/types.ts';
import { seededRng } from '../util/rng.ts';
import { NO_KEY, balancerNames, createBalancer, isBalancerName } from './index.ts';

describe('balancer registry', () => {
  it('has one implementation per configurable name, reporting that name', () => {
    expect(balancerNames).toEqual(BALANCER_NAMES);
    for (const name of balancerNames) {
      const b = createBalancer(name, { rng: seededRng(1), decayMs: 10_000 });
      expect(b.name).toBe(name);
      expect(b.pick(null, NO_KEY)).toBeUndefined();
      expect(b.pick(null, 12345)).toBeUndefined();
    }
  });

  it('gives every call its own instance (one per pool)', () => {
    const opts = { rng: seededRng(1), decayMs: 10_000 };
    expect(createBalancer('round-robin', opts)).not.toBe(createBalancer('round-robin', opts));
  });

  it('rejects unknown names', () => {
    expect(isBalancerName('ewma')).toBe(true);
    expect(isBalancerName('least-conn')).toBe(false);
    expect(() => createBalancer('least-conn' as BalancerName, { rng: seededRng(1), decayMs: 1 })).toThrow(/unknown balancer/);
  });
});
