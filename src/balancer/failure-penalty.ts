// Least-connections' memory of failures: each failed try counts as FAILURE_WEIGHT more request
// in flight on that upstream, fading exponentially with time constant PENALTY_DECAY_MS. It
// keeps one number per member slot and knows nothing of selection.
//
// Why: a fast failure (a 503 in 1 ms) leaves an upstream's in-flight count low, so plain
// least-connections sends it more than its share until passive ejection takes it out (which
// a 20 % failure rate never triggers). EWMA counts failures as slow; this is the same idea in
// in-flight units. With the penalty, an upstream failing at rate f while receiving r requests
// per second settles where its penalty f·r·τ matches its peers' in-flight: its share shrinks
// with its failure rate and grows back with the pool's load, and it fades in a few τ once the
// failures stop.
//
// Cost: pick() reads penalties without Math.exp. Each slot stores q = p·e^((t − t0)/τ), the
// penalty p it had at time t carried to a shared reference time t0, so every penalty at `now`
// is q·E with one E = e^(−(now − t0)/τ) per pick, computed only while some penalty is still
// above PENALTY_FLOOR (0 otherwise: the common case costs a comparison). t0 moves forward
// (an O(n) rebase) every REBASE_MS so the stored values stay finite.

import type { Upstream } from '../pool/upstream.ts';

/** A failure counts as this many requests in flight, as it happens. */
export const FAILURE_WEIGHT = 1;
/** Time constant of the fading (ms): a failure's weight is 1/e after this long. */
export const PENALTY_DECAY_MS = 1_000;
/** No upstream's penalty exceeds this many requests in flight. */
export const PENALTY_CAP = 32;
/** Below this a penalty counts as gone (pick() stops computing penalties). */
const PENALTY_FLOOR = 1e-3;
/** t0 moves to now once it is this far behind (e^(30·τ/τ) ≈ 1e13: far from overflow). */
const REBASE_MS = 30 * PENALTY_DECAY_MS;
/** factor() is recomputed once the clock has moved this far (it then changes by < 1.6 %). */
const FACTOR_STEP_MS = PENALTY_DECAY_MS / 64;
/** Slots of FailurePenalty.state. */
const NOW = 0;
const T0 = 1;
const ACTIVE_UNTIL = 2;
/** factor()'s last value and the clock time it was computed for. */
const FACTOR = 3;
const FACTOR_AT = 4;

/** Fading failure penalties by member slot. record() O(1) (O(n) when rebasing), factor() O(1). */
export class FailurePenalty {
  /** q by slot (see the header): the penalty at `now` is q[slot] × factor(). */
  private q: Float64Array;
  private slotOf: Map<Upstream, number>;
  /**
   * [NOW] latest clock time seen; [T0] the reference time; [ACTIVE_UNTIL] when the largest
   * penalty fades below PENALTY_FLOOR. A typed array: V8 boxes doubles in object fields.
   */
  private readonly state: Float64Array;

  constructor() {
    this.q = new Float64Array(0);
    this.slotOf = new Map();
    this.state = new Float64Array(5);
    this.state[FACTOR_AT] = -Infinity;
  }

  /** Off the hot path: re-slots for a new member list, keeping each upstream's penalty. O(n). */
  update(members: readonly Upstream[]): void {
    const q = new Float64Array(members.length);
    const slotOf = new Map<Upstream, number>();
    for (let i = 0; i < members.length; i++) {
      const u = members[i]!;
      const old = this.slotOf.get(u);
      if (old !== undefined) q[i] = this.q[old]!;
      slotOf.set(u, i);
    }
    this.q = q;
    this.slotOf = slotOf;
  }

  /** Moves the clock forward (onStart/onFinish). O(1). */
  observe(nowMs: number): void {
    if (nowMs > this.state[NOW]!) this.state[NOW] = nowMs;
  }

  /** A try on `u` failed at `nowMs`: adds FAILURE_WEIGHT (capped). Ignores non-members. O(1). */
  record(u: Upstream, nowMs: number): void {
    this.observe(nowMs);
    const slot = this.slotOf.get(u);
    if (slot === undefined) return;
    const state = this.state;
    const now = state[NOW]!;
    if (now - state[T0]! > REBASE_MS) this.rebase(now);
    const grow = Math.exp((now - state[T0]!) / PENALTY_DECAY_MS);
    const p = Math.min(this.q[slot]! / grow + FAILURE_WEIGHT, PENALTY_CAP);
    this.q[slot] = p * grow;
    const until = now + PENALTY_DECAY_MS * Math.log(p / PENALTY_FLOOR);
    if (until > state[ACTIVE_UNTIL]!) state[ACTIVE_UNTIL] = until;
  }

  /**
   * The multiplier that turns q[slot] into the penalty at the latest time seen: 0 when every
   * penalty has faded. Math.exp runs at most once per FACTOR_STEP_MS of clock (a value up to
   * 1.6 % stale is fine for a penalty that fades over seconds). Hot path: O(1), allocates nothing.
   */
  factor(): number {
    const state = this.state;
    const now = state[NOW]!;
    if (now >= state[ACTIVE_UNTIL]!) return 0;
    if (now - state[FACTOR_AT]! >= FACTOR_STEP_MS) {
      state[FACTOR] = Math.exp((state[T0]! - now) / PENALTY_DECAY_MS);
      state[FACTOR_AT] = now;
    }
    return state[FACTOR]!;
  }

  /** q by slot, as of the last update(): pick() reads q[i] × factor(). */
  get values(): Float64Array {
    return this.q;
  }

  /** `u`'s penalty now, in requests (for tests and /status). O(1). */
  penaltyOf(u: Upstream): number {
    const slot = this.slotOf.get(u);
    return slot === undefined ? 0 : this.q[slot]! * this.factor();
  }

  /** Carries every q to the reference time `now`. O(n), every REBASE_MS at most. */
  private rebase(now: number): void {
    const shrink = Math.exp((this.state[T0]! - now) / PENALTY_DECAY_MS);
    for (let i = 0; i < this.q.length; i++) this.q[i] = this.q[i]! * shrink;
    this.state[T0] = now;
    this.state[FACTOR_AT] = -Infinity;
  }
}
