// Smooth weighted round-robin (nginx's algorithm): the order of picks for a member set.
// It ignores load and latency on purpose; in-flight and health belong to the pool.
//
// Design. nginx adds every weight to a per-member counter, picks the largest counter (first
// in member order on ties) and subtracts the total from it: O(n) per pick. Two facts make it
// cheaper here without changing a single pick:
//  1. Members of equal weight are always picked in member order (their counters differ only
//     by whole totals), so each distinct weight is one *group* whose "front" member carries
//     the group's counter. A step is O(G), G = number of distinct weights (usually 1 to 3).
//  2. After Σweight steps every counter is back to 0, so the sequence is periodic. `update()`
//     runs one period into an Int32Array (weights divided by their gcd first, which gives the
//     same order) and `pick()` is an index step.
// When the period would exceed CYCLE_CAP entries, weights are not integers, or building would
// cost more than BUILD_WORK_CAP group steps, `pick()` runs the grouped O(G) step live instead.

import type { Rng } from '../util/rng.ts';
import type { Upstream } from '../pool/upstream.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';

/** Longest precomputed cycle: 65 536 entries = 256 KiB per pool. */
export const CYCLE_CAP = 1 << 16;
/** Most group steps `update()` may spend building a cycle (cycle length × distinct weights). */
export const BUILD_WORK_CAP = 1 << 23;
/** Steps a re-pick takes past tried members before it scans the member list instead. */
const TRIED_STEPS = 16;
/** Live mode: at most this many group steps to move to a random starting point. */
const LIVE_SEED_WORK = 1 << 16;

/**
 * Smooth weighted round-robin. With weights 5,1,1 the cycle is `a a b a c a a`. Each
 * instance starts at a random point of its cycle (Envoy's `seed_`), so processes sharing a
 * pool do not move in lock step.
 */
export class RoundRobinBalancer implements Balancer {
  readonly name: BalancerName;
  private readonly rng: Rng;
  private members: readonly Upstream[];
  /** One period of member indexes; empty in live mode. */
  private cycle: Int32Array;
  private cycleLen: number;
  private cursor: number;
  private isLive: boolean;

  // Grouped smooth WRR state (used to build the cycle, and per pick in live mode).
  private groupCount: number;
  /** Sum of all weights (the amount the picked counter drops by). */
  private total: number;
  private groupWeight: Float64Array;
  /** Counter of each group's front member. */
  private groupValue: Float64Array;
  private groupStart: Int32Array;
  private groupLen: Int32Array;
  /** Position of the front member inside its group. */
  private groupPos: Int32Array;
  /** Member indexes grouped by weight, in member order inside each group. */
  private groupMembers: Int32Array;

  constructor(opts: BalancerOptions) {
    this.name = 'round-robin';
    this.rng = opts.rng;
    this.members = [];
    this.cycle = new Int32Array(0);
    this.cycleLen = 0;
    this.cursor = 0;
    this.isLive = false;
    this.groupCount = 0;
    this.total = 0;
    this.groupWeight = new Float64Array(0);
    this.groupValue = new Float64Array(0);
    this.groupStart = new Int32Array(0);
    this.groupLen = new Int32Array(0);
    this.groupPos = new Int32Array(0);
    this.groupMembers = new Int32Array(0);
  }

  /**
   * Off the hot path. Groups members by weight and precomputes one cycle.
   * O(n + cycle × G) with cycle ≤ CYCLE_CAP and cycle × G ≤ BUILD_WORK_CAP; allocates.
   */
  update(members: readonly Upstream[]): void {
    const n = members.length;
    this.members = members.slice();
    this.cursor = 0;
    this.cycle = new Int32Array(0);
    this.cycleLen = 0;
    this.isLive = false;
    if (n === 0) {
      this.groupCount = 0;
      return;
    }

    // Integer weights reduced by their gcd give the same order with a shorter cycle.
    let integral = true;
    let g = 0;
    for (let i = 0; i < n; i++) {
      const w = members[i]!.weight;
      if (!Number.isSafeInteger(w)) integral = false;
      else g = gcd(g, w);
    }
    const div = integral && g > 0 ? g : 1;

    const groupOf = new Map<number, number>();
    const counts: number[] = [];
    const weights: number[] = [];
    const memberGroup = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = members[i]!.weight / div;
      total += w;
      let k = groupOf.get(w);
      if (k === undefined) {
        k = weights.length;
        groupOf.set(w, k);
        weights.push(w);
        counts.push(0);
      }
      counts[k]!++;
      memberGroup[i] = k;
    }
    const G = weights.length;
    this.groupCount = G;
    this.total = total;
    this.groupWeight = Float64Array.from(weights);
    this.groupValue = new Float64Array(G);
    this.groupStart = new Int32Array(G);
    this.groupLen = Int32Array.from(counts);
    this.groupPos = new Int32Array(G);
    this.groupMembers = new Int32Array(n);
    for (let k = 1; k < G; k++) this.groupStart[k] = this.groupStart[k - 1]! + this.groupLen[k - 1]!;
    const fill = new Int32Array(G);
    for (let i = 0; i < n; i++) {
      const k = memberGroup[i]!;
      this.groupMembers[this.groupStart[k]! + fill[k]!++] = i;
    }

