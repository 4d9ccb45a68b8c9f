import { describe, expect, it } from 'vitest';
import { Upstream, UpstreamFlag } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';
import { Driver, makeUpstreams, runConformance, selectable } from './conformance.case.ts';
import { ConsistentHashBalancer, DEFAULT_LOAD_FACTOR } from './consistent-hash.ts';
import { hashRange, mix30 } from './hash-key.ts';
import { NO_KEY } from './types.ts';

// Without a key it is `random`; with keys, the ring decides: both run the contract.
runConformance('consistent-hash', (opts) => new ConsistentHashBalancer(opts));
runConformance('consistent-hash', (opts) => new ConsistentHashBalancer(opts), { keyOf: (i) => mix30(i + 1), label: 'keyed' });

const make = (loadFactor: number | null = DEFAULT_LOAD_FACTOR) => new ConsistentHashBalancer({ rng: seededRng(1), decayMs: 10_000, loadFactor });
const keyOf = (s: string) => hashRange(s, 0, s.length);
const KEYS = Array.from({ length: 20_000 }, (_, i) => keyOf(`user-${i}`));

/** Where each key goes while nothing is loaded or tried. */
function placement(b: ConsistentHashBalancer, keys: readonly number[] = KEYS): Upstream[] {
  return keys.map((k) => b.pick(null, k)!);
}

function countBy(picks: readonly Upstream[], members: readonly Upstream[]): number[] {
  const c = members.map(() => 0);
  for (const u of picks) c[members.indexOf(u)]!++;
  return c;
}

/** Placement of KEYS over `members` before and after `members[index]` leaves. */
function leave(members: readonly Upstream[], index: number): { before: Upstream[]; after: Upstream[]; gone: Upstream; b: ConsistentHashBalancer } {
  const b = make();
  b.update(members);
  const before = placement(b);
  const gone = members[index]!;
  b.update(members.filter((u) => u !== gone));
  return { before, after: placement(b), gone, b };
}

/** A key's order of upstreams: the first pick, then each next one with the earlier ones tried. */
function orderOf(b: ConsistentHashBalancer, key: number, n: number): Upstream[] {
  const order: Upstream[] = [];
  for (let i = 0; i < n; i++) order.push(b.pick(order, key)!);
  return order;
}

