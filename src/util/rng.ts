// Random numbers: the Rng type the balancers take (so tests can make them deterministic), and
// the one mulberry32 generator step behind both seeded sources (seededRng here, the balancers'
// FastRng). Not for anything security related.

/** Returns a float in [0, 1). */
export type Rng = () => number;

export const defaultRng: Rng = Math.random;

/** mulberry32's additive constant (Weyl sequence step). */
const GOLDEN_GAMMA = 0x6d2b79f5;

/**
 * One mulberry32 step: advances `state[0]` and returns the next output as a signed int32 whose
 * bits are the generator's uint32 output (`>>> 0` for the unsigned value, `>>> 2` for 30 bits).
 * The state lives in an Int32Array so updating it never allocates. O(1).
 */
export function mulberry32(state: Int32Array): number {
  const s = (state[0]! + GOLDEN_GAMMA) | 0;
  state[0] = s;
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return t ^ (t >>> 14);
}

/**
 * A small seeded PRNG (mulberry32) for deterministic tests and benchmarks: floats in [0, 1)
 * with 32 random bits. Not for anything security related.
 */
export function seededRng(seed: number): Rng {
  const state = new Int32Array(1);
  state[0] = seed | 0;
  return () => (mulberry32(state) >>> 0) / 4294967296;
}
