// consistent-hash: requests with the same key go to the same upstream (nginx `hash …
// consistent`, HAProxy `hash-type consistent`, Envoy ring hash), with bounded loads (Mirrokni,
// Thorup, Zadimoghaddam 2017; HAProxy `hash-balance-factor`, Envoy `hash_balance_factor`).
// It places keys on a ring (hash-ring.ts) and walks it; finding the key is hash-key.ts's job,
// health is the pool's (it says which members are selectable).
//
// Choices, and why:
// - The ring is built over every configured upstream (`update()`'s `all`), not only the
//   selectable ones, and a selectability bitmap says which points count: a member that goes
//   down or is ejected has its keys walked past to the next point clockwise, so only its keys
//   move, and they come back with it; a pure health change costs O(n) (the bitmap and the
//   random draw table), not a ring rebuild. When the members hold under 1/8 of the weight,
//   the ring is rebuilt over the members alone (same placement: a ring over a subset places
//   keys as the full ring with the others skipped), so walks stay short.
// - The walk from the key's point skips a member that is not selectable, was already tried by
//   this request (a retry goes to the key's next upstream), or is over its bounded load:
//   in-flight ≥ ⌈loadFactor × (pool in-flight + 1) × weight / Σ member weight⌉, the pool's
//   in-flight counted in onStart/onFinish. The caps sum to more than the pool's in-flight, so
//   some member is always under its cap. Walks are capped at MAX_WALK points (reached only when
//   nearly the whole ring is tried or loaded); then the first untried member seen, else a
//   weighted random one.
// - A request without a key (NO_KEY) is balanced as `random` (WeightedMembers.pickByWeight).

import type { Upstream } from '../pool/upstream.ts';
import { HashRing, RING_BITS, pointsPerWeight } from './hash-ring.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';
import { WeightedMembers } from './weighted-members.ts';

/** Bounded loads when the options say nothing: 125 %, as the spec's default. */
export const DEFAULT_LOAD_FACTOR = 1.25;
/** Points a pick walks at most before it settles for the first untried member it saw. */
export const MAX_WALK = 128;
/** Below this share of the configured weight selectable, the ring is rebuilt over the members alone. */
const COMPACT_BELOW = 1 / 8;
/** Keys are folded to the ring's 30 bits. */
const KEY_MASK = (1 << RING_BITS) - 1;
/** Slots of ConsistentHashBalancer.state. */
const MEMBER_WEIGHT = 0;
const LOAD_FACTOR = 1;

/**
 * Consistent hashing on a ring with bounded loads. pick O(1) expected (O(MAX_WALK) worst),
 * onStart/onFinish O(1), none allocates; update() O(n) for a health change, O(P) when the
 * configured set or a weight changes (P ≤ 2^20 points).
 */
export class ConsistentHashBalancer extends WeightedMembers implements Balancer {
  readonly name: BalancerName;
  private ring: HashRing;
  /** The upstreams the ring was built over, by slot. */
  private placed: readonly Upstream[];
  /** placed[slot].weight as of the build. */
  private placedWeights: Float64Array;
  /** The `all` array the ring was built from (null when built over the members: compact). */
  private placedFrom: readonly Upstream[] | null;
  private slotOf: Map<Upstream, number>;
  /** 1 when placed[slot] is a member (selectable). */
  private selectable: Uint8Array;
  /**
   * [MEMBER_WEIGHT] Σ weight of the members; [LOAD_FACTOR] the bounded-loads factor, Infinity
   * when off. A typed array: V8 boxes doubles stored in object fields.
   */
  private readonly state: Float64Array;
  /** Attempts this balancer started that have not finished: the pool's in-flight. */
  private inflight: number;
  /** Key shares by slot, computed on demand (keyShare()); null after an update. */
  private shares: Float64Array | null;
  /** Bounded loads on (loadFactor not null): pick() reads in-flight counts. */
  private readonly isBounded: boolean;
  /** Rings built so far: tests and the bench check that a health change builds none. */
  builds: number;

