// Statuses the proxy produces itself (404/502/503/504) with x-fairway-error, and the rule that a
// failure after the response started aborts the client instead of ending a truncated body.
import net from 'node:net';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { closedPortUrl } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';


describe('proxy-generated errors', () => {
  it('404 no-route when no route matches', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({
      pools: { api: { upstreams: [a.url] } },
      routes: [{ match: { host: 'api.example.com' }, pool: 'api' }],
    });
    const r = await fetchText(`${p.url}/`, { headers: { host: 'other.example.com' } });
    expect(r.status).toBe(404);
    expect(r.headers['x-fairway-error']).toBe('no-route');
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    expect(r.body.length).toBeGreaterThan(0);
    expect(a.hits).toBe(0);
  });

  it('routes by host and path prefix, first match wins', async () => {
    const [a, b, c] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' }), startUpstream({ name: 'c' })]);
    const p = await startProxy({
      pools: { a: { upstreams: [a.url] }, b: { upstreams: [b.url] }, c: { upstreams: [c.url] } },
      routes: [
        { match: { host: 'api.example.com', pathPrefix: '/v1' }, pool: 'a' },
        { match: { host: '*.example.com' }, pool: 'b' },
        { pool: 'c' },
      ],
    });
    const get = async (host: string, path: string): Promise<string> => (await fetchText(`${p.url}${path}`, { headers: { host } })).body;
    expect(await get('api.example.com', '/v1/users')).toBe('a\n');
    expect(await get('API.example.com:8080', '/v1')).toBe('a\n');
    expect(await get('api.example.com', '/v2')).toBe('b\n');
    expect(await get('www.example.com', '/')).toBe('b\n');
    expect(await get('example.org', '/v1')).toBe('c\n');
  });

  it('502 connect-refused when the only upstream refuses connections', async () => {
    const p = await startProxy({ pools: { web: { upstreams: [await closedPortUrl()], retry: { attempts: 1 } } } });
    const r = await fetchText(`${p.url}/`);
    expect(r.status).toBe(502);
    expect(r.headers['x-fairway-error']).toBe('connect-refused');
  });

  it('502 upstream-reset when the upstream resets before answering', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'reset-before-headers' } });
    const p = await startProxy({ pools: { web: { upstreams: [a.url], retry: { attempts: 1 } } } });
    const r = await fetchText(`${p.url}/`);
    expect(r.status).toBe(502);
    expect(r.headers['x-fairway-error']).toBe('upstream-reset');
  });

  it('503 no-upstream at once when every upstream has weight 0', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [{ url: a.url, weight: 0 }] } } });
    const t0 = performance.now();
    const r = await fetchText(`${p.url}/`);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.status).toBe(503);
    expect(r.headers['x-fairway-error']).toBe('no-upstream');
    expect(r.headers['retry-after']).toBeDefined();
    expect(a.hits).toBe(0);
  });

  it('504 upstream-timeout when the upstream does not answer in time', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'hang' } });
    const p = await startProxy({ timeouts: { response: '300ms' }, pools: { web: { upstreams: [a.url], retry: { attempts: 1 } } } });
    const t0 = performance.now();
    const r = await fetchText(`${p.url}/`);
    const elapsed = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(r.headers['x-fairway-error']).toBe('upstream-timeout');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5000);
  });

  it('a short per-try timeout is kept precisely: three 200 ms tries take about 0.6 s, not 3 s', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'hang' } });
    const p = await startProxy({ timeouts: { response: '200ms' }, pools: { web: { upstreams: [a.url] } } });
    const t0 = performance.now();
    const r = await fetchText(`${p.url}/`);
    const elapsed = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(r.headers['x-fairway-error']).toBe('upstream-timeout');
    expect(a.hits).toBe(3);
    // undici's coarse timers made each 200 ms try last about 1 s (3 s in all).
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(1800);
  });

  it('aborts the client when the upstream dies mid-body (no truncated body that looks complete)', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'reset-mid-body' } });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get(`${p.url}/`, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(`complete:${bytes}`));
        res.on('error', () => resolve('aborted'));
        res.on('aborted', () => resolve('aborted'));
      });
      req.on('error', () => resolve('aborted'));
      req.setTimeout(10_000, () => resolve('hung'));
    });
    expect(outcome).toBe('aborted');
    expect(a.hits).toBe(1); // response had started: never retried
  });

  it('aborts the client when the upstream stops sending its body (idle timeout)', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'slow-body', chunkMs: 2000, chunks: 5 } });
    const p = await startProxy({ timeouts: { idle: '200ms' }, pools: { web: { upstreams: [a.url] } } });
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get(`${p.url}/`, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('complete'));
        res.on('error', () => resolve('aborted'));
      });
      req.on('error', () => resolve('aborted'));
      req.setTimeout(10_000, () => resolve('hung'));
    });
    expect(outcome).toBe('aborted');
  });

  it('survives clients that disconnect mid-request and keeps serving', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'delay', ms: 200 } });
    const p = await startProxy({ pools: { web: { upstreams: [a.url] } } });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        fetchText(`${p.url}/`, { timeoutMs: 50 }).catch(() => 'aborted'),
      ),
    );
    a.behavior = { kind: 'ok' };
    const r = await fetchText(`${p.url}/`);
    expect(r.status).toBe(200);
    // A client leaving is never counted against the upstream.
    const u = p.runtime.current.pools.get('web')!.upstreams[0]!;
    expect(u.state).toBe('up');
  });
});

describe('requests undici cannot send', () => {
  it('OPTIONS * is answered by the proxy and never counts against upstreams', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    const p = await startProxy({ pools: { web: { upstreams: [a.url, b.url] } } });
    const u = new URL(p.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(u.port), u.hostname, () => s.write('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1.1 204/);
    expect(a.hits + b.hits).toBe(0);
    for (const up of p.runtime.current.pools.get('web')!.upstreams) expect(up.state).toBe('up');
    expect((await fetchText(`${p.url}/`)).status).toBe(200);
  });
});
