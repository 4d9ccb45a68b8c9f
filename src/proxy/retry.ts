// Whether a failed try may be tried again (method × phase × failure × replayable body), the
// retry budget that keeps a failing pool from multiplying its own load, and the backoff.
// Choosing the next upstream is not here: the pool skips what the request already tried.

import { ErrorCode, Phase } from '../core/errors.ts';
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