  constructor(opts: BalancerOptions) {
    super(opts);
    this.name = 'consistent-hash';
    this.ring = new HashRing([], new Float64Array(0), 1);
    this.placed = [];
    this.placedWeights = new Float64Array(0);
    this.placedFrom = null;
    this.slotOf = new Map();
    this.selectable = new Uint8Array(0);
    this.state = new Float64Array(2);
    const factor = opts.loadFactor === undefined ? DEFAULT_LOAD_FACTOR : opts.loadFactor;
    this.state[LOAD_FACTOR] = factor === null ? Infinity : factor;
    this.isBounded = factor !== null;
    this.inflight = 0;
    this.shares = null;
    this.builds = 0;
  }

  /**
   * Off the hot path. Rebuilds the ring when `all` or a weight changed (or the selectable share
   * crossed COMPACT_BELOW), else only the selectable bitmap; and the random draw table for
   * requests without a key. `all` defaults to `members`. O(n), O(P) with a rebuild.
   */
  override update(members: readonly Upstream[], all: readonly Upstream[] = members): void {
    super.update(members);
    this.shares = null;
    let allWeight = 0;
    for (let i = 0; i < all.length; i++) allWeight += all[i]!.weight;
    let memberWeight = 0;
    for (let i = 0; i < members.length; i++) memberWeight += members[i]!.weight;
    this.state[MEMBER_WEIGHT] = memberWeight;
    const perWeight = pointsPerWeight(allWeight);
    // Compact when the members hold under COMPACT_BELOW of the weight (points follow weight).
    const compact = memberWeight < allWeight * COMPACT_BELOW || !this.covers(all, members);
    if (compact) this.build(members, null, perWeight);
    else if (this.placedFrom !== all || !this.sameWeights(all)) this.build(all, all, perWeight);
    const selectable = new Uint8Array(this.placed.length);
    for (let i = 0; i < members.length; i++) {
      const slot = this.slotOf.get(members[i]!);
      if (slot !== undefined) selectable[slot] = 1;
    }
    this.selectable = selectable;
  }

  /**
   * Hot path, allocates nothing. With a key: the first member clockwise from the key's point
   * that is selectable, untried and under its bounded load. Without: weighted random.
   */
  pick(tried: readonly Upstream[] | null, key: number): Upstream | undefined {
    if (key < 0) return this.pickByWeight(tried);
    if (this.members.length === 0) return undefined;
    const ring = this.ring;
    const k = key & KEY_MASK;
    const hasTried = tried !== null && tried.length > 0;
    // The usual case: the key's own upstream, one table read away (see HashRing).
    const entry = ring.table[k >>> ring.tableShift]!;
    if ((k & ring.offsetMask) <= entry >>> 16) {
      const first = entry & 0xffff;
      if (this.selectable[first] !== 0) {
        const u = this.placed[first]!;
        if ((!hasTried || !wasTried(tried, u)) && (!this.isBounded || u.inflight < this.capOf(first))) return u;
      }
    }
    return this.walk(tried, ring.find(k));
  }

  /** Counts the attempt in the pool's in-flight (bounded loads). O(1). */
  onStart(_u: Upstream, _nowMs: number): void {
    this.inflight++;
  }

  /** The attempt ended. O(1). */
  onFinish(_u: Upstream, _nowMs: number, _latencyMs: number, _ok: boolean): void {
    if (this.inflight > 0) this.inflight--;
  }

  /**
   * Share of the key space (0–1) that goes to `u` first while nothing is loaded or tried: what
   * /status can show as "hash keys owned". 0 when `u` is not a member. O(P) on the first call
   * after an update, then O(1); allocates then.
   */
  keyShare(u: Upstream): number {
    const slot = this.slotOf.get(u);
    if (slot === undefined || this.selectable[slot] === 0) return 0;
    if (this.shares === null) this.shares = this.computeShares();
    return this.shares[slot]!;
  }

  /** Bytes held by the ring (for the bench). */
  get ringBytes(): number {
    return this.ring.bytes;
  }

