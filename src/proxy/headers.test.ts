import { describe, expect, it } from 'vitest';
import { clientAddressOf, connectionTokens, forwardRequestHeaders, forwardResponseHeaders } from './headers.ts';

describe('forwardRequestHeaders', () => {
  it('drops hop-by-hop headers and names listed in Connection, keeps the rest in order and case', () => {
    const raw = [
      'Host', 'a.test', 'Connection', 'keep-alive, X-Drop', 'Keep-Alive', 'timeout=5', 'TE', 'trailers',
      'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Connection', 'x', 'Trailer', 'Expires',
      'X-Drop', '1', 'Accept', '*/*', 'Set-Thing', 'a', 'Set-Thing', 'b', 'Expect', '100-continue',
    ];
    const f = forwardRequestHeaders(raw, '10.1.2.3', 'http');
    expect(f.headers).toEqual([
      'Host', 'a.test', 'Accept', '*/*', 'Set-Thing', 'a', 'Set-Thing', 'b',
      'x-forwarded-for', '10.1.2.3', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'a.test',
    ]);
    expect(f.chunked).toBe(true);
    expect(f.hostCount).toBe(1);
  });

  it('appends to every existing X-Forwarded-For and replaces -Proto/-Host', () => {
    const raw = ['host', 'h', 'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil'];
    const f = forwardRequestHeaders(raw, '3.3.3.3', 'http');
    expect(f.headers).toEqual(['host', 'h', 'x-forwarded-for', '1.1.1.1, 2.2.2.2, 3.3.3.3', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'h']);
  });

  it('counts Host headers and notes Idempotency-Key and Content-Length', () => {
    const f = forwardRequestHeaders(['Host', 'a', 'host', 'b', 'Idempotency-Key', 'k', 'Content-Length', '12'], 'c', 'http');
    expect(f.hostCount).toBe(2);
    expect(f.host).toBe('a');
    expect(f.hasIdempotencyKey).toBe(true);
    expect(f.contentLength).toBe(12);
  });
});

describe('forwardResponseHeaders', () => {
  it('drops Content-Length from a 204 (RFC 9110 §8.6), keeps it on a 200 and a 304', () => {
    const h = { 'content-length': '0', etag: '"x"' };
    expect(forwardResponseHeaders(h, 204)).toEqual(['etag', '"x"']);
    expect(forwardResponseHeaders(h, 200)).toEqual(['content-length', '0', 'etag', '"x"']);
    expect(forwardResponseHeaders(h, 304)).toEqual(['content-length', '0', 'etag', '"x"']);
  });

  it('drops hop-by-hop and Connection-listed names, expands repeated headers', () => {
    const out = forwardResponseHeaders({
      connection: 'keep-alive, x-internal',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'x-internal': 'secret',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 'text/plain',
    }, 200);
    expect(out).toEqual(['set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-type', 'text/plain']);
  });
});

describe('helpers', () => {
  it('connectionTokens ignores standard hop-by-hop tokens', () => {
    expect(connectionTokens(['close'])).toBeNull();
    expect([...connectionTokens(['Keep-Alive, X-A , x-b'])!]).toEqual(['x-a', 'x-b']);
  });
  it('clientAddressOf shows IPv4-mapped addresses as IPv4', () => {
    expect(clientAddressOf('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddressOf('::1')).toBe('::1');
    expect(clientAddressOf(undefined)).toBe('unknown');
  });
});
