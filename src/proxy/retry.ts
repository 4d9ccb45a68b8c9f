// Whether a failed try may be tried again (method × phase × failure × replayable body), the
// retry budget that keeps a failing pool from multiplying its own load, and the backoff.
// Choosing the next upstream is not here: the pool skips what the request already tried.

import { ErrorCode, Phase } from './errors.ts';
import type { Rng } from '../util/rng.ts';

/** RFC 9110 §9.2.2 idempotent methods. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** True when the method is idempotent, or the request carries an Idempotency-Key. */
export function isIdempotent(method: string, hasIdempotencyKey: boolean): boolean {
  return hasIdempotencyKey || IDEMPOTENT.has(method);
}

/**
 * The retry table (README "Retries"):
 * - nothing reached the upstream (Phase.Connect) → any method, if the body can be sent again;
 * - the request was sent and it failed (reset, timeout) or answered 502/503/504 → idempotent
 *   requests only, and only with a replayable body;
 * - any response byte already went to the client → never.
 * Pure, allocates nothing.
 */
export function isRetryable(
  phase: Phase,
  code: ErrorCode,
  idempotent: boolean,
  bodyReplayable: boolean,
): boolean {
  if (!bodyReplayable) return false;
  if (phase === Phase.ResponseStarted) return false;
  if (code === ErrorCode.BadRequest || code === ErrorCode.BodyTooLarge || code === ErrorCode.Internal) return false; // another upstream would refuse it too
  if (phase === Phase.Connect) return true;
  if (!idempotent) return false;
  switch (code) {
    case ErrorCode.UpstreamReset:
    case ErrorCode.UpstreamTimeout:
    case ErrorCode.UpstreamStatus:
    case ErrorCode.BadResponse:
    case ErrorCode.ConnectRefused:
    case ErrorCode.ConnectTimeout:
    case ErrorCode.ConnectError:
      return true;
    default:
      return false;
  }
}

/** Full-jitter backoff before retry number `retry` (1 = first retry): random(0, min(max, base·2^(retry-1))). */
export function backoffMs(retry: number, baseMs: number, maxMs: number, rng: Rng): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (retry - 1));
  return rng() * ceiling;
}

const BUCKETS = 10;
const BUCKET_MS = 1000;

/**
 * Retry budget over a sliding 10 s window (Finagle/Linkerd style): retries may add
 * `percent`% of the requests seen in the window, plus `minPerSecond` × 10 s so a quiet pool
 * can still fail over. Counts live in ten 1 s buckets advanced lazily. O(1) per call
 * (amortized), allocates nothing after construction.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly floor: number;
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private requestSum = 0;
  private retrySum = 0;
  private epoch = -1;

  constructor(percent: number, minPerSecond: number) {
    this.ratio = percent / 100;
    this.floor = minPerSecond * (BUCKETS * BUCKET_MS / 1000);
  }

  /** Counts one client request (not a retry). */
  recordRequest(nowMs: number): void {
    const i = this.advance(nowMs);
    this.requests[i]!++;
    this.requestSum++;
  }

  /** Takes one retry from the budget if it allows one. */
  tryAcquire(nowMs: number): boolean {
    const i = this.advance(nowMs);
    if (this.retrySum >= this.requestSum * this.ratio + this.floor) return false;
    this.retries[i]!++;
    this.retrySum++;
    return true;
  }

  /** Retries the budget would still allow now (for /status). */
  available(nowMs: number): number {
    this.advance(nowMs);
    return Math.max(0, Math.floor(this.requestSum * this.ratio + this.floor - this.retrySum));
  }

  private advance(nowMs: number): number {
    const epoch = Math.floor(nowMs / BUCKET_MS);
    if (epoch !== this.epoch) {
      if (this.epoch < 0 || epoch - this.epoch >= BUCKETS) {
        this.requests.fill(0);
        this.retries.fill(0);
        this.requestSum = 0;
        this.retrySum = 0;
      } else {
        // Clear the buckets of the seconds that passed since the last call.
        for (let e = this.epoch + 1; e <= epoch; e++) {
          const j = e % BUCKETS;
          this.requestSum -= this.requests[j]!;
          this.retrySum -= this.retries[j]!;
          this.requests[j] = 0;
          this.retries[j] = 0;
        }
      }
      this.epoch = epoch;
    }
    return epoch % BUCKETS;
  }
}
