// Peak EWMA (Finagle / Linkerd / tower lineage): picks by expected cost = decayed peak latency
// estimate × (in-flight + 1) / weight. The estimate lives on the Upstream (`ewmaMs` as of
// `ewmaAt`) so it survives reloads; this file reads and updates it but owns no timers.
//
// Choices, and why:
// - Decay on read, towards 0: as of `now` the estimate is ewmaMs·e^(-(now - ewmaAt)/τ), so an
//   upstream that stopped getting traffic (because it was slow) looks cheaper every second
//   until P2C sends it a probe, whose answer replaces or blends the estimate. Reads never
//   write, so frequent picks don't bias it; members idle equally long keep their order.
// - A sample above the decayed estimate replaces it (the peak); a lower one blends in with
//   w = e^(-Δt/τ), Δt = time since the previous sample (tower's rule). τ = opts.decayMs.
// - Never measured (ewmaMs = 0): costed at the pool's typical latency, a running mean of the
//   successful samples this balancer saw (seeded in update() from members measured before a
//   reload). Tower's fixed 1 s starves an upstream added to a warm pool until that prior
//   decays; Envoy's optimistic 10 ms sends a cold upstream a burst when peers are slower.
//   "As fast as its peers" gives it a fair share until its first answer. DEFAULT_RTT_MS
//   (10 ms) applies only before the pool's first sample, when every member is unmeasured
//   and the value cannot change the order; it only scales the first failure penalties.
// - Failures and timeouts count as slow, never fast (cf. Linkerd's penalty EWMA, PR #4537):
//   the sample is max(latency, min(FAILURE_FACTOR × max(decayed, typical),
//   PENALTY_CAP × typical)) and never lowers the current estimate. A fast 503 doubles the
//   estimate, a run of them backs off geometrically, and the cap (64× typical) bounds the
//   decay back to normal to τ·ln 64 ≈ 42 s at τ = 10 s; a timeout counts as its full latency.
// - pick() gets no clock: its "now" is the latest time passed to onStart/onFinish, at most
//   one idle gap old; the lag is the same for every member, so it never reorders them.
// - Selection: power of two choices over distinct weighted candidates, as Finagle does.
// - Speed (pick() ≤ 50 ns at every pool size up to 10 000; bench/micro/pick.bench.ts): the two
//   costs are ordered without Math.exp (cheap bounds on e^x settle all but near-ties), the
//   candidates are drawn and the winner chosen without data-dependent branches (a mispredicted
//   branch cost ~20 ns), and the estimates are reached through a per-slot array built in
//   update(). Details at pick().
// - Allocation: none. V8 (Node 24) boxes every double stored into a plain object field, so
//   the estimate lives in a Float64Array on Upstream (`u.ewma`, read through the
//   `ewmaMs`/`ewmaAt` accessors). It also boxes the doubles of code it runs unoptimised, and
//   deoptimises pick() on a path pick() never took before: see the note on pick()'s exact path.

import type { Upstream } from '../pool/upstream.ts';
import { wasTried, type Balancer, type BalancerName, type BalancerOptions } from './types.ts';
import { FastRng, RANGE } from './fast-rng.ts';
import { fillAlias } from './weighted-sampler.ts';

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
const MIN_MS = 1e-6;
/**
 * pick()'s bounds comparison needs both decayed estimates above the MIN_MS floor: it takes
 * stored estimates ≥ FLOOR_SAFE_MS at most τ·ln(FLOOR_SAFE_MS / MIN_MS) old (≈ 92 s at
 * τ = 10 s). Other pairs take pick()'s exact path (two exps).
 */
