// GET / on the admin server (the dashboard page: no data, served without the token, locked down
// by its CSP) and what the page reads: /status share, balancer figures, recent figures and the
// per-second series (?series=1), over real sockets. The page itself in a browser:
// dashboard-browser.test.ts.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstreams } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const TOKEN = 'dashboard-test-token-7f3a';

interface UpstreamDoc {
  origin: string;
  share: number | null;
  balancing: Record<string, number | null>;
  recent: { requests: number; finished: number; requestsPerSecond: number; errorShare: number | null; p99Ms: number | null };
  series?: { endSecond: number; requests: number[]; failures: number[]; p99Ms: (number | null)[] };
}
interface StatusDoc {
  pools: { name: string; recent: { requests: number }; upstreams: UpstreamDoc[] }[];
}

function inlineBlock(html: string, open: RegExp, close: string): string {
  const m = open.exec(html);
  if (m === null) throw new Error(`no ${String(open)} in the page`);
  const start = m.index + m[0].length;
  return html.slice(start, html.indexOf(close, start));
}

const sha = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('dashboard page (GET /)', () => {
  it('is served without the token, holds no data, and allows only its own inline script and style', async () => {
    const [a] = await startUpstreams('a');
    const p = await startProxy({ admin: { listen: '127.0.0.1:0', token: TOKEN }, pools: { secretpool: { upstreams: [a!.url] } } });
    const r = await fetchText(`${p.adminUrl}/`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-frame-options']).toBe('DENY');
    // No data: neither the pool nor the upstream nor the token is in the page.
    expect(r.body).not.toContain('secretpool');
    expect(r.body).not.toContain(a!.url);
    expect(r.body).not.toContain(TOKEN);
    // Self-contained: nothing loaded from elsewhere.
    expect(r.body).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    // The hashes in the policy are those of the inline blocks, so a browser runs exactly them.
    expect(csp).toContain(`script-src ${sha(inlineBlock(r.body, /<script type="module">/, '</script>'))}`);
    expect(csp).toContain(`style-src ${sha(inlineBlock(r.body, /<style>/, '</style>'))}`);
    // The data it reads still needs the token.
    expect((await fetchText(`${p.adminUrl}/status?series=1`)).status).toBe(401);
    const head = await fetchText(`${p.adminUrl}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await fetchText(`${p.adminUrl}/`, { method: 'POST' })).status).toBe(405);
  });
});

describe('/status: share, balancer figures, recent figures, series', () => {
  it('round-robin over three upstreams: shares of 1/3 that sum to 1, and the series counts every try', async () => {
    const ups = await startUpstreams('a', 'b', 'c');
    const p = await startProxy({ admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: ups.map((u) => u.url) } } });
    for (let i = 0; i < 30; i++) expect((await fetchText(`${p.url}/`)).status).toBe(200);

    const plain = JSON.parse((await fetchText(`${p.adminUrl}/status`)).body) as StatusDoc;
    const pool = plain.pools[0]!;
    expect(pool.recent.requests).toBe(30);
    expect(pool.upstreams.map((u) => u.share)).toEqual([0.3333, 0.3333, 0.3333]);
    for (const u of pool.upstreams) {
      expect(u.series, 'GET /status without ?series has no series').toBeUndefined();
      expect(u.recent.requests).toBe(10);
      expect(u.recent.finished).toBe(10);
      expect(u.recent.errorShare).toBe(0);
      expect(u.recent.p99Ms).toBeGreaterThan(0);
      expect(u.balancing).toEqual({ weight: 1, weightShare: 0.3333 });
    }

    // The series ends with the last complete second: once the second of the last try is over,
    // it holds every try, each upstream's a third.
    await waitFor(
      async () => {
        const r = await fetchText(`${p.adminUrl}/status?series=1`);
        expect(r.body.startsWith('{"')).toBe(true); // compact: the page polls it every second
        const ups = (JSON.parse(r.body) as StatusDoc).pools[0]!.upstreams;
        for (const u of ups) expect(u.series!.requests).toHaveLength(60);
        const sums = ups.map((u) => u.series!.requests.reduce((x, y) => x + y, 0));
        expect(Math.max(...sums)).toBeLessThanOrEqual(10);
        return sums.every((n) => n === 10);
      },
      { timeoutMs: 5000, message: 'the series to hold all 30 tries' },
    );
  });

  it('least-connections and ewma pools show the figures their balancer decides by', async () => {
    const ups = await startUpstreams('a', 'b');
    const p = await startProxy({
      admin: { listen: '127.0.0.1:0' },
      pools: { lc: { balancer: 'least-connections', upstreams: [ups[0]!.url] }, fast: { balancer: 'ewma', upstreams: [ups[1]!.url] } },
      routes: [{ match: { pathPrefix: '/lc' }, pool: 'lc' }, { pool: 'fast' }],
    });
    await fetchText(`${p.url}/lc`);
    await fetchText(`${p.url}/`);
    const doc = JSON.parse((await fetchText(`${p.adminUrl}/status`)).body) as StatusDoc;
    const lc = doc.pools.find((x) => x.name === 'lc')!.upstreams[0]!;
    const ewma = doc.pools.find((x) => x.name === 'fast')!.upstreams[0]!;
    expect(lc.balancing).toEqual({ weight: 1, weightShare: 1, inflight: 0, load: 0 });
    expect(ewma.balancing['ewmaMs']).toBeGreaterThan(0);
    expect(ewma.balancing['costMs']).toBe(ewma.balancing['ewmaMs']);
  });
});
