import { describe, expect, it } from 'vitest';
import {
  Reject,
  checkAbsoluteFormHost,
  checkFraming,
  checkHost,
  checkRequestHead,
  checkResponseHead,
  checkTarget,
  checkTransferEncoding,
  checkVersion,
  clientErrorRejection,
  isProtectedFromConnection,
  isTunnelledUpgrade,
  type Framing,
  type RequestHead,
} from './edge-checks.ts';

const LIMITS = { maxHeaderCount: 100, maxUrlBytes: 8192 };

function head(rawHeaders: string[], over: Partial<RequestHead> = {}): RequestHead {
  return { method: 'GET', url: '/', httpVersionMajor: 1, httpVersionMinor: 1, rawHeaders, ...over };
}

function framing(over: Partial<Framing>): Framing {
  return { teCount: 0, te: null, clCount: 0, cl: null, lookalike: false, ...over };
}

describe('checkVersion', () => {
  it('serves 1.0 and 1.1 only: 0.9 (no version) is 400, 2.0 is 505', () => {
    expect(checkVersion(1, 1)).toBeNull();
    expect(checkVersion(1, 0)).toBeNull();
    expect(checkVersion(0, 9)).toBe(Reject.VersionMissing);
    expect(checkVersion(0, 9)!.status).toBe(400);
    expect(checkVersion(2, 0)).toBe(Reject.VersionNotSupported);
    expect(checkVersion(2, 0)!.status).toBe(505);
    expect(checkVersion(1, 2)!.status).toBe(505);
  });
});

describe('checkTarget', () => {
  it.each([
    ['/', 'GET'],
    ['/a/b?c=d&e', 'GET'],
    ['/x\\y', 'GET'],
    ['*', 'OPTIONS'],
    ['http://a.example/x?y', 'GET'],
    ['https://a.example', 'GET'],
    ['http://[::1]:8080/', 'GET'],
    ['http://a.example:80?q', 'GET'],
  ])('accepts %s (%s)', (url, method) => {
    expect(checkTarget(url, method, 8192)).toBeNull();
  });

  it.each([
    ['', Reject.TargetMalformed],
    ['x', Reject.TargetMalformed],
    ['a.example:80', Reject.TargetMalformed],
    ['ftp://a/', Reject.TargetMalformed],
    ['http:///x', Reject.TargetMalformed],
    ['http://u@a/x', Reject.TargetMalformed],
    ['http://a b/', Reject.TargetMalformed],
    ['/x#frag', Reject.TargetFragment],
    ['*', Reject.AsteriskNotOptions],
  ])('rejects %j', (url, expected) => {
    expect(checkTarget(url, 'GET', 8192)).toBe(expected);
  });

  it('414 only above the limit', () => {
    expect(checkTarget(`/${'a'.repeat(99)}`, 'GET', 100)).toBeNull();
    expect(checkTarget(`/${'a'.repeat(100)}`, 'GET', 100)).toBe(Reject.TargetTooLong);
    expect(Reject.TargetTooLong.status).toBe(414);
  });
});

describe('checkAbsoluteFormHost', () => {
  it('the authority of an absolute-form target must be the Host, case aside', () => {
    expect(checkAbsoluteFormHost('http://A.example:8080/x', 'a.EXAMPLE:8080')).toBeNull();
    expect(checkAbsoluteFormHost('http://other.example/x', 'a.example')).toBe(Reject.AbsoluteFormHost);
    expect(checkAbsoluteFormHost('http://a.example:81/', 'a.example:80')).toBe(Reject.AbsoluteFormHost);
    expect(checkAbsoluteFormHost('http://a.example/', 'a.exampl')).toBe(Reject.AbsoluteFormHost);
  });
  it('origin-form targets and requests without Host are not its business', () => {
    expect(checkAbsoluteFormHost('/x', 'a')).toBeNull();
    expect(checkAbsoluteFormHost('http://a/x', null)).toBeNull();
  });
});

