// The consecutive-success/failure state machine of active health checks: pure, no I/O, no
// timers. It decides when a run of results flips an upstream up or down; checker.ts owns the
// probing, the flags on Upstream and the logging.

/**
 * The machine's state. `streak` is signed: +n = the last n results were successes, -n = the
 * last n were failures, 0 = no result yet. Stored on the Upstream (`checkStreak`, with `up`
 * derived from its DownActive flag) so it survives a config reload that replaces the checker.
 */
export interface ThresholdState {
  up: boolean;
  streak: number;
}

/**
 * Records one check result in `s` and reports whether it flipped `s.up`.
 *
 * - up → down after exactly `unhealthyThreshold` consecutive failures;
 * - down → up after exactly `healthyThreshold` consecutive successes;
 * - a result of the other kind restarts the count, so the state never changes faster than the
 *   thresholds allow, whatever the pattern of results.
 *
 * The streak is not reset by a flip: it keeps counting results of the same kind (for /status),
 * and a flip needs a run of the opposite kind, which starts from 1. Thresholds below 1 count
 * as 1. O(1), allocates nothing.
 */
export function observe(s: ThresholdState, ok: boolean, healthyThreshold: number, unhealthyThreshold: number): boolean {
  if (ok) {
    s.streak = s.streak > 0 ? s.streak + 1 : 1;
    if (!s.up && s.streak >= healthyThreshold) {
      s.up = true;
      return true;
    }
    return false;
  }
  s.streak = s.streak < 0 ? s.streak - 1 : -1;
  if (s.up && -s.streak >= unhealthyThreshold) {
    s.up = false;
    return true;
  }
  return false;
}
