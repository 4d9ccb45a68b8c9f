// The Peak EWMA cost model (Finagle / Linkerd / tower lineage): how an upstream's latency
// estimate decays on read, folds in a sample, is penalised for a failure, and what a
// never-measured upstream is costed at (the pool's typical latency). The estimate lives on the
// Upstream (`u.ewma`: estimate ms as of a clock time) so it survives reloads. Choosing between
// upstreams is ewma.ts's job (with two-choices.ts's draws); this module owns no timers.
//
// Choices, and why:
// - Decay on read, towards 0: as of `now` the estimate is ewmaMs·e^(-(now - ewmaAt)/τ), so an
//   upstream that stopped getting traffic (because it was slow) looks cheaper every second
//   until P2C sends it a probe, whose answer replaces or blends the estimate. Reads never
//   write, so frequent picks don't bias it; members idle equally long keep their order.
// - A sample above the decayed estimate replaces it (the peak); a lower one blends in with
//   w = e^(-Δt/τ), Δt = time since the previous sample (tower's rule). τ = opts.decayMs.
// - Never measured (ewmaMs = 0): costed at the pool's typical latency, a running mean of the
//   successful samples this balancer saw (seeded from members measured before a reload).
//   Tower's fixed 1 s starves an upstream added to a warm pool until that prior decays;
//   Envoy's optimistic 10 ms sends a cold upstream a burst when peers are slower. "As fast as
//   its peers" gives it a fair share until its first answer. DEFAULT_RTT_MS (10 ms) applies
//   only before the pool's first sample, when every member is unmeasured and the value cannot
//   change the order; it only scales the first failure penalties.
// - Failures and timeouts count as slow, never fast (cf. Linkerd's penalty EWMA, PR #4537):
//   the sample is max(latency, min(FAILURE_FACTOR × max(decayed, typical),
//   PENALTY_CAP × typical)) and never lowers the current estimate. A fast 503 doubles the
//   estimate, a run of them backs off geometrically, and the cap (64× typical) bounds the
//   decay back to normal to τ·ln 64 ≈ 42 s at τ = 10 s; a timeout counts as its full latency.
// - Allocation: none. V8 (Node 24) boxes every double stored into a plain object field, so
//   the estimate lives in a Float64Array on Upstream and the model's own doubles in `state`.

import type { Upstream } from '../pool/upstream.ts';

/** Decay time constant τ when the options give none (ms). */
export const DEFAULT_DECAY_MS = 10_000;
/** Estimate for never-measured members while the pool has no sample at all (ms). */
export const DEFAULT_RTT_MS = 10;
/** A failed try counts as at least this many times the current estimate. */
export const FAILURE_FACTOR = 2;
/** A failure penalty never exceeds this many times the pool's typical latency. */
export const PENALTY_CAP = 64;
/** Weight of one successful sample in the pool's typical latency (count-based mean). */
const TYPICAL_ALPHA = 1 / 32;
/** Smallest sample or estimate (ms): keeps `inflight + 1` meaningful and 0 = "unmeasured". */
export const MIN_MS = 1e-6;
/**
 * ewma.ts's bounds comparison needs both decayed estimates above the MIN_MS floor: it takes
 * stored estimates ≥ FLOOR_SAFE_MS at most τ·ln(FLOOR_SAFE_MS / MIN_MS) old (≈ 92 s at
 * τ = 10 s). Other pairs take its exact path (two exps).
 */
export const FLOOR_SAFE_MS = 1e-2;

/** Slots of EwmaCost.state: the latest clock time seen (pick()'s "now"). */
export const NOW = 0;
/** The pool's typical successful latency (ms). */
export const TYPICAL = 1;
/** 1/τ (ms⁻¹). */
export const INV_TAU = 2;
/** τ·ln(FLOOR_SAFE_MS / MIN_MS) (ms). */
export const FLOOR_SPAN = 3;
/** Slots of `Upstream.ewma`: the estimate (ms) and the clock time it was stored at. */
export const EST = 0;
export const AT = 1;

/** τ for a configured decay time: DEFAULT_DECAY_MS unless positive. */
export function effectiveDecayMs(decayMs: number): number {
  return decayMs > 0 ? decayMs : DEFAULT_DECAY_MS;
}

/**
 * `u`'s estimate as the ewma balancer reads it at `nowMs`: decayed from `u.ewmaAt` with
 * τ = effectiveDecayMs(decayMs), never backwards (a stamp ahead of `nowMs` reads as stored),
 * floored at MIN_MS; 0 when never measured (the balancer then uses the pool's typical latency,
 * which only it knows). For /status and /metrics too. O(1), allocates nothing.
 */