describe('checkHost', () => {
  it('HTTP/1.1 needs exactly one valid Host; HTTP/1.0 may have none', () => {
    expect(checkHost('a.example', 1, 1, 1)).toBeNull();
    expect(checkHost(null, 0, 1, 1)).toBe(Reject.HostMissing);
    expect(checkHost(null, 0, 1, 0)).toBeNull();
    expect(checkHost('a', 2, 1, 1)).toBe(Reject.HostRepeated);
    expect(checkHost('a', 2, 1, 0)).toBe(Reject.HostRepeated);
    expect(checkHost('', 1, 1, 1)).toBe(Reject.HostInvalid);
    expect(checkHost('', 1, 1, 0)).toBe(Reject.HostInvalid);
    expect(checkHost('a/b', 1, 1, 1)).toBe(Reject.HostInvalid);
  });
});

describe('checkTransferEncoding', () => {
  it('exactly chunked, in any case, passes', () => {
    expect(checkTransferEncoding('chunked')).toBeNull();
    expect(checkTransferEncoding('Chunked')).toBeNull();
    expect(checkTransferEncoding('CHUNKED')).toBeNull();
  });
  it.each(['gzip, chunked', 'identity, chunked', 'identity', 'gzip', 'xchunked', 'chunked, gzip', 'deflate,chunked'])(
    'a well-formed list naming another coding is 501: %j',
    (v) => {
      expect(checkTransferEncoding(v)).toBe(Reject.TransferEncodingUnknown);
      expect(Reject.TransferEncodingUnknown.status).toBe(501);
    },
  );
  it.each(['', ' ', ', chunked', 'chunked,', 'chunked, chunked', 'chunked;q=1', 'chunked ;a', 'chu nked', 'chunked\u00ff', 'a,,chunked'])(
    'anything else is 400: %j',
    (v) => {
      expect(checkTransferEncoding(v)).toBe(Reject.TransferEncodingMalformed);
    },
  );
});

describe('checkFraming', () => {
  it('no framing, one Content-Length, or Transfer-Encoding: chunked on 1.1 pass', () => {
    expect(checkFraming(framing({}), 1, 1)).toBeNull();
    expect(checkFraming(framing({ clCount: 1, cl: '5' }), 1, 1)).toBeNull();
    expect(checkFraming(framing({ clCount: 1, cl: '00005' }), 1, 0)).toBeNull();
    expect(checkFraming(framing({ teCount: 1, te: 'chunked' }), 1, 1)).toBeNull();
  });
  it('Transfer-Encoding on HTTP/1.0 is 400 whatever its value', () => {
    expect(checkFraming(framing({ teCount: 1, te: 'chunked' }), 1, 0)).toBe(Reject.TransferEncodingHttp10);
  });
  it('ambiguous lengths are 400', () => {
    expect(checkFraming(framing({ teCount: 1, te: 'chunked', clCount: 1, cl: '5' }), 1, 1)).toBe(Reject.ContentLengthWithTransferEncoding);
    expect(checkFraming(framing({ teCount: 2, te: 'gzip' }), 1, 1)).toBe(Reject.TransferEncodingRepeated);
    expect(checkFraming(framing({ clCount: 2, cl: '5' }), 1, 1)).toBe(Reject.ContentLengthRepeated);
    for (const cl of ['', '5, 5', '+5', '-1', '0x5', '5 ', '1234567890123456']) {
      expect(checkFraming(framing({ clCount: 1, cl }), 1, 1), cl).toBe(Reject.ContentLengthMalformed);
    }
    expect(checkFraming(framing({ lookalike: true }), 1, 1)).toBe(Reject.FramingLookalike);
  });
  it('unknown codings are 501', () => {
    expect(checkFraming(framing({ teCount: 1, te: 'gzip, chunked' }), 1, 1)).toBe(Reject.TransferEncodingUnknown);
  });
});

