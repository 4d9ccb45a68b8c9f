import { describe, expect, it } from 'vitest';
import { ErrorCode, Phase, STATUS_OF, classify, isConnectFailure } from './errors.ts';

describe('classify', () => {
  const table: [string, Phase, ErrorCode][] = [
    ['ECONNREFUSED', Phase.Connect, ErrorCode.ConnectRefused],
    ['UND_ERR_CONNECT_TIMEOUT', Phase.Connect, ErrorCode.ConnectTimeout],
    ['ENOTFOUND', Phase.Connect, ErrorCode.ConnectError],
    ['EHOSTUNREACH', Phase.Connect, ErrorCode.ConnectError],
    ['ERR_TLS_CERT_ALTNAME_INVALID', Phase.Connect, ErrorCode.ConnectError],
    ['ECONNRESET', Phase.RequestSent, ErrorCode.UpstreamReset],
    ['UND_ERR_SOCKET', Phase.RequestSent, ErrorCode.UpstreamReset],
    ['EPIPE', Phase.RequestSent, ErrorCode.UpstreamReset],
    ['UND_ERR_HEADERS_TIMEOUT', Phase.RequestSent, ErrorCode.UpstreamTimeout],
    ['UND_ERR_BODY_TIMEOUT', Phase.ResponseStarted, ErrorCode.UpstreamIdleTimeout],
    ['HPE_INVALID_HEADER_TOKEN', Phase.RequestSent, ErrorCode.BadResponse],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', Phase.ResponseStarted, ErrorCode.BadResponse],
    ['ETIMEDOUT', Phase.Connect, ErrorCode.ConnectTimeout],
    ['ETIMEDOUT', Phase.RequestSent, ErrorCode.UpstreamTimeout],
    ['UND_ERR_INVALID_ARG', Phase.Connect, ErrorCode.BadRequest],
    ['UND_ERR_NOT_SUPPORTED', Phase.Connect, ErrorCode.BadRequest],
    ['SOMETHING_NEW', Phase.Connect, ErrorCode.ConnectError],
    ['SOMETHING_NEW', Phase.RequestSent, ErrorCode.UpstreamReset],
  ];
  it.each(table)('%s in phase %s → %s', (code, phase, want) => {
    expect(classify(Object.assign(new Error('x'), { code }), phase)).toBe(want);
  });

  it('handles values that are not errors', () => {
    expect(classify(null, Phase.Connect)).toBe(ErrorCode.ConnectError);
    expect(classify('boom', Phase.RequestSent)).toBe(ErrorCode.UpstreamReset);
  });

  it('maps codes to the spec statuses', () => {
    expect(STATUS_OF['no-route']).toBe(404);
    expect(STATUS_OF['no-upstream']).toBe(503);
    expect(STATUS_OF['connect-refused']).toBe(502);
    expect(STATUS_OF['upstream-reset']).toBe(502);
    expect(STATUS_OF['upstream-timeout']).toBe(504);
    expect(STATUS_OF['connect-timeout']).toBe(504);
    expect(isConnectFailure(ErrorCode.ConnectRefused)).toBe(true);
    expect(isConnectFailure(ErrorCode.UpstreamReset)).toBe(false);
  });
});
