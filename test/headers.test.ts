// Header rules: hop-by-hop removal both ways (RFC 9110 §7.6.1), X-Forwarded-*, Host.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { rawRequest } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startRecordingUpstream } from './helpers/recording-upstream.ts';
import { startUpstream } from './helpers/upstream.ts';


describe('request headers', () => {
  it('removes hop-by-hop headers and every header named in Connection', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    const port = new URL(p.url).port;
    const res = await rawRequest(
      p.url,
      `GET /x HTTP/1.1\r\nHost: h.test:${port}\r\nConnection: close, X-Secret, x-other\r\nKeep-Alive: timeout=5\r\n` +
        `Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: Expires\r\nUpgrade: h2c\r\nX-Secret: s\r\nX-Other: o\r\nX-Kept: k\r\n\r\n`,
    );
    expect(res).toMatch(/^HTTP\/1.1 200/);
    const h = a.requests[0]!.headers;
    for (const name of ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'x-secret', 'x-other']) {
      expect(h[name], name).toBeUndefined();
    }
    // undici sets its own `connection: keep-alive` for the upstream hop; the client's never passes.
    expect(h['connection']).not.toMatch(/x-secret|close/i);
    expect(h['x-kept']).toBe('k');
  });

  it('Expect: 100-continue gets 100 Continue; another expectation is ignored; Expect is never forwarded', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    const post = (expectation: string): Promise<string> =>
      rawRequest(p.url, `POST /e HTTP/1.1\r\nHost: h.test\r\nExpect: ${expectation}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    expect(await post('100-continue')).toMatch(/^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200 OK\r\n[^]*\r\n\r\na\n$/);
    expect(await post('x-unknown')).toMatch(/^HTTP\/1.1 200 OK\r\n[^]*\r\n\r\na\n$/);
    expect(a.requests.map((r) => [r.headers['expect'], r.bodyBytes])).toEqual([
      [undefined, 5],
      [undefined, 5],
    ]);
  });

  it('appends the client address to X-Forwarded-For and sets X-Forwarded-Proto and -Host', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    await fetchText(`${p.url}/`, { headers: { host: 'shop.example', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' } });
    await fetchText(`${p.url}/`, { headers: { host: 'shop.example' } });
    const [first, second] = a.requests;
    expect(first!.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(first!.headers['x-forwarded-proto']).toBe('http');
    expect(first!.headers['x-forwarded-host']).toBe('shop.example');
    expect(first!.headers.host).toBe('shop.example');
    expect(second!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('rejects a request with two Host headers (400)', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    const res = await rawRequest(p.url, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 400/);
    expect(res.toLowerCase()).toContain('x-fairway-error: bad-request');
    expect(a.hits).toBe(0);
  });
});

describe('response headers', () => {
  it('a 204 reaches the client without the Content-Length its upstream sent (RFC 9110 §8.6)', async () => {
    const up = await startRecordingUpstream({ respond: () => 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-App: yes\r\n\r\n' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    const res = await rawRequest(p.url, 'DELETE /item HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 204 /);
    expect(res).toMatch(/\r\nx-app: yes\r\n/i);
    expect(res).not.toMatch(/\r\ncontent-length:/i);
  });

  it('removes hop-by-hop headers from the upstream response, keeps end-to-end ones', async () => {
    const up = net.createServer((s) => {
      s.once('data', () => {
        s.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\n' +
            'X-Internal: secret\r\nProxy-Connection: keep-alive\r\nTrailer: Expires\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-App: yes\r\n\r\nok',
        );
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    const port = (up.address() as net.AddressInfo).port;
    try {
      const p = await startProxy({ pools: { web: { upstreams: [`http://127.0.0.1:${port}`] } } });
      const r = await fetchText(`${p.url}/`);
      expect(r.status).toBe(200);
      expect(r.body).toBe('ok');
      expect(r.headers['x-internal']).toBeUndefined();
      expect(r.headers['keep-alive']).not.toBe('timeout=5'); // the proxy's own hop may add its own
      expect(r.headers['proxy-connection']).toBeUndefined();
      expect(r.headers['trailer']).toBeUndefined();
      expect(r.headers['x-app']).toBe('yes');
      expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    } finally {
      up.close();
    }
  });
});