describe('consistent-hash: placement', () => {
  it('sends a key to the same upstream every time while the set is unchanged (stickiness)', () => {
    const members = makeUpstreams([1, 1, 1, 1, 1]);
    const b = make();
    b.update(members);
    const d = new Driver(b, 1_000, (i) => mix30(i));
    const first = placement(b, KEYS.slice(0, 500));
    // Other traffic in between (started and finished) changes nothing.
    for (let i = 0; i < 2_000; i++) d.oneShot();
    expect(placement(b, KEYS.slice(0, 500))).toEqual(first);
    // Nor does an update with the same members (a no-op rebuild).
    b.update(members.slice());
    expect(placement(b, KEYS.slice(0, 500))).toEqual(first);
  });

  it('spreads 2 000 keys over 4 upstreams evenly (each within ±15 % of 500)', () => {
    const members = makeUpstreams([1, 1, 1, 1]);
    const b = make();
    b.update(members);
    const c = countBy(placement(b, KEYS.slice(0, 2_000)), members);
    for (const n of c) expect(Math.abs(n - 500)).toBeLessThan(75);
    // The ring's own shares: ±3 % around 1/4 at 1 024 points per upstream.
    let sum = 0;
    for (const u of members) {
      expect(Math.abs(b.keyShare(u) - 0.25)).toBeLessThan(0.25 * 0.1);
      sum += b.keyShare(u);
    }
    expect(sum).toBeCloseTo(1, 9);
  });

  it('honours weights: keys in proportion to weight', () => {
    const members = makeUpstreams([1, 2, 3, 4]);
    const b = make();
    b.update(members);
    const c = countBy(placement(b), members);
    for (let i = 0; i < 4; i++) expect(Math.abs(c[i]! / KEYS.length - (i + 1) / 10)).toBeLessThan(0.015);
    // Weight 0 (draining) owns nothing even when handed in `all`.
    const drained = new Upstream('http://127.0.0.1:4999', 0);
    b.update(members, [...members, drained]);
    expect(b.keyShare(drained)).toBe(0);
    expect(placement(b)).not.toContain(drained);
  });

  for (const n of [4, 10, 50]) {
    it(`moves only the leaving upstream's keys when one of ${n} leaves, and only the joiner's when it comes back`, () => {
      const members = makeUpstreams(new Array<number>(n).fill(1));
      const { before, after, gone, b } = leave(members, 1);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (before[i] !== gone) expect(after[i]).toBe(before[i]);
        else moved++;
      }
      // Exactly its own keys: about 1/n of them.
      expect(moved / KEYS.length).toBeLessThan(1 / n + 0.02);
      expect(moved / KEYS.length).toBeGreaterThan(1 / n - 0.02);
      // It joins again: the keys it takes are exactly the ones it had.
      b.update(members);
      expect(placement(b)).toEqual(before);
    });
  }

  it('a newcomer takes about 1/(N+1) of the keys, and nothing else moves', () => {
    const members = makeUpstreams(new Array<number>(9).fill(1));
    const b = make();
    b.update(members);
    const before = placement(b);
    const joiner = new Upstream('http://127.0.0.1:7001', 1);
    b.update([...members, joiner]);
    const after = placement(b);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) {
      if (after[i] === before[i]) continue;
      expect(after[i]).toBe(joiner);
      moved++;
    }
    expect(moved / KEYS.length).toBeLessThan(1 / 10 + 0.02);
    expect(moved / KEYS.length).toBeGreaterThan(1 / 10 - 0.02);
  });

  it('above 1 024 units of weight (ring scaled to its budget) one leaving moves about 2/N of the keys, not more', () => {
    const n = 2_000;
    const { before, after } = leave(makeUpstreams(new Array<number>(n).fill(1), 10_000), 17);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) if (after[i] !== before[i]) moved++;
    expect(moved / KEYS.length).toBeLessThan(3 / n + 0.001);
  });
});

describe('consistent-hash: health changes (the pool hands every configured upstream in `all`)', () => {
  it('a down or ejected upstream loses only its keys, without a ring rebuild, and gets the same keys back', () => {
    const all = makeUpstreams([1, 1, 1, 1, 1]);
    const b = make();
    b.update(selectable(all), all);
    const builds = b.builds;
    const before = placement(b);
    const out = all[2]!;
    out.flags = UpstreamFlag.Ejected;
    b.update(selectable(all), all);
    const during = placement(b);
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] !== out) expect(during[i]).toBe(before[i]);
      else expect(during[i]).not.toBe(out);
    }
    // Its keys spread over the others (its points sit all around the circle), not onto one.
    const heirs = new Set(during.filter((_, i) => before[i] === out));
    expect(heirs.size).toBe(4);
    out.flags = 0;
    b.update(selectable(all), all);
    expect(placement(b)).toEqual(before);
    expect(b.builds).toBe(builds);
  });

  it('with few upstreams left (a compact ring over the members) keys go where the full ring would send them', () => {
    const all = makeUpstreams(new Array<number>(40).fill(1));
    const b = make();
    b.update(all, all);
    const keys = KEYS.slice(0, 2_000);
    const left = [all[3]!, all[17]!, all[30]!, all[38]!];
    // The full ring's answer: walk past everyone else as if they had been tried.
    const others = all.filter((u) => !left.includes(u));
    const expected = keys.map((k) => b.pick(others, k)!);
    for (const u of others) u.flags = UpstreamFlag.DownActive;
    const builds = b.builds;
    b.update(selectable(all), all);
    expect(b.builds).toBe(builds + 1);
    expect(placement(b, keys)).toEqual(expected);
  });
});

