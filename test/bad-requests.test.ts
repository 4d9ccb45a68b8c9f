// Bad input gets the right 4xx with the proxy's own body and x-fairway-error, and loses nothing.
import net from 'node:net';
import http from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { rawRequest } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';


describe('bad requests', () => {
  it('HTTP/1.1 without Host: 400 bad-request with a body', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    const res = await rawRequest(p.url, 'GET / HTTP/1.1\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 400/);
    expect(res).toContain('x-fairway-error: bad-request');
    expect(res).toMatch(/\r\n\r\n400 Bad request\.\n$/);
    expect(a.hits).toBe(0);
  });

  it('HTTP/1.0 without Host is served', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    const res = await rawRequest(p.url, 'GET / HTTP/1.0\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 200/);
  });

  it('a malformed request line: 400 with x-fairway-error and a body', async () => {
    const p = await startProxy({ pools: { web: { upstreams: ['http://127.0.0.1:9'] } } });
    const res = await rawRequest(p.url, 'GARBAGE\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 400 Bad Request/);
    expect(res).toContain('x-fairway-error: bad-request');
    expect(res).toMatch(/\r\n\r\n400 Bad request\.\n$/);
  });

  it('headers over the limit: 431 headers-too-large', async () => {
    const p = await startProxy({ server: { maxHeaderSize: '4kb' }, pools: { web: { upstreams: ['http://127.0.0.1:9'] } } });
    const res = await rawRequest(p.url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1.1 431/);
    expect(res).toContain('x-fairway-error: headers-too-large');
  });

  it('CONNECT: 405 method-not-allowed', async () => {
    const p = await startProxy({ pools: { web: { upstreams: ['http://127.0.0.1:9'] } } });
    const res = await rawRequest(p.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 405/);
    expect(res).toContain('x-fairway-error: method-not-allowed');
    // RFC 9110 §15.5.6: a 405 lists the methods that are served.
    expect(res).toMatch(/\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/);
  });

  it('a chunked body over server.maxBodySize: 413 body-too-large', async () => {
    const echo = await startUpstream({ name: 'echo', behavior: { kind: 'echo' } });
    const p = await startProxy({ server: { maxBodySize: '1kb' }, pools: { web: { upstreams: [echo.url], retry: { attempts: 1 } } } });
    const big = 'x'.repeat(4096);
    const res = await rawRequest(p.url, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    // Either the proxy answers 413 before the upstream answers, or it aborts the response it had
    // started: a body over the limit never arrives whole.
    if (res.startsWith('HTTP/1.1 413')) expect(res).toContain('x-fairway-error: body-too-large');
    expect(echo.requests.every((r) => r.bodyBytes <= 1024)).toBe(true);
    // With retries on, the body is buffered first and refused before any upstream sees it.
    const p2 = await startProxy({ server: { maxBodySize: '1kb' }, pools: { web: { upstreams: [echo.url] } } });
    const hits = echo.hits;
    const res2 = await rawRequest(p2.url, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    expect(res2).toMatch(/^HTTP\/1.1 413/);
    expect(echo.hits).toBe(hits);
    // Under the limit passes.
    expect((await fetchText(`${p2.url}/`, { method: 'POST', body: 'small' })).body).toBe('small');
  });

  it('a Content-Length over server.maxBodySize: 413 before anything is read', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ server: { maxBodySize: '1kb' }, pools: { web: { upstreams: [a.url] } } });
    const res = await rawRequest(p.url, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1.1 413/);
    expect(a.hits).toBe(0);
  });
});

describe('bad upstream responses', () => {
  it('a malformed status line is bad-response, not a reset', async () => {
    const up = net.createServer((c) => c.once('data', () => c.write('HTTP/1.1 abc Nope\r\n\r\n')));
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => void up.close());
    const p = await startProxy({ pools: { web: { upstreams: [`http://127.0.0.1:${(up.address() as net.AddressInfo).port}`], retry: { attempts: 1 } } } });
    const r = await fetchText(`${p.url}/`);
    expect(r.status).toBe(502);
    expect(r.headers['x-fairway-error']).toBe('bad-response');
  });

  it('a refused upgrade carries a real reason phrase and body', async () => {
    const p = await startProxy({ pools: { web: { upstreams: [{ url: 'http://127.0.0.1:9', weight: 0 }] } } });
    const res = await rawRequest(p.url, 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 503 Service Unavailable/);
    expect(res).toContain('x-fairway-error: no-upstream');
    expect(res).toContain('No upstream is available');
    void http;
  });
});
