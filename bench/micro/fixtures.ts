// Shared set-up for the balancer micro benches: member sets, balancers, one simulated request
// (pick + onStart + onFinish, as the pool does it) and pick() alone. Owns no measuring or
// printing.

import { createBalancer } from '../../src/balancer/index.ts';
import type { Balancer, BalancerName } from '../../src/balancer/types.ts';
import { Upstream } from '../../src/pool/upstream.ts';
import { defaultRng, seededRng } from '../../src/util/rng.ts';

export const SIZES = [3, 100, 1_000, 10_000] as const;
export const WEIGHTINGS = ['equal', 'mixed'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];
/** Requests kept in flight, so least-connections and ewma see load, not a pool at rest. */
export const IN_FLIGHT = 8;
/**
 * Simulated requests before pick() is timed alone: enough that ewma has measured most members
 * (at 40 per member, ~85 % of a 10 000-member mixed pool), so pick() reads decayed estimates
 * instead of the never-measured shortcut. ~30 ms at 10 000 members.
 */
export function warmUpSteps(size: number): number {
  return Math.max(200_000, 40 * size);
}

/** `size` upstreams; mixed weights cycle 1, 2, 3, 5, 8. */
export function makeMembers(size: number, weighting: Weighting): Upstream[] {
  const mixed = [1, 2, 3, 5, 8];
  const out: Upstream[] = [];
  for (let i = 0; i < size; i++) {
    out.push(new Upstream(`http://10.0.${(i >> 8) & 255}.${i & 255}:3000`, weighting === 'equal' ? 1 : mixed[i % 5]!));
  }
  return out;
}

export function makeBalancer(name: BalancerName, members: readonly Upstream[], seed = 0): Balancer {
  const b = createBalancer(name, { rng: seed === 0 ? defaultRng : seededRng(seed), decayMs: 10_000 });
  b.update(members);
  return b;
}

/** Distinct request keys the harness cycles through (consistent-hash reads them; the rest ignore them). */
export const KEY_COUNT = 1 << 16;
const KEYS = new Int32Array(KEY_COUNT);
const keyRng = seededRng(7);
for (let i = 0; i < KEY_COUNT; i++) KEYS[i] = Math.floor(keyRng() * 2 ** 30);

/**
 * Drives one balancer like the pool: each `step()` picks, starts the attempt, and finishes the
 * one started IN_FLIGHT steps ago (latency by member, 1 in 64 a failure). Allocates nothing.
 */
export class Traffic {
  readonly balancer: Balancer;
  private readonly ring: Upstream[];
  private head: number;
  private nowMs: number;
  private count: number;
  private keyAt: number;

  constructor(balancer: Balancer, members: readonly Upstream[]) {
    this.balancer = balancer;
    this.ring = [];
    for (let i = 0; i < IN_FLIGHT; i++) this.ring.push(members[0]!);
    this.head = 0;
    this.nowMs = 1_000;
    this.count = 0;
    this.keyAt = 0;
    // Fill the window so every step() finishes exactly one attempt.
    for (let i = 0; i < IN_FLIGHT; i++) this.begin(i);
  }

  step(): void {
    const h = this.head;
    const old = this.ring[h]!;
    // Whole milliseconds: small integers pass through calls unboxed, so any allocation seen
    // is the balancer's, not the harness's (a double argument to a call that isn't inlined
    // is boxed).
    this.nowMs += 1;
    // Finish the oldest attempt: 2–9 ms by member, 1 in 64 fails fast.
    old.inflight--;
    this.balancer.onFinish(old, this.nowMs, 2 + (old.id & 7), (++this.count & 63) !== 0);
    this.begin(h);
    this.head = h + 1 === IN_FLIGHT ? 0 : h + 1;
  }

  /** `count` steps, e.g. warmUpSteps(size) before timing pick() alone. */
  warm(count: number): void {
    for (let i = 0; i < count; i++) this.step();
  }

  /**
   * pick() alone (no onStart/onFinish): what the "pick() ≤ 50 ns" target measures, and how
   * pick-alloc.ts tells pick()'s allocations from the feedback hooks'. Balancer state holds
   * still meanwhile (except round-robin's cursor): in-flight counts and estimates stay as the
   * last step() left them. Each call takes the next of KEY_COUNT keys.
   */
  pickOnly(): number {
    const u = this.balancer.pick(null, this.nextKey());
    if (u === undefined) throw new Error('no member');
    return u.id;
  }

  /** Finishes everything in flight (inflight back to 0). */
  drain(): void {
    for (let i = 0; i < IN_FLIGHT; i++) {
      const u = this.ring[i]!;
      u.inflight--;
      this.balancer.onFinish(u, this.nowMs, 1, true);
    }
  }

  /** The next key, cycling (kept a small integer: never boxed). */
  private nextKey(): number {
    this.keyAt = (this.keyAt + 1) & (KEY_COUNT - 1);
    return KEYS[this.keyAt]!;
  }

  private begin(slot: number): void {
    const u = this.balancer.pick(null, this.nextKey());
    if (u === undefined) throw new Error('no member');
    u.inflight++;
    this.balancer.onStart(u, this.nowMs);
    this.ring[slot] = u;
  }
}
