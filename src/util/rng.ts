// Random numbers: the balancers take an Rng so tests can make them deterministic.

/** Returns a float in [0, 1). */
export type Rng = () => number;

export const defaultRng: Rng = Math.random;

/**
 * A small seeded PRNG (mulberry32) for deterministic tests and benchmarks.
 * Not for anything security related.
 */
export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
