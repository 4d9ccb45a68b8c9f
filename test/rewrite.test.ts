// Rewriting on a route: the matched path prefix replaced (query kept, never `//`), request and
// response header rules (case-insensitive), the route's response headers on the proxy's own
// errors too, and the same request rewriting for WebSocket upgrades.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { rawRequest } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

describe('rewrite.pathPrefix', () => {
  it('replaces the matched prefix, keeps the query, and never sends //', async () => {
    const up = await startUpstream({ name: 'api' });
    const p = await startProxy({
      pools: { api: { upstreams: [up.url] } },
      routes: [{ match: { pathPrefix: '/api' }, pool: 'api', rewrite: { pathPrefix: '/' } }],
    });
    const cases: [string, string][] = [
      ['/api/users?x=1', '/users?x=1'],
      ['/api', '/'],
      ['/api?q=2', '/?q=2'],
      ['/api//double', '/double'],
      ['/api/v1/a%2Fb', '/v1/a%2Fb'],
    ];
    for (const [sent, seen] of cases) {
      expect((await fetchText(`${p.url}${sent}`)).status).toBe(200);
      expect(up.requests.at(-1)!.url, sent).toBe(seen);
    }
  });

  it('refuses a path with . or .. segments (400), which an upstream would resolve out of the new prefix', async () => {
    const up = await startUpstream({ name: 'api' });
    const p = await startProxy({
      pools: { api: { upstreams: [up.url] } },
      routes: [
        { match: { pathPrefix: '/sub/' }, pool: 'api', rewrite: { pathPrefix: '/v2/' }, headers: { response: { set: { 'x-route': 'sub' } } } },
        { pool: 'api' },
      ],
    });
    for (const sent of ['/sub/x/../../admin', '/sub/%2e%2e/admin', '/sub/./a']) {
      const reply = await rawRequest(p.url, `GET ${sent} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(reply, sent).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply, sent).toMatch(/x-fairway-error: bad-request/);
      expect(reply, sent).toMatch(/x-route: sub/);
    }
    expect(up.hits).toBe(0);
    // Dots inside a name are fine, and a route without a rewrite forwards the path as sent.
    expect((await fetchText(`${p.url}/sub/file.tar.gz?x=../`)).status).toBe(200);
    expect(up.requests.at(-1)!.url).toBe('/v2/file.tar.gz?x=../');
    expect(await rawRequest(p.url, 'GET /other/../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    expect(up.requests.at(-1)!.url).toBe('/other/../x');
  });

  it('rewrites to another prefix', async () => {
    const up = await startUpstream({ name: 'api' });
    const p = await startProxy({
      pools: { api: { upstreams: [up.url] } },
      routes: [{ match: { pathPrefix: '/v1/' }, pool: 'api', rewrite: { pathPrefix: '/internal/v2/' } }],
    });
    await fetchText(`${p.url}/v1/items/7?full=1`);
    expect(up.requests.at(-1)!.url).toBe('/internal/v2/items/7?full=1');
  });
});

describe('headers on a route', () => {
  const routes = [
    {
      match: { pathPrefix: '/' },
      pool: 'web',
      headers: {
        request: { set: { 'x-env': 'prod' }, remove: ['x-debug'] },
        response: { set: { 'strict-transport-security': 'max-age=31536000' }, remove: ['x-upstream'] },
      },
    },
  ];

  it('sets and removes request headers, whatever case the client wrote them in', async () => {
    const up = await startUpstream({ name: 'web' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } }, routes });
    await fetchText(`${p.url}/`, { headers: { 'X-Debug': '1', 'X-ENV': 'staging', 'x-keep': 'yes' } });
    const h = up.requests.at(-1)!.headers;
    expect(h['x-env']).toBe('prod');
    expect(h['x-debug']).toBeUndefined();
    expect(h['x-keep']).toBe('yes');
    expect(up.requests.at(-1)!.rawHeaders.filter((n) => n.toLowerCase() === 'x-env')).toHaveLength(1);
  });

  it('sets and removes response headers', async () => {
    const up = await startUpstream({ name: 'web' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } }, routes });
    const r = await fetchText(`${p.url}/`);
    expect(r.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(r.headers['x-upstream']).toBeUndefined();
    expect(r.body).toBe('web\n');
  });

  it('gives the proxy\'s own errors on the route its response headers, but not a 404 without a route', async () => {
    const dead = await startUpstream({ name: 'dead' });
    await dead.close();
    const p = await startProxy({
      pools: { web: { upstreams: [dead.url], retry: { attempts: 1 } } },
      routes: [{ ...routes[0]!, match: { pathPrefix: '/app' } }],
    });
    const failed = await fetchText(`${p.url}/app`);
    expect(failed.status).toBe(502);
    expect(failed.headers['x-fairway-error']).toBe('connect-refused');
    expect(failed.headers['strict-transport-security']).toBe('max-age=31536000');
    const nothing = await fetchText(`${p.url}/elsewhere`);
    expect(nothing.status).toBe(404);
    expect(nothing.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('WebSocket upgrades on a rewriting route', () => {
  it('get the rewritten path and the request header rules', async () => {
    const up = await startUpstream({ name: 'ws' });
    const seen: { url: string; headers: Record<string, unknown> }[] = [];
    up.server.on('upgrade', (req, socket: net.Socket) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    const p = await startProxy({
      pools: { ws: { upstreams: [up.url] } },
      routes: [{ match: { pathPrefix: '/live' }, pool: 'ws', rewrite: { pathPrefix: '/socket' }, headers: { request: { set: { 'x-env': 'prod' } } } }],
    });
    const { port, hostname } = new URL(p.url);
    const s = net.connect(Number(port), hostname);
    s.on('error', () => {});
    s.write('GET /live/chat?room=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let head = '';
    s.on('data', (d: Buffer) => (head += d.toString('latin1')));
    await waitFor(() => head.includes('\r\n\r\n'), { message: 'the 101' });
    expect(head).toMatch(/^HTTP\/1.1 101/);
    expect(seen[0]!.url).toBe('/socket/chat?room=1');
    expect(seen[0]!.headers['x-env']).toBe('prod');
    s.destroy();
  });
});
