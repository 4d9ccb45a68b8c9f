// What each balancer does with real upstreams behind the real proxy.
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';

async function names(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await fetchText(url)).body.trim());
  return out;
}

/** Runs `total` requests with `concurrency` in flight; returns how many each upstream served. */
async function spread(url: string, total: number, concurrency: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const r = await fetchText(url);
        expect(r.status).toBe(200);
        const name = r.body.trim();
        counts[name] = (counts[name] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

describe('round-robin', () => {
  it('interleaves weights 5,1,1 as a a b a c a a (smooth, never bursts)', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream({ name })));
    const p = await startProxy({
      pools: { web: { balancer: 'round-robin', upstreams: [{ url: a!.url, weight: 5 }, { url: b!.url, weight: 1 }, { url: c!.url, weight: 1 }] } },
    });
    const seq = (await names(`${p.url}/`, 14)).join(' ');
    // The cycle starts at a random offset; two full cycles must contain the canonical one.
    const cycle = 'a a b a c a a';
    const doubled = `${cycle} ${cycle}`;
    expect(doubled).toContain(seq.split(' ').slice(0, 7).join(' '));
    expect(seq.split(' ').filter((x) => x === 'a').length).toBe(10);
  });
});

describe('random', () => {
  it('honours weights within a band', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    const p = await startProxy({ pools: { web: { balancer: 'random', upstreams: [{ url: a!.url, weight: 3 }, { url: b!.url, weight: 1 }] } } });
    const counts = await spread(`${p.url}/`, 800, 8);
    const shareA = (counts['a'] ?? 0) / 800;
    expect(shareA).toBeGreaterThan(0.65);
    expect(shareA).toBeLessThan(0.85);
  });
});

describe.each(['least-connections', 'ewma'] as const)('%s', (balancer) => {
  it('sends less traffic to a slow upstream', async () => {
    const fast1 = await startUpstream({ name: 'fast1' });
    const fast2 = await startUpstream({ name: 'fast2' });
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 80 } });
    const p = await startProxy({ pools: { web: { balancer, upstreams: [fast1.url, fast2.url, slow.url] } } });
    const counts = await spread(`${p.url}/`, 600, 12);
    const slowShare = (counts['slow'] ?? 0) / 600;
    // Round-robin would give it a third. Both feedback balancers must cut that well down.
    expect(slowShare).toBeLessThan(0.15);
    expect(counts['fast1']).toBeGreaterThan(100);
    expect(counts['fast2']).toBeGreaterThan(100);
  });
});

describe('least-connections', () => {
  it('shares load between two idle upstreams (random tie-break)', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    const p = await startProxy({ pools: { web: { balancer: 'least-connections', upstreams: [a!.url, b!.url] } } });
    const seq = await names(`${p.url}/`, 60);
    const na = seq.filter((x) => x === 'a').length;
    expect(na).toBeGreaterThan(10);
    expect(na).toBeLessThan(50);
  });
});
