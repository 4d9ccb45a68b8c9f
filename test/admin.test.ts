// The admin server over real sockets: health and readiness (503 once draining), the bearer
// token (open only for /healthz and /readyz, 401 reveals nothing), 404/405, malformed input,
// /status states and reasons, and POST /reload (400 with issues, the running config stays).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Status } from '../src/admin/status.ts';
import { loadConfigFile } from '../src/config/load.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const TOKEN = 'adm1n-t0ken-for-tests';

async function proxyWithAdmin(upstreams: string[], admin: Record<string, unknown> = {}) {
  const p = await startProxy({
    admin: { listen: '127.0.0.1:0', ...admin },
    pools: { web: { upstreams } },
  });
  expect(p.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return { ...p, admin: p.adminUrl! };
}

/** A proxy whose admin server binds `listen`; returns the admin URL reached over 127.0.0.1. */
async function proxyWithAdminOn(listen: string, upstreams: string[], admin: Record<string, unknown>): Promise<string> {
  const p = await startProxy({ admin: { listen, ...admin }, pools: { web: { upstreams } } });
  const port = new URL(p.adminUrl!).port;
  return `http://127.0.0.1:${port}`;
}

/** Sends raw bytes and resolves with everything the server wrote before closing. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => sock.end(bytes));
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (out += d));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
    sock.setTimeout(5000, () => sock.destroy(new Error('raw exchange timed out')));
  });
}

describe('admin: health and readiness', () => {
  it('/healthz is 200 ok and /readyz is 200 while serving; both no-store', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url]);
    const h = await fetchText(`${p.admin}/healthz`);
    expect(h.status).toBe(200);
    expect(h.body).toBe('ok\n');
    expect(h.headers['cache-control']).toBe('no-store');
    const r = await fetchText(`${p.admin}/readyz`);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const head = await fetchText(`${p.admin}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('/readyz turns 503 as soon as draining starts, while /healthz stays 200', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'hang' } });
    const p = await proxyWithAdmin([a.url]);
    const slow = fetchText(`${p.url}/slow`).catch(() => null);
    await waitFor(() => a.active === 1, { message: 'the slow request to reach the upstream' });
    const closing = p.runtime.close(10_000);
    const r = await fetchText(`${p.admin}/readyz`);
    expect(r.status).toBe(503);
    expect(r.body).toBe('draining\n');
    expect((await fetchText(`${p.admin}/healthz`)).status).toBe(200);
    // End the hung request so the drain completes.
    await a.close();
    await slow;
    await closing;
  });

  it('admin paths are not served on the data-plane port', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url], { token: TOKEN });
    for (const path of ['/healthz', '/readyz', '/metrics', '/status']) {
      const r = await fetchText(`${p.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.body).toBe('a\n'); // proxied to the upstream
    }
    expect(a.requests.map((r) => r.url)).toEqual(['/healthz', '/readyz', '/metrics', '/status']);
  });
});

describe('admin: bearer token', () => {
  const protectedRoutes: [string, string][] = [
    ['GET', '/status'],
    ['GET', '/metrics'],
    ['POST', '/reload'],
    ['GET', '/nope'],
    ['DELETE', '/status'],
  ];

  it('is required for everything but /healthz and /readyz, and a 401 reveals nothing', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url], { token: TOKEN });
    for (const [method, path] of protectedRoutes) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
        const r = await fetchText(`${p.admin}${path}`, { method, headers });
        expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.headers['www-authenticate']).toMatch(/^Bearer\b/);
        expect(r.headers['cache-control']).toBe('no-store');
        expect(r.headers['allow']).toBeUndefined();
        expect(r.body).toBe('unauthorized\n');
        expect(r.body).not.toContain('web');
      }
    }
    expect((await fetchText(`${p.admin}/healthz`)).status).toBe(200);
    expect((await fetchText(`${p.admin}/readyz`)).status).toBe(200);
  });

  it('the right token opens /status and /metrics; the token never appears in them', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url], { token: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const s = await fetchText(`${p.admin}/status`, { headers: auth });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-store');
    expect(s.body).not.toContain(TOKEN);
    const m = await fetchText(`${p.admin}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(m.body).not.toContain(TOKEN);
    expect((await fetchText(`${p.admin}/nope`, { headers: auth })).status).toBe(404);
  });

  it('without a configured token everything is open', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url]);
    expect((await fetchText(`${p.admin}/status`)).status).toBe(200);
    expect((await fetchText(`${p.admin}/metrics`)).status).toBe(200);
  });
});

describe('admin: routing and bad input', () => {
  it('405 with Allow for a wrong method, 404 for an unknown path', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url]);
    const cases: [string, string, string][] = [
      ['POST', '/healthz', 'GET, HEAD'],
      ['PUT', '/readyz', 'GET, HEAD'],
      ['DELETE', '/status', 'GET, HEAD'],
      ['POST', '/metrics', 'GET, HEAD'],
      ['GET', '/reload', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await fetchText(`${p.admin}${path}`, { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers['allow']).toBe(allow);
      expect(r.headers['cache-control']).toBe('no-store');
    }
    for (const path of ['/nope', '/status/', '/healthz/x', '/index.html']) {
      const r = await fetchText(`${p.admin}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.headers['cache-control']).toBe('no-store');
    }
    expect((await fetchText(`${p.admin}/healthz?verbose=1`)).status).toBe(200);
  });

  it('answers malformed requests with 400 and keeps serving', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url], { token: TOKEN });
    expect(await rawExchange(p.admin, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawExchange(p.admin, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawExchange(p.admin, `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rawExchange(p.admin, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 401 /);
    expect(await rawExchange(p.admin, 'GET http://x/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    const withBody = await rawExchange(p.admin, `POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(10)}`);
    expect(withBody).toMatch(/^HTTP\/1\.1 401 /);
    expect(withBody.toLowerCase()).toContain('connection: close');
    expect((await fetchText(`${p.admin}/healthz`)).status).toBe(200);
  });
});

describe('admin: /status', () => {
  it('shows each upstream state, and why one was taken out', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b' });
    await b.close(); // its port now refuses connections
    const startedBefore = Date.now();
    const p = await proxyWithAdmin([a.url, b.url]);
    const get = async (): Promise<Status> => JSON.parse((await fetchText(`${p.admin}/status`)).body) as Status;
    const before = await get();
    expect(before.draining).toBe(false);
    expect(before.pools.map((x) => x.name)).toEqual(['web']);
    expect(before.pools[0]!.upstreams.map((u) => u.state)).toEqual(['up', 'up']);

    // Round-robin sends the first or second request to b: a refused connect ejects it at once.
    for (let i = 0; i < 4; i++) expect((await fetchText(`${p.url}/`)).status).toBe(200);
    const s = await get();
    const pool = s.pools[0]!;
    expect(pool).toMatchObject({ name: 'web', balancer: 'round-robin', requests: 4, selectable: 1 });
    const [ua, ub] = pool.upstreams;
    expect(ua).toMatchObject({ origin: a.url, state: 'up', reason: null, weight: 1, inflight: 0 });
    expect(ua!.responses['2xx']).toBe(4);
    expect(ub).toMatchObject({ origin: b.url, state: 'ejected', inflight: 0, failures: 1, ejections: 1 });
    expect(ub!.reason).toMatch(/connect/);
    expect(ub!.responses.error).toBe(1);
    expect(ub!.ejectedForMs).toBeGreaterThan(0);
    // EWMA latency is shown for every balancer, not only ewma: measured once answered.
    expect(ua!.ewmaMs).toBeGreaterThan(0);
    expect(before.pools[0]!.upstreams[0]!.ewmaMs).toBeNull();
    // Uptime is the time since the runtime started: within what this test measured around it.
    const startedAt = Date.parse(s.startedAt);
    expect(startedAt).toBeGreaterThanOrEqual(startedBefore);
    expect(startedAt).toBeLessThanOrEqual(Date.now());
    expect(s.uptimeSeconds).toBeLessThanOrEqual((Date.now() - startedBefore) / 1000 + 0.001);
    expect(s.uptimeSeconds).toBeGreaterThan(0);
    expect(s.listeners).toEqual([p.url]);
    expect(typeof s.version).toBe('string');
  });
});

describe('admin: POST /reload', () => {
  function yamlFor(urls: string[]): string {
    return `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\npools:\n  web:\n    upstreams:\n${urls.map((u) => `      - ${u}\n`).join('')}`;
  }

  it('applies a valid file (200) and refuses an invalid one with 400 and every issue', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    const dir = mkdtempSync(join(tmpdir(), 'fairway-admin-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yamlFor([a.url]));
    const p = await startProxy(readFileSync(file, 'utf8'), { reload: () => loadConfigFile(file) });
    const admin = p.adminUrl!;
    expect((await fetchText(`${p.url}/`)).body).toBe('a\n');

    writeFileSync(file, yamlFor([b.url]));
    const ok = await fetchText(`${admin}/reload`, { method: 'POST' });
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(ok.body)).toMatchObject({ status: 'applied', pools: [{ name: 'web', upstreams: 1 }] });
    expect((await fetchText(`${p.url}/`)).body).toBe('b\n');

    writeFileSync(file, `${yamlFor([a.url])}    balancer: nope\n    retry: { attempts: 0 }\n`);
    const bad = await fetchText(`${admin}/reload`, { method: 'POST' });
    expect(bad.status).toBe(400);
    const body = JSON.parse(bad.body) as { error: string; issues: string[] };
    expect(body.error).toBe('invalid config');
    expect(body.issues.length).toBeGreaterThanOrEqual(2);
    expect(body.issues.some((i) => /fairway\.yaml:\d+:\d+ pools\.web\.balancer: /.test(i))).toBe(true);
    expect(body.issues.some((i) => /pools\.web\.retry\.attempts/.test(i))).toBe(true);
    // The running config stays.
    expect((await fetchText(`${p.url}/`)).body).toBe('b\n');
    expect((await fetchText(`${admin}/readyz`)).status).toBe(200);

    writeFileSync(file, 'pools: [unclosed');
    const broken = await fetchText(`${admin}/reload`, { method: 'POST' });
    expect(broken.status).toBe(400);
    expect((JSON.parse(broken.body) as { issues: string[] }).issues.length).toBeGreaterThan(0);
    expect((await fetchText(`${p.url}/`)).body).toBe('b\n');
  });

  it('409 when the proxy was started without a file', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url]);
    const r = await fetchText(`${p.admin}/reload`, { method: 'POST' });
    expect(r.status).toBe(409);
    expect((JSON.parse(r.body) as { error: string }).error).toMatch(/no config file/);
  });

  it('is refused on a non-loopback admin address without a token (the config fails closed), allowed with one', async () => {
    const a = await startUpstream({ name: 'a' });
    // Without a token the admin server never starts off loopback: a config error (SPEC "At the edge").
    await expect(proxyWithAdminOn('0.0.0.0:0', [a.url], {})).rejects.toThrow(/admin\.listen: 0\.0\.0\.0:0 is not a loopback address, so the admin server needs admin\.token/);
    const locked = await proxyWithAdminOn('0.0.0.0:0', [a.url], { token: TOKEN });
    const ok = await fetchText(`${locked}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(409); // allowed through; this proxy simply has no file
  });

  it('refuses a cross-origin POST (a browser form or page) with 403', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await proxyWithAdmin([a.url]);
    const r = await fetchText(`${p.admin}/reload`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(r.status).toBe(403);
  });
});