describe('isProtectedFromConnection', () => {
  it('Host, framing and forwarding headers cannot be removed by Connection', () => {
    for (const n of ['host', 'content-length', 'transfer-encoding', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']) {
      expect(isProtectedFromConnection(n), n).toBe(true);
    }
    for (const n of ['x-custom', 'keep-alive', 'close', 'cookie', 'hosts', 'x-forwarded-port', '']) {
      expect(isProtectedFromConnection(n), n).toBe(false);
    }
  });
});

describe('isTunnelledUpgrade', () => {
  const ws = ['Host', 'a', 'Upgrade', 'websocket', 'Connection', 'Upgrade'];
  it('tunnels websocket on an HTTP/1.1 GET without a body', () => {
    expect(isTunnelledUpgrade(head(ws))).toBe(true);
    expect(isTunnelledUpgrade(head(['Host', 'a', 'upgrade', 'WebSocket', 'Content-Length', '0']))).toBe(true);
  });
  it('serves everything else plain', () => {
    expect(isTunnelledUpgrade(head(['Host', 'a', 'Upgrade', 'h2c', 'Connection', 'Upgrade, HTTP2-Settings']))).toBe(false);
    expect(isTunnelledUpgrade(head(['Host', 'a', 'Upgrade', 'websocket, h2c']))).toBe(false);
    expect(isTunnelledUpgrade(head(['Host', 'a', 'Upgrade', 'websocket', 'Upgrade', 'websocket']))).toBe(false);
    expect(isTunnelledUpgrade(head(['Host', 'a']))).toBe(false);
    expect(isTunnelledUpgrade(head(ws, { method: 'POST' }))).toBe(false);
    expect(isTunnelledUpgrade(head(ws, { httpVersionMinor: 0 }))).toBe(false);
    expect(isTunnelledUpgrade(head([...ws, 'Content-Length', '5']))).toBe(false);
    expect(isTunnelledUpgrade(head([...ws, 'Transfer-Encoding', 'chunked']))).toBe(false);
  });
});

describe('checkRequestHead', () => {
  it('a typical browser head passes', () => {
    const raw = ['Host', 'shop.example', 'User-Agent', 'x', 'Accept', '*/*', 'Accept-Encoding', 'gzip', 'Cookie', 'a=b', 'Content-Length', '12'];
    expect(checkRequestHead(head(raw, { method: 'POST', url: '/cart?id=1' }), LIMITS)).toBeNull();
  });

  it('applies the rules in order: version, target length, count, framing, Host, target, absolute-form host', () => {
    const many = Array.from({ length: 101 }, (_, i) => [`x${i}`, '1']).flat();
    const long = `/${'a'.repeat(8192)}`;
    expect(checkRequestHead(head(many, { httpVersionMajor: 2, httpVersionMinor: 0, url: long }), LIMITS)).toBe(Reject.VersionNotSupported);
    expect(checkRequestHead(head(many, { url: long }), LIMITS)).toBe(Reject.TargetTooLong);
    expect(checkRequestHead(head(many), LIMITS)).toBe(Reject.TooManyHeaders);
    expect(checkRequestHead(head(['Host', 'a', 'Transfer-Encoding', 'gzip, chunked', 'Host', 'b']), LIMITS)).toBe(Reject.TransferEncodingUnknown);
    expect(checkRequestHead(head(['Host', 'a', 'HOST', 'b']), LIMITS)).toBe(Reject.HostRepeated);
    expect(checkRequestHead(head(['Host', 'a'], { url: 'x' }), LIMITS)).toBe(Reject.TargetMalformed);
    expect(checkRequestHead(head(['Host', 'a'], { url: 'http://b/' }), LIMITS)).toBe(Reject.AbsoluteFormHost);
  });

  it('refuses an Upgrade request with a chunked body, whatever the upgrade', () => {
    expect(checkRequestHead(head(['Host', 'a', 'Upgrade', 'h2c', 'Transfer-Encoding', 'chunked'], { method: 'POST' }), LIMITS)).toBe(Reject.UpgradeWithChunkedBody);
    expect(checkRequestHead(head(['Host', 'a', 'Upgrade', 'h2c', 'Content-Length', '5'], { method: 'POST' }), LIMITS)).toBeNull();
  });

  it('counts fields exactly at the limit', () => {
    const fields = (n: number): string[] => ['Host', 'a', ...Array.from({ length: n - 1 }, (_, i) => [`x${i}`, '1']).flat()];
    expect(checkRequestHead(head(fields(100)), LIMITS)).toBeNull();
    expect(checkRequestHead(head(fields(101)), LIMITS)).toBe(Reject.TooManyHeaders);
  });

  it('finds framing and Host names in any case, and underscore look-alikes', () => {
    expect(checkRequestHead(head(['host', 'a', 'TRANSFER-ENCODING', 'chunked'], { httpVersionMinor: 0 }), LIMITS)).toBe(Reject.TransferEncodingHttp10);
    expect(checkRequestHead(head(['Host', 'a', 'content-length', '1', 'Content-Length', '1']), LIMITS)).toBe(Reject.ContentLengthRepeated);
    expect(checkRequestHead(head(['Host', 'a', 'Transfer_Encoding', 'chunked']), LIMITS)).toBe(Reject.FramingLookalike);
    expect(checkRequestHead(head(['Host', 'a', 'content_length', '5']), LIMITS)).toBe(Reject.FramingLookalike);
    expect(checkRequestHead(head([]), LIMITS)).toBe(Reject.HostMissing);
    expect(checkRequestHead(head([], { httpVersionMinor: 0 }), LIMITS)).toBeNull();
  });

  it('keeps no reference to the last request', () => {
    // The scratch framing object is cleared: a later call cannot see an earlier request's values.
    expect(checkRequestHead(head(['Host', 'a', 'Transfer-Encoding', 'gzip']), LIMITS)).toBe(Reject.TransferEncodingUnknown);
    expect(checkRequestHead(head(['Host', 'a']), LIMITS)).toBeNull();
  });
});

describe('clientErrorRejection', () => {
  it('maps llhttp codes and reasons as Node 24 reports them', () => {
    expect(clientErrorRejection({ code: 'HPE_HEADER_OVERFLOW', reason: 'Header overflow' })).toBe(Reject.HeadersOverflow);
    expect(clientErrorRejection({ code: 'HPE_INVALID_VERSION', reason: 'Invalid HTTP version' })!.status).toBe(505);
    expect(clientErrorRejection({ code: 'HPE_INVALID_VERSION', reason: 'Expected CRLF after version' })).toBe(Reject.ParseError);
    expect(clientErrorRejection({ code: 'HPE_PAUSED_H2_UPGRADE', reason: 'Pause on PRI/Upgrade' })!.status).toBe(505);
    expect(clientErrorRejection({ code: 'HPE_INVALID_TRANSFER_ENCODING', reason: 'Request has invalid `Transfer-Encoding`' })!.status).toBe(501);
    expect(clientErrorRejection({ code: 'HPE_INVALID_TRANSFER_ENCODING', reason: 'Invalid `Transfer-Encoding` header value' })).toBe(Reject.ParseError);
    expect(clientErrorRejection({ code: 'HPE_INVALID_METHOD', reason: 'Invalid method encountered' })).toBe(Reject.ParseError);
  });
  it('leaves resets and timeouts to the caller', () => {
    expect(clientErrorRejection({ code: 'ECONNRESET' })).toBeNull();
    expect(clientErrorRejection({ code: 'ERR_HTTP_REQUEST_TIMEOUT' })).toBeNull();
    expect(clientErrorRejection({})).toBeNull();
  });
});

describe('checkResponseHead', () => {
  it('passes ordinary responses', () => {
    expect(checkResponseHead(200, 5, undefined, 100)).toBeNull();
    expect(checkResponseHead(599, 100, 'chunked', 100)).toBeNull();
    expect(checkResponseHead(204, 0, 'Chunked ', 100)).toBeNull();
  });
  it('502 for a status outside 100-599, too many fields, or a coding other than chunked', () => {
    expect(checkResponseHead(0, 1, undefined, 100)).toBe(Reject.ResponseStatus);
    expect(checkResponseHead(600, 1, undefined, 100)).toBe(Reject.ResponseStatus);
    expect(checkResponseHead(200, 101, undefined, 100)).toBe(Reject.ResponseTooManyHeaders);
    expect(checkResponseHead(200, 1, 'gzip, chunked', 100)).toBe(Reject.ResponseTransferEncoding);
    expect(checkResponseHead(200, 2, ['chunked', 'chunked'], 100)).toBe(Reject.ResponseTransferEncoding);
    expect(Reject.ResponseStatus.status).toBe(502);
    expect(Reject.ResponseStatus.code).toBe('bad-response');
  });
});

describe('rejections', () => {
  it('are frozen and shared (no allocation per request)', () => {
    for (const r of Object.values(Reject)) expect(Object.isFrozen(r)).toBe(true);
    expect(checkVersion(2, 0)).toBe(checkVersion(3, 0));
  });
});
