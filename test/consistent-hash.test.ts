// consistent-hash through the proxy: the same key always reaches the same upstream, for every key
// source; keys spread over the pool; a down upstream's keys go to others and come back; bounded
// loads send a hot key's overflow to the next upstream; requests without a key are spread.
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { rawRequest } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream, type RunningUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

async function fourUpstreams(): Promise<RunningUpstream[]> {
  return Promise.all(['a', 'b', 'c', 'd'].map((name) => startUpstream({ name })));
}

function pools(ups: RunningUpstream[], key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { pools: { web: { balancer: 'consistent-hash', hash: { key, ...extra }, upstreams: ups.map((u) => u.url) } } };
}

/** Which upstream served a request (each answers with its own name). */
async function servedBy(url: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetchText(url, { headers });
  expect(r.status).toBe(200);
  return r.body.trim();
}

describe('consistent-hash', () => {
  it('sends a header key to the same upstream every time, and spreads 400 keys over all four', async () => {
    const ups = await fourUpstreams();
    const p = await startProxy(pools(ups, 'header:x-user-id'));
    const owner = new Map<string, string>();
    for (let i = 0; i < 400; i++) owner.set(`user-${i}`, await servedBy(`${p.url}/`, { 'x-user-id': `user-${i}` }));
    for (let i = 0; i < 400; i += 7) expect(await servedBy(`${p.url}/x`, { 'x-user-id': `user-${i}` })).toBe(owner.get(`user-${i}`));
    const counts = new Map<string, number>();
    for (const o of owner.values()) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const n of counts.values()) expect(n).toBeGreaterThan(40); // 100 expected each
  });

  it('takes the key from a cookie, a query parameter or the path', async () => {
    const ups = await fourUpstreams();
    const byCookie = await startProxy(pools(ups, 'cookie:session'));
    const byQuery = await startProxy(pools(ups, 'query:shard'));
    const byPath = await startProxy(pools(ups, 'path'));
    for (let i = 0; i < 20; i++) {
      const c = await servedBy(`${byCookie.url}/`, { cookie: `theme=dark; session=s${i}; other=1` });
      expect(await servedBy(`${byCookie.url}/other`, { cookie: `session=s${i}` })).toBe(c);
      const q = await servedBy(`${byQuery.url}/items?x=1&shard=k${i}`);
      expect(await servedBy(`${byQuery.url}/else?shard=k${i}&y=2`)).toBe(q);
      const pth = await servedBy(`${byPath.url}/files/${i}`);
      expect(await servedBy(`${byPath.url}/files/${i}`)).toBe(pth);
    }
  });

  it('keys by client address', async () => {
    const ups = await fourUpstreams();
    const p = await startProxy(pools(ups, 'client-ip'));
    const seen = new Set<string>();
    // From many loopback source addresses (undici's client cannot bind one: raw sockets).
    const from = async (ip: string): Promise<string> => {
      const text = await rawRequest(p.url, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', ip);
      expect(text).toMatch(/^HTTP\/1\.1 200/);
      return text.trim().split('\n').at(-1)!;
    };
    for (let i = 2; i < 40; i++) {
      const first = await from(`127.0.0.${i}`);
      expect(await from(`127.0.0.${i}`)).toBe(first);
      seen.add(first);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('moves only a down upstream\'s keys, and gives them back when it returns', async () => {
    const ups = await fourUpstreams();
    const p = await startProxy(pools(ups, 'header:x-user-id'));
    const owner = new Map<string, string>();
    for (let i = 0; i < 200; i++) owner.set(`u${i}`, await servedBy(`${p.url}/`, { 'x-user-id': `u${i}` }));
    const pool = p.runtime.current.pools.get('web')!;
    const c = pool.upstreams.find((u) => u.origin === ups[2]!.url)!;
    p.runtime.health.observe(pool, c, 2 /* ConnectFailure */, p.runtime.clock(), 'connect-refused');
    expect(c.state).toBe('ejected');
    let moved = 0;
    for (const [k, o] of owner) {
      const now = await servedBy(`${p.url}/`, { 'x-user-id': k });
      if (o === 'c') expect(now).not.toBe('c');
      else expect(now).toBe(o);
      if (now !== o) moved++;
    }
    expect(moved).toBe([...owner.values()].filter((o) => o === 'c').length);
    p.runtime.health.readmitExpired(c.ejectedUntil);
    for (const [k, o] of owner) expect(await servedBy(`${p.url}/`, { 'x-user-id': k })).toBe(o);
  });

  it('bounds a hot key\'s load: the overflow goes to the next upstream (and all to one with loadFactor off)', async () => {
    const ups = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startUpstream({ name, behavior: { kind: 'delay', ms: 40 } })));
    const spread = async (loadFactor: string): Promise<Set<string>> => {
      const p = await startProxy(pools(ups, 'header:x-user-id', { loadFactor }));
      const names = await Promise.all(Array.from({ length: 24 }, () => servedBy(`${p.url}/`, { 'x-user-id': 'hot' })));
      await p.close();
      return new Set(names);
    };
    expect((await spread('off')).size).toBe(1);
    expect((await spread('125%')).size).toBeGreaterThan(1);
  });

  it('balances requests without the key like random', async () => {
    const ups = await fourUpstreams();
    const p = await startProxy(pools(ups, 'header:x-user-id'));
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add(await servedBy(`${p.url}/`));
      return seen.size === 4;
    }, { message: 'all four upstreams reached without a key' });
  });
});
