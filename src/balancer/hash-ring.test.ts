import { describe, expect, it } from 'vitest';
import { seededRng } from '../util/rng.ts';
import { HashRing, MAX_POINTS, POINTS_PER_WEIGHT, ditherOf, originSeed, pointCount, pointsPerWeight } from './hash-ring.ts';

const origins = (n: number) => Array.from({ length: n }, (_, i) => `http://10.0.${i >> 8}.${i & 255}:80`);

describe('hash-ring', () => {
  it('finds the first point at or after a key, wrapping past the last (checked against a linear search)', () => {
    const o = origins(7);
    const ring = new HashRing(o, new Float64Array([1, 2, 1, 3, 1, 1, 5]), 16);
    for (let p = 1; p < ring.size; p++) expect(ring.positions[p]!).toBeGreaterThanOrEqual(ring.positions[p - 1]!);
    const rng = seededRng(3);
    const probe = (key: number) => {
      for (let p = 0; p < ring.size; p++) if (ring.positions[p]! >= key) return p;
      return 0;
    };
    for (let i = 0; i < 5_000; i++) {
      const key = Math.floor(rng() * 2 ** 30);
      expect(ring.find(key)).toBe(probe(key));
    }
    for (let p = 0; p < ring.size; p++) expect(ring.find(ring.positions[p]!)).toBe(probe(ring.positions[p]!));
    expect(ring.find(2 ** 30 - 1)).toBe(probe(2 ** 30 - 1));
    expect(ring.find(0)).toBe(0);
  });

  it('its key table agrees with find() wherever it answers, and answers for most keys', () => {
    for (const [n, perWeight] of [[3, 1024], [40, 64], [500, 3]] as const) {
      const ring = new HashRing(origins(n), new Float64Array(n).fill(1), perWeight);
      const rng = seededRng(n);
      let answered = 0;
      const N = 20_000;
      for (let i = 0; i < N; i++) {
        const key = Math.floor(rng() * 2 ** 30);
        const entry = ring.table[key >>> ring.tableShift]!;
        if ((key & ring.offsetMask) > entry >>> 16) continue;
        answered++;
        expect(entry & 0xffff).toBe(ring.owners[ring.find(key)]);
      }
      expect(answered / N).toBeGreaterThan(0.75);
    }
  });

  it('gives each member points in proportion to weight, none for weight 0', () => {
    const ring = new HashRing(origins(3), new Float64Array([1, 0, 3]), 100);
    const c = [0, 0, 0];
    for (let p = 0; p < ring.size; p++) c[ring.owners[p]!]!++;
    expect(c).toEqual([100, 0, 300]);
  });

  it('places a member’s points by its origin alone: the same in any set', () => {
    const o = origins(5);
    const full = new HashRing(o, new Float64Array([1, 1, 1, 1, 1]), 64);
    const part = new HashRing([o[1]!, o[3]!], new Float64Array([1, 1]), 64);
    const of = (ring: HashRing, slot: number) => [...ring.positions].filter((_, p) => ring.owners[p] === slot).sort((a, b) => a - b);
    expect(of(part, 0)).toEqual(of(full, 1));
    expect(of(part, 1)).toEqual(of(full, 3));
  });

  it('keeps POINTS_PER_WEIGHT up to the budget, then scales to MAX_POINTS', () => {
    expect(pointsPerWeight(4)).toBe(POINTS_PER_WEIGHT);
    expect(pointsPerWeight(MAX_POINTS / POINTS_PER_WEIGHT)).toBe(POINTS_PER_WEIGHT);
    expect(pointsPerWeight(10_000)).toBeCloseTo(MAX_POINTS / 10_000, 9);
    // Whole counts are exact; a fractional one rounds by the member's own dither, never to 0.
    expect(pointCount(2, 1024, 0.99)).toBe(2048);
    expect(pointCount(1, 0.001, 0)).toBe(1);
    const d = ditherOf(originSeed('http://a:1'));
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThan(1);
    expect(pointCount(1, 104.5, d)).toBe(d < 0.5 ? 104 : 105);
  });

  it('an empty ring has no points', () => {
    const ring = new HashRing([], new Float64Array(0), 1);
    expect(ring.size).toBe(0);
  });
});