const FLOOR_SAFE_MS = 1e-2;
/** Slots of EwmaBalancer.state. */
const NOW = 0;
const TYPICAL = 1;
/** 1/τ (ms⁻¹). */
const INV_TAU = 2;
/** τ·ln(FLOOR_SAFE_MS / MIN_MS) (ms). */
const FLOOR_SPAN = 3;
/** Estimate (ms) and its clock time: the two slots of `Upstream.ewma`. */
const EST = 0;
const AT = 1;
/** FastRng draw → [0, 1). */
const INV_RANGE = 1 / RANGE;
/** Draws for an untried candidate, or for a second one distinct from the first. */
const CANDIDATE_DRAWS = 4;
/** How pick() draws its two candidates (EwmaBalancer.mode). */
const UNIFORM = 0;
const PAIRS = 1;
const WEIGHTED = 2;
/** Largest pool drawn from a table of ordered pairs (PAIRS): 16 members, 240 pairs. */
const PAIR_TABLE_MAX = 16;

/**
 * Peak EWMA with power-of-two-choices. pick O(1) (O(n·k) fallback when tried members hold
 * most of the weight), onStart and onFinish O(1); none allocates.
 */
export class EwmaBalancer implements Balancer {
  readonly name: BalancerName;
  /** Seeded from opts.rng; draws small integers so the hot path never boxes a double. */
  private readonly rng: FastRng;
  private readonly decayMs: number;
  private members: readonly Upstream[];
  /**
   * `members[i].ewma` by slot (the same Float64Array objects, not copies): a candidate's
   * estimate is one load away instead of two through the Upstream.
   */
  private estimates: readonly Float64Array[];
  private weights: Float64Array;
  /** UNIFORM (equal weights), PAIRS (n ≤ PAIR_TABLE_MAX) or WEIGHTED: see pick(). */
  private mode: number;
  /** Alias table of the members by weight (see buildAlias); empty when all weights are equal. */
  private table: Float64Array;
  /** Alias table of the ordered pairs (PAIRS mode); pairOf[k] = i << 8 | j. */
  private pairTable: Float64Array;
  private pairOf: Int32Array;
  /**
   * Balancer-wide doubles: [NOW] the latest clock time seen in onStart/onFinish (pick()'s
   * "now"); [TYPICAL] the pool's typical successful latency in ms (DEFAULT_RTT_MS until a
   * sample arrives); [INV_TAU] and [FLOOR_SPAN], constants of pick(). A typed array because
   * V8 boxes every double stored into an object field (a fresh HeapNumber each time).
   */
  private readonly state: Float64Array;
  /** Whether state[TYPICAL] comes from samples yet. */
  private hasTypical: boolean;
  /** untriedPair()'s two candidates, handed back to pick() without allocating. */
  private readonly pair: Int32Array;
  /** pick()'s scratch for its exact path: [0] typical, [1] a decayed estimate, read back by index. */
  private readonly select: Float64Array;

  constructor(opts: BalancerOptions) {
    this.name = 'ewma';
    this.rng = new FastRng(opts.rng);
    this.decayMs = opts.decayMs > 0 ? opts.decayMs : DEFAULT_DECAY_MS;
    this.members = [];
    this.estimates = [];
    this.weights = new Float64Array(0);
    this.mode = UNIFORM;
    this.table = new Float64Array(0);
    this.pairTable = new Float64Array(0);
    this.pairOf = new Int32Array(0);
    this.state = new Float64Array(4);
    this.state[TYPICAL] = DEFAULT_RTT_MS;
    this.state[INV_TAU] = 1 / this.decayMs;
    this.state[FLOOR_SPAN] = this.decayMs * Math.log(FLOOR_SAFE_MS / MIN_MS);
    this.hasTypical = false;
    this.pair = new Int32Array(2);
    this.select = new Float64Array(2);
  }

