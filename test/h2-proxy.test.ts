// Requests over HTTP/2 through a running Fairway (TLS listener, ALPN h2) to HTTP/1.1 upstreams:
// what the upstream sees (Host from :authority, no pseudo-headers, framing of bodies with and
// without content-length), what the client gets (no connection-specific headers, no trailers,
// bodyless statuses), proxy-produced errors on streams, 10 MB both ways, 100 concurrent streams.

import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { localhostPki } from './helpers/certs.ts';
import { FrameType, RawH2, h2Connect, h2Request, tlsListen } from './helpers/h2.ts';
import { closedPortUrl } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const local = localhostPki();

/** Fairway with one TLS listener (h2 + http/1.1) in front of `pools`. */
async function proxy(config: Record<string, unknown>): Promise<string> {
  const p = await startProxy({ listen: [tlsListen([local.cert])], ...config });
  return p.url;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A node:http upstream with a handler of the test's own; closed after the test. */
async function customUpstream(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An upstream that answers every request with these exact bytes (then keeps the connection). */
async function rawUpstream(response: string): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('data', () => s.write(response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('an HTTP/2 request as the HTTP/1.1 upstream sees it', () => {
  it('Host from :authority, no pseudo-headers, cookies joined, X-Forwarded-Proto https', async () => {
    const a = await startUpstream({ name: 'a' });
    const url = await proxy({ pools: { web: { upstreams: [a.url] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const r = await h2Request(session, { ':path': '/p?q=1', ':authority': 'app.test:8443', cookie: ['a=1', 'b=2'], 'x-custom': 'v' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('a\n');
    const seen = a.requests[0]!;
    expect(seen.url).toBe('/p?q=1');
    expect(seen.headers['host']).toBe('app.test:8443');
    expect(seen.headers['cookie']).toBe('a=1; b=2');
    expect(seen.headers['x-custom']).toBe('v');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-host']).toBe('app.test:8443');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.startsWith(':'))).toEqual([]);
  });

  it('a host field that names another authority than :authority is malformed: 400', async () => {
    const a = await startUpstream({ name: 'a' });
    const url = await proxy({ pools: { web: { upstreams: [a.url] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const same = await h2Request(session, { ':path': '/', ':authority': 'app.test', host: 'APP.test' });
    expect(same.status).toBe(200);
    const other = await h2Request(session, { ':path': '/', ':authority': 'app.test', host: 'evil.test' });
    expect(other.status).toBe(400);
    expect(other.headers['x-fairway-error']).toBe('bad-request');
    expect(a.hits).toBe(1);
  });

  it('request bodies with and without content-length, buffered and streamed, arrive whole and framed', async () => {
    const a = await startUpstream({ name: 'a' });
    const url = await proxy({ pools: { web: { upstreams: [a.url] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const small = Buffer.alloc(10_000, 's');
    const large = Buffer.alloc(300_000, 'l'); // above the 64 KiB retry buffer: streamed
    const cases = [
      { body: small, length: true },
      { body: small, length: false },
      { body: large, length: true },
      { body: large, length: false },
    ];
    for (const c of cases) {
      const headers = { ':method': 'POST', ':path': '/upload', ...(c.length ? { 'content-length': String(c.body.length) } : {}) };
      expect((await h2Request(session, headers, c.body)).status).toBe(200);
    }
    const seen = a.requests.map((r) => ({ bytes: r.bodyBytes, sha: r.bodySha256, cl: r.headers['content-length'], te: r.headers['transfer-encoding'] }));
    expect(seen).toEqual([
      { bytes: small.length, sha: sha(small), cl: String(small.length), te: undefined },
      // Buffered for a retry, so its length is known by the time it is sent.
      { bytes: small.length, sha: sha(small), cl: String(small.length), te: undefined },
      { bytes: large.length, sha: sha(large), cl: String(large.length), te: undefined },
      // Streamed with no length stated: chunked to the HTTP/1.1 upstream.
      { bytes: large.length, sha: sha(large), cl: undefined, te: 'chunked' },
    ]);
  });

  it('a client that resets its stream mid-upload: the upstream request is cancelled, nothing hangs', async () => {
    const a = await startUpstream({ name: 'a' });
    const url = await proxy({ pools: { web: { upstreams: [a.url] } } });
    // A raw client: Node's own ends the stream (END_STREAM) before its RST_STREAM, which is a
    // complete body as far as the protocol goes.
    const raw = await RawH2.connect(Number(new URL(url).port));
    await waitFor(() => raw.received.has(FrameType.WindowUpdate), { message: "the server's larger windows" });
    const id = raw.post('/upload');
    raw.data(id, Buffer.alloc(200_000, 'x'), false); // past the retry buffer: streamed to the upstream
    await waitFor(() => a.active === 1, { message: 'the upload to reach the upstream' });
    raw.cancel(id);
    await waitFor(() => a.active === 0, { message: 'the upstream request to be cancelled' });
    // A small body is read whole first (for a retry): reset halfway, nothing may be sent at all.
    const small = raw.post('/upload');
    raw.data(small, Buffer.alloc(30_000, 'y'), false);
    raw.cancel(small);
    const probe = await h2Connect(url, { ca: local.pki.ca.certPem });
    expect((await h2Request(probe, { ':path': '/after' })).status).toBe(200);
    expect(a.requests.map((r) => r.url)).toEqual(['/after']); // no truncated upload ever looked complete
  });

  it('10 MB up and 10 MB down over HTTP/2, intact', async () => {
    const size = 10 * 1024 * 1024;
    const up = await startUpstream({ name: 'up' });
    const down = await startUpstream({ name: 'down', behavior: { kind: 'size', bytes: size } });
    const url = await proxy({
      pools: { up: { upstreams: [up.url] }, down: { upstreams: [down.url] } },
      routes: [{ match: { pathPrefix: '/up' }, pool: 'up' }, { pool: 'down' }],
    });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body.writeUInt32BE(i, i);
    const [u, d] = await Promise.all([
      h2Request(session, { ':method': 'POST', ':path': '/up' }, body, 30_000),
      h2Request(session, { ':path': '/down' }, null, 30_000),
    ]);
    expect(u.status).toBe(200);
    expect(up.requests[0]!.bodyBytes).toBe(size);
    expect(up.requests[0]!.bodySha256).toBe(sha(body));
    expect(d.status).toBe(200);
    expect(d.body.length).toBe(size);
    expect(d.headers['content-length']).toBe(String(size));
  });
});

describe('the response an HTTP/2 client gets', () => {
  it('carries no connection-specific headers and no reason phrase', async () => {
    const raw = await rawUpstream(
      'HTTP/1.1 201 Very Created\r\nConnection: keep-alive, x-hop\r\nKeep-Alive: timeout=5\r\nX-Hop: secret\r\nProxy-Connection: keep-alive\r\n' +
        'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAA\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok',
    );
    const url = await proxy({ pools: { web: { upstreams: [raw] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const r = await h2Request(session, { ':path': '/' });
    expect(r.status).toBe(201);
    expect(r.body.toString()).toBe('ok');
    expect(r.headers['x-kept']).toBe('yes');
    for (const name of ['connection', 'keep-alive', 'x-hop', 'proxy-connection', 'upgrade', 'transfer-encoding', 'http2-settings']) expect(r.headers[name], name).toBeUndefined();
  });

  it('drops the trailers of a chunked upstream response, keeps its body', async () => {
    const raw = await rawUpstream('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n');
    const url = await proxy({ pools: { web: { upstreams: [raw] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const r = await h2Request(session, { ':path': '/' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('hello');
    expect(r.trailers).toBeNull();
    expect(r.headers['trailer']).toBeUndefined();
  });

  it('an upstream that fails mid-body resets the stream (never a short body that looks complete)', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'reset-mid-body' } });
    const url = await proxy({ pools: { web: { upstreams: [a.url] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const err = await h2Request(session, { ':path': '/' }).then(
      () => null,
      (e: NodeJS.ErrnoException) => `${e.code} ${e.message}`,
    );
    expect(err).toBe('ERR_HTTP2_STREAM_ERROR Stream closed with error code NGHTTP2_INTERNAL_ERROR');
    expect((await h2Request(session, { ':path': '/' }).catch(() => null)) === null).toBe(true); // the same upstream fails again
    expect(session.closed).toBe(false);
  });

  it('HEAD, 204 and 304 end the stream without a body', async () => {
    const origin = await customUpstream((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
      else res.writeHead(200, { 'content-length': '5' }).end(req.method === 'HEAD' ? undefined : 'hello');
    });
    const url = await proxy({ pools: { web: { upstreams: [origin] } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const head = await h2Request(session, { ':method': 'HEAD', ':path': '/' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '5', 0]);
    const noContent = await h2Request(session, { ':path': '/204' });
    expect([noContent.status, noContent.body.length]).toEqual([204, 0]);
    const notModified = await h2Request(session, { ':path': '/304' });
    expect([notModified.status, notModified.headers['etag'], notModified.body.length]).toEqual([304, '"x"', 0]);
    const get = await h2Request(session, { ':path': '/' });
    expect(get.body.toString()).toBe('hello');
  });

  it('proxy-produced errors on a stream: 404, 502, 503 and 504 with x-fairway-error; the session stays usable', async () => {
    const hang = await startUpstream({ name: 'hang', behavior: { kind: 'hang' } });
    const down = await startUpstream({ name: 'down', healthStatus: 500 });
    const url = await proxy({
      pools: {
        refused: { upstreams: [await closedPortUrl()], retry: { attempts: 1 } },
        slow: { upstreams: [hang.url], timeouts: { response: '300ms' }, retry: { attempts: 1 } },
        dead: { upstreams: [down.url], healthCheck: { path: '/health', interval: '50ms', timeout: '40ms', unhealthyThreshold: 1, initialState: 'down' } },
      },
      routes: [
        { match: { pathPrefix: '/refused' }, pool: 'refused' },
        { match: { pathPrefix: '/slow' }, pool: 'slow' },
        { match: { pathPrefix: '/dead' }, pool: 'dead' },
      ],
    });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    const cases: [string, number, string][] = [
      ['/nowhere', 404, 'no-route'],
      ['/refused', 502, 'connect-refused'],
      ['/dead', 503, 'no-upstream'],
      ['/slow', 504, 'upstream-timeout'],
    ];
    const replies = await Promise.all(cases.map(([path]) => h2Request(session, { ':path': path })));
    replies.forEach((r, i) => {
      const [path, status, code] = cases[i]!;
      expect([path, r.status, r.headers['x-fairway-error']]).toEqual([path, status, code]);
      expect(r.body.toString()).toMatch(new RegExp(`^${status} `));
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    });
    expect(replies[2]!.headers['retry-after']).toBe('1');
    // A POST with a body to no route: answered without reading the body, the session goes on.
    const refusedUpload = await h2Request(session, { ':method': 'POST', ':path': '/nowhere' }, Buffer.alloc(200_000));
    expect(refusedUpload.status).toBe(404);
    expect((await h2Request(session, { ':path': '/nowhere' })).status).toBe(404);
  });
});

describe('many streams on one connection', () => {
  it('100 concurrent streams are all in flight at once and balanced over three upstreams', async () => {
    const held: http.ServerResponse[] = [];
    const counts = new Map<string, number>();
    const release = (): void => {
      for (const res of held.splice(0)) res.end('ok');
    };
    const origins = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        customUpstream((_req, res) => {
          counts.set(name, (counts.get(name) ?? 0) + 1);
          held.push(res);
          // Every response waits until all 100 requests reached the upstreams: proves they
          // were all in flight together on the one client connection.
          if (held.length === 100) release();
        }),
      ),
    );
    const url = await proxy({ pools: { web: { upstreams: origins, balancer: 'round-robin' } } });
    const session = await h2Connect(url, { ca: local.pki.ca.certPem });
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, { ':path': `/${i}` })));
    expect(replies.every((r) => r.status === 200 && r.body.toString() === 'ok')).toBe(true);
    // Smooth round-robin over three equal upstreams: 34, 33, 33 in some order.
    expect([...counts.values()].sort()).toEqual([33, 33, 34]);
  });
});