describe('consistent-hash: bounded loads', () => {
  /** Starts `count` concurrent requests for `key`; checks the cap after each. */
  function hotKey(b: ConsistentHashBalancer, members: readonly Upstream[], key: number, count: number, factor: number): void {
    const d = new Driver(b, 1_000, () => key);
    let total = 0;
    const weight = members.reduce((a, u) => a + u.weight, 0);
    for (let i = 0; i < count; i++) {
      d.start(d.pick()!);
      total++;
      // No member above ⌈factor × in-flight × its weight share⌉ at any time.
      for (const u of members) expect(u.inflight).toBeLessThanOrEqual(Math.ceil((factor * total * u.weight) / weight));
    }
  }

  it('caps the hot key’s upstream at 125 % of the mean in-flight; the overflow follows the key’s order', () => {
    const members = makeUpstreams([1, 1, 1, 1]);
    const b = make();
    b.update(members);
    const key = keyOf('hot');
    const order = orderOf(b, key, 4);
    hotKey(b, members, key, 40, 1.25);
    // ⌈1.25 × 40 / 4⌉ = 13 on the key's own upstream; the rest spilled down the key's order
    // (each next one at most as loaded as the one before), reaching the fourth.
    const loads = order.map((u) => u.inflight);
    expect(loads[0]).toBe(13);
    for (let i = 1; i < 4; i++) expect(loads[i]).toBeLessThanOrEqual(loads[i - 1]!);
    expect(loads[3]).toBeGreaterThan(0);
    expect(loads.reduce((a, x) => a + x, 0)).toBe(40);
  });

  it('weights scale the cap', () => {
    const members = makeUpstreams([3, 1]);
    const b = make();
    b.update(members);
    const key = keyOf('hot');
    hotKey(b, members, key, 40, 1.25);
    expect(members[0]!.inflight + members[1]!.inflight).toBe(40);
    expect(members[0]!.inflight).toBeLessThanOrEqual(Math.ceil((1.25 * 40 * 3) / 4));
  });

  it('loadFactor off: every request of the hot key goes to its upstream', () => {
    const members = makeUpstreams([1, 1, 1, 1]);
    const b = make(null);
    b.update(members);
    const key = keyOf('hot');
    const [primary] = orderOf(b, key, 1);
    hotKey(b, members, key, 40, Infinity);
    expect(primary!.inflight).toBe(40);
  });

  it('counts the pool’s in-flight in onStart/onFinish: a finished burst frees the cap again', () => {
    const members = makeUpstreams([1, 1, 1, 1]);
    const b = make();
    b.update(members);
    const key = keyOf('hot');
    const [primary, second] = orderOf(b, key, 2);
    const d = new Driver(b, 1_000, () => key);
    const held: Upstream[] = [];
    for (let i = 0; i < 20; i++) {
      const u = d.pick()!;
      d.start(u);
      held.push(u);
    }
    expect(second!.inflight).toBeGreaterThan(0);
    for (const u of held) d.finish(u, 3);
    for (const u of members) expect(u.inflight).toBe(0);
    // Idle again: the key is back on its own upstream, however many come one at a time.
    for (let i = 0; i < 50; i++) expect(d.oneShot()).toBe(primary);
  });
});

describe('consistent-hash: retries and requests without a key', () => {
  it('a retry goes to the next upstream in the key’s order, the same one each time', () => {
    const members = makeUpstreams([1, 1, 1, 1, 1, 1]);
    const b = make();
    b.update(members);
    for (const key of KEYS.slice(0, 200)) {
      const [first, second, third] = orderOf(b, key, 3);
      expect(new Set([first, second, third]).size).toBe(3);
      for (let k = 0; k < 3; k++) {
        expect(b.pick([first!], key)).toBe(second);
        expect(b.pick([second!, first!], key)).toBe(third);
      }
    }
  });

  it('balances requests without a key like random, by weight', () => {
    const members = makeUpstreams([1, 3]);
    const b = make();
    b.update(members);
    let heavy = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) if (b.pick(null, NO_KEY) === members[1]) heavy++;
    expect(Math.abs(heavy / N - 0.75)).toBeLessThan(0.015);
  });

  it('folds any larger key into the ring’s 30 bits instead of reading past its index', () => {
    const members = makeUpstreams([1, 1, 1]);
    const b = make();
    b.update(members);
    for (const k of [2 ** 30, 2 ** 31 + 5, 2 ** 32 - 1]) expect(members).toContain(b.pick(null, k));
  });
});
