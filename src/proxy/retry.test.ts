import { describe, expect, it } from 'vitest';
import { seededRng } from '../util/rng.ts';
import { ErrorCode, Phase } from '../core/errors.ts';
import { backoffMs, isIdempotent, isRetryable } from './retry.ts';

describe('isIdempotent', () => {
  it('follows RFC 9110 §9.2.2 and honours Idempotency-Key', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) expect(isIdempotent(m, false)).toBe(true);
    for (const m of ['POST', 'PATCH', 'CONNECT']) expect(isIdempotent(m, false)).toBe(false);
    expect(isIdempotent('POST', true)).toBe(true);
  });
});

describe('isRetryable (the retry table)', () => {
  const cases: [Phase, ErrorCode, boolean, boolean, boolean][] = [
    // phase, code, idempotent, replayable body, expected
    [Phase.Connect, ErrorCode.ConnectRefused, false, true, true],
    [Phase.Connect, ErrorCode.ConnectTimeout, false, true, true],
    [Phase.Connect, ErrorCode.ConnectRefused, true, false, false],
    [Phase.Connect, ErrorCode.BadRequest, true, true, false],
    [Phase.RequestSent, ErrorCode.UpstreamReset, true, true, true],
    [Phase.RequestSent, ErrorCode.UpstreamReset, false, true, false],
    [Phase.RequestSent, ErrorCode.UpstreamTimeout, true, true, true],
    [Phase.RequestSent, ErrorCode.UpstreamReset, true, false, false],
    [Phase.ResponseHeaders, ErrorCode.UpstreamStatus, true, true, true],
    [Phase.ResponseHeaders, ErrorCode.UpstreamStatus, false, true, false],
    [Phase.ResponseStarted, ErrorCode.UpstreamReset, true, true, false],
    [Phase.ResponseStarted, ErrorCode.UpstreamIdleTimeout, true, true, false],
  ];
  it.each(cases)('phase %s, %s, idempotent=%s, replayable=%s → %s', (phase, code, idem, replay, want) => {
    expect(isRetryable(phase, code, idem, replay)).toBe(want);
  });
});

describe('backoffMs', () => {
  it('is full jitter under min(max, base·2^(n-1))', () => {
    const rng = seededRng(1);
    for (let n = 1; n <= 8; n++) {
      for (let i = 0; i < 100; i++) {
        const d = backoffMs(n, 25, 250, rng);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(250, 25 * 2 ** (n - 1)));
      }
    }
  });
});