export function decayedEstimateMs(u: Upstream, nowMs: number, decayMs: number): number {
  const stored = u.ewma[EST]!;
  if (!(stored > 0)) return 0;
  return Math.max(stored * Math.exp(Math.min(0, (u.ewma[AT]! - nowMs) / effectiveDecayMs(decayMs))), MIN_MS);
}

/** One pool's cost model: its clock, its typical latency, and the sample rules. O(1) per call. */
export class EwmaCost {
  readonly decayMs: number;
  /**
   * Balancer-wide doubles: [NOW] the latest clock time seen in onStart/onFinish; [TYPICAL] the
   * pool's typical successful latency in ms (DEFAULT_RTT_MS until a sample arrives); [INV_TAU]
   * and [FLOOR_SPAN], constants of ewma.ts's pick(). A typed array because V8 boxes every
   * double stored into an object field (a fresh HeapNumber each time).
   */
  readonly state: Float64Array;
  /** Whether state[TYPICAL] comes from samples yet. */
  private hasTypical: boolean;

  constructor(decayMs: number) {
    this.decayMs = effectiveDecayMs(decayMs);
    this.state = new Float64Array(4);
    this.state[TYPICAL] = DEFAULT_RTT_MS;
    this.state[INV_TAU] = 1 / this.decayMs;
    this.state[FLOOR_SPAN] = this.decayMs * Math.log(FLOOR_SAFE_MS / MIN_MS);
    this.hasTypical = false;
  }

  /**
   * Off the hot path (update()): moves the clock to the latest estimate's stamp and, before the
   * first sample, seeds the typical latency from members measured before (a reload keeps their
   * state). O(n).
   */
  seed(members: readonly Upstream[]): void {
    let sum = 0;
    let measured = 0;
    for (let i = 0; i < members.length; i++) {
      const u = members[i]!;
      if (u.ewmaMs > 0) {
        sum += u.ewmaMs;
        measured++;
        if (u.ewmaAt > this.state[NOW]!) this.state[NOW] = u.ewmaAt;
      }
    }
    if (!this.hasTypical && measured > 0) {
      this.state[TYPICAL] = sum / measured;
      this.hasTypical = true;
    }
  }

  /** Moves the clock forward to `nowMs` (never back). O(1). */
  observe(nowMs: number): void {
    if (nowMs > this.state[NOW]!) this.state[NOW] = nowMs;
  }

  /**
   * Folds one attempt's latency into `u.ewma` (also for an upstream no longer a member: its
   * state outlives the balancer). Failures are penalised, never fast. O(1), allocates nothing.
   */
  fold(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
    const state = this.state;
    if (nowMs > state[NOW]!) state[NOW] = nowMs;
    const latency = Math.max(latencyMs, MIN_MS);
    if (ok) {
      if (this.hasTypical) state[TYPICAL] = state[TYPICAL]! + (latency - state[TYPICAL]!) * TYPICAL_ALPHA;
      else {
        state[TYPICAL] = latency;
        this.hasTypical = true;
      }
    }
    const ewma = u.ewma;
    // w = e^(-Δt/τ), Δt since the last sample (never negative). Never measured: ewmaMs = 0, so
    // decayed = 0 and the first sample replaces it. Samples under τ/64 apart (156 ms at
    // τ = 10 s: every sample of a busy upstream) take e^y's Taylor polynomial to y⁷, within
    // 1 ulp of Math.exp (equal in 99.8 % of cases) and ~3 ns cheaper than the call.
    const y = Math.min(0, (ewma[AT]! - nowMs) / this.decayMs);
    const w =
      y >= -1 / 64
        ? 1 + y * (1 + y * (1 / 2 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y * (1 / 720 + y * (1 / 5040)))))))
        : Math.exp(y);
    const decayed = Math.max(ewma[EST]!, 0) * w;
    let next: number;
    if (!ok) {
      // The failure's sample: max(latency, min(FAILURE_FACTOR × max(decayed, typical),
      // PENALTY_CAP × typical)); and it only ever raises the estimate as read now.
      const typical = state[TYPICAL]!;
      const p = Math.max(latency, Math.min(FAILURE_FACTOR * Math.max(decayed, typical), PENALTY_CAP * typical));
      next = Math.max(p, decayed);
    } else {
      // Peak: a slower sample replaces the estimate; a faster one blends in with weight 1 - w.
      next = latency > decayed ? latency : decayed + latency * (1 - w);
    }
    ewma[EST] = Math.max(next, MIN_MS);
    ewma[AT] = nowMs;
  }

  /** `u`'s estimate as of the model's clock: decayed, or the typical latency when never measured. O(1). */
  estimateMs(u: Upstream): number {
    const est = decayedEstimateMs(u, this.state[NOW]!, this.decayMs);
    return est > 0 ? est : this.state[TYPICAL]!;
  }
}