    if (integral && total <= CYCLE_CAP && total * G <= BUILD_WORK_CAP) {
      const cycle = new Int32Array(total);
      for (let s = 0; s < total; s++) cycle[s] = this.step();
      // The counters are back at zero: the cycle repeats exactly.
      this.cycle = cycle;
      this.cycleLen = total;
      this.cursor = Math.floor(this.rng() * total) % total;
    } else {
      this.isLive = true;
      // No table to index into: start at a random point by running a bounded number of steps.
      const steps = Math.floor(this.rng() * Math.min(total, LIVE_SEED_WORK / G));
      for (let s = 0; s < steps; s++) this.step();
    }
  }

  /**
   * Hot path. The next member of the cycle not in `tried`; when every member was tried, the
   * next member. O(1) (O(G) in live mode); a re-pick costs O(k) per skipped slot, at most
   * TRIED_STEPS slots, then one O(n·k) scan. Allocates nothing.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    const members = this.members;
    const n = members.length;
    if (n === 0) return undefined;
    if (n === 1) return members[0];
    let idx = this.next();
    const first = members[idx]!;
    if (tried === null || tried.length === 0 || !wasTried(tried, first)) return first;
    for (let s = 0; s < TRIED_STEPS; s++) {
      idx = this.next();
      const u = members[idx]!;
      if (!wasTried(tried, u)) return u;
    }
    // Heavy tried members fill the cycle (e.g. weights 1000,1): take the next untried member
    // in member order instead of walking the whole cycle.
    for (let k = 1; k < n; k++) {
      let j = idx + k;
      if (j >= n) j -= n;
      const u = members[j]!;
      if (!wasTried(tried, u)) return u;
    }
    return first;
  }

  /** No-op: round-robin ignores load. O(1). */
  onStart(_u: Upstream, _nowMs: number): void {}

  /** No-op: round-robin ignores latency. O(1). */
  onFinish(_u: Upstream, _nowMs: number, _latencyMs: number, _ok: boolean): void {}

  /** The next member index of the schedule. */
  private next(): number {
    if (!this.isLive) {
      const i = this.cycle[this.cursor]!;
      const c = this.cursor + 1;
      this.cursor = c === this.cycleLen ? 0 : c;
      return i;
    }
    return this.step();
  }

  /**
   * One step of nginx's smooth WRR over groups: every counter grows by its weight, the
   * largest wins (lowest member index on ties, as nginx's first-in-order), and the winner
   * drops by the total. Within a group only the front's counter is kept: the next member has
   * the same counter, and when the front wraps to the start of the group every member has
   * been picked once more, so the counter drops by the total. O(G), allocates nothing.
   */
  private step(): number {
    const G = this.groupCount;
    const value = this.groupValue;
    const weight = this.groupWeight;
    const start = this.groupStart;
    const pos = this.groupPos;
    const groupMembers = this.groupMembers;
    let best = 0;
    let bestValue = -Infinity;
    let bestMember = 0;
    for (let k = 0; k < G; k++) {
      const v = value[k]! + weight[k]!;
      value[k] = v;
      const m = groupMembers[start[k]! + pos[k]!]!;
      if (v > bestValue || (v === bestValue && m < bestMember)) {
        best = k;
        bestValue = v;
        bestMember = m;
      }
    }
    const p = pos[best]! + 1;
    if (p === this.groupLen[best]) {
      pos[best] = 0;
      value[best] = bestValue - this.total;
    } else {
      pos[best] = p;
    }
    return bestMember;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