  /** Points on the ring (for the bench). */
  get ringPoints(): number {
    return this.ring.size;
  }

  /**
   * The bounded-loads cap of the upstream in `slot`: ⌈loadFactor × (pool in-flight + 1) ×
   * weight / Σ member weight⌉ (Infinity when off). O(1).
   */
  private capOf(slot: number): number {
    return Math.ceil((this.state[LOAD_FACTOR]! * (this.inflight + 1) * this.placedWeights[slot]!) / this.state[MEMBER_WEIGHT]!);
  }

  /**
   * pick()'s walk when the key's own upstream is skipped: clockwise from point `p` to the first
   * member that is selectable, untried and under its cap. O(MAX_WALK) at most. Takes no double
   * argument: one passed to a call V8 does not inline would be boxed.
   */
  private walk(tried: readonly Upstream[] | null, p: number): Upstream | undefined {
    const ring = this.ring;
    const size = ring.size;
    const owners = ring.owners;
    const placed = this.placed;
    const selectable = this.selectable;
    const hasTried = tried !== null && tried.length > 0;
    const bounded = this.isBounded;
    const steps = size < MAX_WALK ? size : MAX_WALK;
    let untried = -1;
    for (let s = 0; s < steps; s++) {
      const slot = owners[p]!;
      if (selectable[slot] !== 0) {
        const u = placed[slot]!;
        if (!hasTried || !wasTried(tried, u)) {
          if (!bounded || u.inflight < this.capOf(slot)) return u;
          if (untried < 0) untried = slot;
        }
      }
      p = p + 1 === size ? 0 : p + 1;
    }
    return untried >= 0 ? placed[untried] : this.pickByWeight(tried);
  }

  /** Builds the ring over `set`; `from` is the `all` it came from (null: compact, over the members). */
  private build(set: readonly Upstream[], from: readonly Upstream[] | null, perWeight: number): void {
    const n = set.length;
    const origins: string[] = [];
    const weights = new Float64Array(n);
    const slotOf = new Map<Upstream, number>();
    for (let i = 0; i < n; i++) {
      const u = set[i]!;
      origins.push(u.origin);
      weights[i] = u.weight;
      slotOf.set(u, i);
    }
    this.ring = new HashRing(origins, weights, perWeight);
    this.builds++;
    this.placed = set.slice();
    this.placedWeights = weights;
    this.placedFrom = from;
    this.slotOf = slotOf;
  }

  /** True when the ring was built from `all` with the weights `all` has now. O(n). */
  private sameWeights(all: readonly Upstream[]): boolean {
    if (all.length !== this.placed.length) return false;
    for (let i = 0; i < all.length; i++) if (all[i] !== this.placed[i] || all[i]!.weight !== this.placedWeights[i]) return false;
    return true;
  }

  /** True when every member is in `all` (the pool always hands a subset; a test may not). O(n). */
  private covers(all: readonly Upstream[], members: readonly Upstream[]): boolean {
    if (all === members) return true;
    const set = new Set(all);
    for (let i = 0; i < members.length; i++) if (!set.has(members[i]!)) return false;
    return true;
  }

  /** Arc of the circle each selectable slot serves first (skipping unselectable points). O(P). */
  private computeShares(): Float64Array {
    const ring = this.ring;
    const shares = new Float64Array(this.placed.length);
    const circle = 2 ** RING_BITS;
    // A point serves the arc back to the previous selectable point.
    let last = -1;
    for (let p = ring.size - 1; p >= 0 && last < 0; p--) if (this.selectable[ring.owners[p]!] !== 0) last = p;
    if (last < 0) return shares;
    let prev = ring.positions[last]! - circle;
    for (let p = 0; p < ring.size; p++) {
      const slot = ring.owners[p]!;
      if (this.selectable[slot] === 0) continue;
      shares[slot] = shares[slot]! + (ring.positions[p]! - prev) / circle;
      prev = ring.positions[p]!;
    }
    return shares;
  }
}