  /**
   * Off the hot path: snapshots weights and estimate arrays, builds the draw tables, and seeds
   * the pool's typical latency from members measured before (a reload keeps their state).
   * O(n) (O(n²) pairs up to PAIR_TABLE_MAX members), allocates.
   */
  update(members: readonly Upstream[]): void {
    const n = members.length;
    const estimates: Float64Array[] = [];
    const weights = new Float64Array(n);
    let uniform = true;
    let total = 0;
    let sum = 0;
    let measured = 0;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      estimates.push(u.ewma);
      weights[i] = u.weight;
      total += u.weight;
      if (u.weight !== members[0]!.weight) uniform = false;
      if (u.ewmaMs > 0) {
        sum += u.ewmaMs;
        measured++;
        if (u.ewmaAt > this.state[NOW]!) this.state[NOW] = u.ewmaAt;
      }
    }
    this.members = members.slice();
    this.estimates = estimates;
    this.weights = weights;
    if (!this.hasTypical && measured > 0) {
      this.state[TYPICAL] = sum / measured;
      this.hasTypical = true;
    }
    this.mode = uniform ? UNIFORM : n <= PAIR_TABLE_MAX ? PAIRS : WEIGHTED;
    this.table = uniform ? new Float64Array(0) : buildAlias(weights, n);
    if (this.mode === PAIRS) {
      // P(i, j) = p_i · p_j / (1 − p_i): i by weight, then j by weight among the others.
      const pairs = n * (n - 1);
      const pairWeights = new Float64Array(pairs);
      this.pairOf = new Int32Array(pairs);
      let k = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          pairWeights[k] = (weights[i]! * weights[j]!) / (total - weights[i]!);
          this.pairOf[k++] = (i << 8) | j;
        }
      }
      this.pairTable = buildAlias(pairWeights, pairs);
    }
  }

  /**
   * Hot path, allocates nothing. Two distinct weighted candidates not in `tried`, the lower
   * cost wins (the first drawn on a tie). O(1); O(n·k) scan when redraws can't find an
   * untried member. Every member tried: returns a candidate anyway.
   *
   * Candidates: i by weight, then j by weight among the others (what drawing j again until it
   * differs from i gives), without data-dependent branches where it matters: a redraw loop that
   * ran on a third of picks (3 members) and the alias table's keep-or-alias branch each cost
   * more in mispredictions than the rest of pick(). Equal weights: j uniform among the n − 1
   * others. Up to PAIR_TABLE_MAX members: one draw from a table of ordered pairs. Larger, mixed
   * weights: alias draws, and a redraw that rarely runs (Σp² < 2 % at 100 members).
   *
   * Cost = decayed estimate × (inflight + 1) / weight, compared without dividing:
   *
   *   cost_i ∝ pa·e^(-(now − t_i)/τ),  pa = s_i·(inflight_i + 1)·w_j,  and the same for j (pb, w_i)
   *
   * (never measured: s = typical, t = now), so j is cheaper iff pb·e^(-x) < pa, x = (t_i − t_j)/τ.
   * With T(x) = 1 + x + x²/2 + … + x⁵/120, e^x ≥ T(x) and e^(-x) ≥ T(−x) for every x, so j
   * surely wins when pb < pa·T(x) and surely loses when pb·T(−x) ≥ pa: no Math.exp. The winner
   * comes from a 0/1 flag, not a branch (which candidate is cheaper is a coin flip to the
   * predictor, and a miss cost ~20 ns). The exact reading at the end takes the rest: pairs
   * within ~x⁶/360 of a tie (~0.5 % of picks at 10 000 members in the bench's traffic, none at
   * 3), estimates that may have decayed to the MIN_MS floor, clocks ahead of now, NaN, and two
   * never-measured candidates.
   */
  pick(tried: readonly Upstream[] | null): Upstream | undefined {
    const members = this.members;
    const n = members.length;
    if (n === 0) return undefined;
    if (n === 1) return members[0];
    let i: number;
    let j: number;
    const mode = this.mode;
    if (tried !== null && tried.length > 0) {
      const k = this.untriedPair(tried);
      if (k >= 0) return members[k];
      i = this.pair[0]!;
      j = this.pair[1]!;
    } else if (n === 2) {
      // Both are the candidates; a random order makes ties fair.
      i = this.rng.next() & 1;
      j = 1 - i;
    } else if (mode === UNIFORM) {
      i = this.uniformDraw(n);
      j = i + 1 + this.uniformDraw(n - 1);
      j -= n & -+(j >= n);
    } else if (mode === PAIRS) {
      const pair = this.pairOf[this.aliasDraw(this.pairTable, this.pairOf.length)]!;
      i = pair >> 8;
      j = pair & 255;
    } else {
      i = this.aliasDraw(this.table, n);
      // Written so every operation runs on every pick: code V8 has never seen run deoptimises
      // pick() when it first does. Still i after all draws: compared with itself, i wins.
      let r = 0;
      do j = this.aliasDraw(this.table, n);
      while (r++ < CANDIDATE_DRAWS && j === i);
    }

    const ea = this.estimates[i]!;
    const eb = this.estimates[j]!;
    const state = this.state;
    const now = state[NOW]!;
    const typical = state[TYPICAL]!;
    const storedA = ea[EST]!;
    const storedB = eb[EST]!;
    // m = 1 when measured. Never measured (common in a large mixed pool: nobody drew them yet)
    // is costed at typical, undecayed, selected arithmetically rather than by a branch.
    const ma = +(storedA > 0);
    const mb = +(storedB > 0);
    const sa = storedA + (typical - storedA) * (1 - ma);
    const sb = storedB + (typical - storedB) * (1 - mb);
    const da = (now - ea[AT]!) * ma;
    const db = (now - eb[AT]!) * mb;
    const weights = this.weights;
    const pa = sa * (members[i]!.inflight + 1) * weights[j]!;
    const pb = sb * (members[j]!.inflight + 1) * weights[i]!;
    const x = (db - da) * state[INV_TAU]!;
    const x2 = x * x;
    const even = 1 + x2 * (0.5 + x2 * (1 / 24));
    const odd = x * (1 + x2 * (1 / 6 + x2 * (1 / 120)));
    const jWins = +(pb < pa * (even + odd));
    const jLoses = +(pb * (even - odd) >= pa);
    const span = state[FLOOR_SPAN]!;
    if (
      (jWins | jLoses) !== 0 &&
      ma + mb > 0 &&
      sa >= FLOOR_SAFE_MS &&
      sb >= FLOOR_SAFE_MS &&
      da >= 0 &&
      db >= 0 &&
      da <= span &&
      db <= span
    ) {
      return members[i ^ ((i ^ j) & -jWins)];
    }
    // The rest: costs read as ever (two exps, the MIN_MS floor, typical when never measured).
    // Inline and without branches, because V8 optimises code it has seen run: a rarely made
    // call stays unoptimised and boxes every double it computes, and a path pick() has never
    // taken deoptimises it when first taken. Two never-measured candidates come here, and they
    // are every pool's first picks, so this path has run before pick() is optimised.
    const tau = this.decayMs;
    const select = this.select;
    select[0] = typical;
    select[1] = Math.max(storedA * Math.exp(Math.min(0, (ea[AT]! - now) / tau)), MIN_MS);
    const estA = select[ma]!;
    select[1] = Math.max(storedB * Math.exp(Math.min(0, (eb[AT]! - now) / tau)), MIN_MS);
    const estB = select[mb]!;
    const jCheaper = +(estB * (members[j]!.inflight + 1) * weights[i]! < estA * (members[i]!.inflight + 1) * weights[j]!);
    return members[i ^ ((i ^ j) & -jCheaper)];
  }

  /** Records the clock only: the estimate changes when the response (or failure) arrives. O(1). */
  onStart(_u: Upstream, nowMs: number): void {
    if (nowMs > this.state[NOW]!) this.state[NOW] = nowMs;
  }

  /**
   * Folds one latency sample into `u.ewmaMs` / `u.ewmaAt` (also for an upstream no longer a
   * member: its state outlives this balancer). Failures are penalised, never fast. O(1);
   * allocates nothing.
   */
  onFinish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
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

  /**
   * pick()'s candidates when some members were tried already: redraws around them. Returns a
   * member index to take as is, or -1 with the two candidates in `pair`. O(1), O(n·k) when
   * redraws fail.
   */
  private untriedPair(tried: readonly Upstream[]): number {
    const members = this.members;
    const n = members.length;
    let i: number;
    let j: number;
    if (n === 2) {
      i = this.rng.next() & 1;
      j = 1 - i;
      const ti = wasTried(tried, members[i]!);
      const tj = wasTried(tried, members[j]!);
      if (ti !== tj) return ti ? j : i;
    } else {
      i = this.drawOne(n);
      let r = 0;
      while (wasTried(tried, members[i]!)) {
        if (++r > CANDIDATE_DRAWS) return this.cheapestUntried(tried);
        i = this.drawOne(n);
      }
      j = this.drawOne(n);
      for (let r = 0; r < CANDIDATE_DRAWS && (j === i || wasTried(tried, members[j]!)); r++) j = this.drawOne(n);
      if (j === i || wasTried(tried, members[j]!)) return i;
    }
    this.pair[0] = i;
    this.pair[1] = j;
    return -1;
  }

  /** One member index by weight. O(1). */
  private drawOne(n: number): number {
    return this.mode === UNIFORM ? this.uniformDraw(n) : this.aliasDraw(this.table, n);
  }

  /**
   * A uniform index in [0, n). O(1). Like aliasDraw(), its own method and called from pick()'s
   * common path so V8 optimises it early: untriedPair() calls it rarely, and an unoptimised
   * callee would box its double.
   */
  private uniformDraw(n: number): number {
    return (this.rng.next() * n * INV_RANGE) | 0;
  }

  /**
   * An index in [0, n) from an alias table: one 30-bit draw, whose integer part picks a column
   * and fractional part (≥ 16 bits up to 16 384 columns) keeps it or takes its alias. The
   * choice is arithmetic on a 0/1 flag, not a branch the predictor would miss. O(1).
   */
  private aliasDraw(table: Float64Array, n: number): number {
    const x = this.rng.next() * n * INV_RANGE;
    const c = x | 0;
    const a = table[2 * c + 1]! | 0;
    return a ^ ((a ^ c) & -+(x - c < table[2 * c]!));
  }

  /** Index of the lowest cost among untried members (all members if none is untried). O(n·k), rare. */
  private cheapestUntried(tried: readonly Upstream[]): number {
    const members = this.members;
    const weights = this.weights;
    const n = members.length;
    const now = this.state[NOW]!;
    const typical = this.state[TYPICAL]!;
    let best = -1;
    let bestCost = 0;
    let bestWeight = 1;
    for (let i = 0; i < n; i++) {
      const u = members[i]!;
      if (wasTried(tried, u)) continue;
      const stored = u.ewmaMs;
      const est = stored > 0 ? Math.max(stored * Math.exp(Math.min(0, (u.ewmaAt - now) / this.decayMs)), MIN_MS) : typical;
      const cost = est * (u.inflight + 1);
      if (best < 0 || cost * bestWeight < bestCost * weights[i]!) {
        best = i;
        bestCost = cost;
        bestWeight = weights[i]!;
      }
    }
    return best < 0 ? 0 : best;
  }
}

/**
 * Vose's alias method over weights[0..n) (each > 0, finite), as WeightedSampler.reset() builds
 * it, returned interleaved so one draw reads one cache line: [2c] the probability of keeping
 * column c (scaled to [0, 1]), [2c + 1] the column taken otherwise. O(n), allocates.
 */
function buildAlias(weights: Float64Array, n: number): Float64Array {
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  fillAlias(weights, n, total, prob, alias);
  // Interleaved [prob, alias] per column: one cache line for both reads in pick().
  const table = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    table[2 * i] = prob[i]!;
    table[2 * i + 1] = alias[i]!;
  }
  return table;
}
