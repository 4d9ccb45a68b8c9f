// DNS discovery through the whole proxy: a test DNS server on 127.0.0.1 answers for a name whose
// addresses are real upstreams on 127.0.0.2, .3 and .4 sharing one port. Each address is one
// upstream (Host unchanged); addresses that stay keep their state, new ones get traffic, gone
// ones get none and close once idle; failures keep the last good set; a name that never
// resolved answers 503 until it does; a slow DNS server never delays a request; a reload keeps
// what was discovered.

import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config/load.ts';
import type { Status } from '../src/admin/status.ts';
import type { DnsStatus } from '../src/runtime.ts';
import { upstreamsOnOnePort } from './helpers/addresses.ts';
import { DnsMode, startDnsServer, type TestDnsServer } from './helpers/dns-server.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy, type RunningProxy } from './helpers/proxy.ts';
import type { RunningUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const NAME = 'api.test';

interface Setup {
  p: RunningProxy;
  dns: TestDnsServer;
  a: RunningUpstream;
  b: RunningUpstream;
  c: RunningUpstream;
  port: number;
  /** The proxy's config object, for reloads. */
  config: Record<string, unknown>;
}

/** Upstreams a, b, c on 127.0.0.2/.3/.4 (one port), a DNS server, and a proxy resolving NAME. */
async function setup(opts: { records?: string[]; resolve?: string; pool?: Record<string, unknown>; dnsTimeoutMs?: number } = {}): Promise<Setup> {
  const { upstreams, port } = await upstreamsOnOnePort([
    { name: 'a', host: '127.0.0.2' },
    { name: 'b', host: '127.0.0.3' },
    { name: 'c', host: '127.0.0.4' },
  ]);
  const dns = await startDnsServer();
  if (opts.records !== undefined) dns.setRecords(NAME, { A: opts.records });
  const config = {
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    dns: { servers: [dns.server] },
    pools: { api: { upstreams: [{ url: `http://${NAME}:${port}`, resolve: opts.resolve ?? '50ms' }], ...opts.pool } },
  };
  const p = await startProxy(config, {
    reload: () => buildConfig(config, { env: process.env }),
    runtime: { dns: { timeoutMs: opts.dnsTimeoutMs ?? 250, tries: 1 } },
  });
  const [a, b, c] = upstreams as [RunningUpstream, RunningUpstream, RunningUpstream];
  return { p, dns, a, b, c, port, config };
}

function origins(s: Setup): string[] {
  return s.p.runtime.current.pools.get('api')!.upstreams.map((u) => u.origin);
}

async function status(s: Setup): Promise<Status & { dns: DnsStatus }> {
  return JSON.parse((await fetchText(`${s.p.adminUrl}/status`)).body) as Status & { dns: DnsStatus };
}

describe('dns discovery through the proxy', () => {
  it('each address is one upstream at the URL port; the client Host reaches it unchanged; /status and /metrics show it', async () => {
    const s = await setup({ records: ['127.0.0.3', '127.0.0.2'] });
    expect(origins(s)).toEqual([`http://127.0.0.2:${s.port}`, `http://127.0.0.3:${s.port}`]);
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push((await fetchText(`${s.p.url}/x`, { headers: { host: 'www.example.test' } })).body);
    expect(bodies.filter((b) => b === 'a\n')).toHaveLength(3);
    expect(bodies.filter((b) => b === 'b\n')).toHaveLength(3);
    for (const u of [s.a, s.b]) expect(new Set(u.requests.map((r) => r.headers['host']))).toEqual(new Set(['www.example.test']));

    const st = await status(s);
    expect(st.pools[0]!.upstreams.map((u) => [u.origin, u.name])).toEqual([
      [`http://127.0.0.2:${s.port}`, NAME],
      [`http://127.0.0.3:${s.port}`, NAME],
    ]);
    expect(st.dns.servers).toEqual([s.dns.server]);
    expect(st.dns.names).toHaveLength(1);
    expect(st.dns.names[0]).toMatchObject({ name: NAME, state: 'ok', addresses: ['127.0.0.2', '127.0.0.3'] });

    const metrics = (await fetchText(`${s.p.adminUrl}/metrics`)).body;
    expect(metrics).toMatch(/^fairway_dns_addresses\{name="api\.test"\} 2$/m);
    expect(Number(/^fairway_dns_lookups_total\{name="api\.test"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/^fairway_dns_last_success_time_seconds\{name="api\.test"\} (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('an address that stays keeps its upstream object; a new one gets traffic; a gone one gets none and is closed', async () => {
    const s = await setup({ records: ['127.0.0.2', '127.0.0.3'], pool: { healthCheck: { path: '/health', interval: '50ms', timeout: '40ms' } } });
    const pool = s.p.runtime.current.pools.get('api')!;
    const [u2, u3] = pool.upstreams;
    for (let i = 0; i < 4; i++) await fetchText(`${s.p.url}/`);
    expect(u3!.requests).toBe(2);

    s.dns.setRecords(NAME, { A: ['127.0.0.3', '127.0.0.4'] });
    await waitFor(() => origins(s).join() === [`http://127.0.0.3:${s.port}`, `http://127.0.0.4:${s.port}`].join(), { message: 'members .3 and .4' });
    // Same pool object (the router keeps it), same Upstream for .3 with its counters.
    expect(s.p.runtime.current.pools.get('api')).toBe(pool);
    expect(pool.upstreams[0]).toBe(u3);
    expect(u3!.requests).toBe(2);
    expect(u2!.retired).toBe(true);
    expect(u2!.dispatcher).toBeNull();

    const aHits = s.a.hits;
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add((await fetchText(`${s.p.url}/`)).body);
    expect(bodies).toEqual(new Set(['b\n', 'c\n']));
    expect(s.a.hits).toBe(aHits);

    // Health checks follow the members: .4 is probed, .2 no longer (one probe may have been in flight).
    const aHealth = s.a.healthHits;
    const cHealth = s.c.healthHits;
    await waitFor(() => s.c.healthHits >= cHealth + 3, { message: 'probes of the new address' });
    expect(s.a.healthHits).toBeLessThanOrEqual(aHealth + 1);
  });

  it('a gone address with a request in flight finishes it, then its connections close', async () => {
    const s = await setup({ records: ['127.0.0.2'] });
    const u2 = s.p.runtime.current.pools.get('api')!.upstreams[0]!;
    s.a.behavior = { kind: 'delay', ms: 600 };
    const slow = fetchText(`${s.p.url}/slow`);
    await waitFor(() => s.a.active === 1, { message: 'the slow request at a' });
    s.dns.setRecords(NAME, { A: ['127.0.0.3'] });
    await waitFor(() => origins(s)[0] === `http://127.0.0.3:${s.port}`, { message: 'member .3' });
    expect(u2.retired).toBe(true);
    expect(u2.dispatcher).not.toBeNull(); // busy: closed when its last try ends
    expect((await fetchText(`${s.p.url}/`)).body).toBe('b\n');
    const r = await slow;
    expect([r.status, r.body]).toEqual([200, 'a\n']);
    await waitFor(() => u2.dispatcher === null, { message: 'the retired upstream closed once idle' });
    await waitFor(() => s.a.connectionsClosed >= 1, { message: 'a sees its connection closed' });
  });

  for (const mode of [DnsMode.ServFail, DnsMode.NxDomain, DnsMode.Empty, DnsMode.Refused, DnsMode.Drop] as const) {
    it(`a failed lookup (${mode}) keeps the last good set, logged in /status and counted in /metrics`, async () => {
      const s = await setup({ records: ['127.0.0.2', '127.0.0.3'] });
      s.dns.setMode(NAME, mode);
      const kind = mode === DnsMode.Drop ? 'timeout' : mode;
      await waitFor(() => (s.p.runtime.discovery.statsOf(NAME)?.failures[kind as 'servfail'] ?? 0) >= 2, { message: `two ${kind} failures` });
      expect(origins(s)).toEqual([`http://127.0.0.2:${s.port}`, `http://127.0.0.3:${s.port}`]);
      const bodies = new Set<string>();
      for (let i = 0; i < 4; i++) bodies.add((await fetchText(`${s.p.url}/`)).body);
      expect(bodies).toEqual(new Set(['a\n', 'b\n']));
      const st = await status(s);
      expect(st.dns.names[0]).toMatchObject({ state: 'failing', addresses: ['127.0.0.2', '127.0.0.3'] });
      expect(st.dns.names[0]!.lastError?.kind).toBe(kind);
      const metrics = (await fetchText(`${s.p.adminUrl}/metrics`)).body;
      const m = new RegExp(`^fairway_dns_failures_total\\{name="api\\.test",kind="${kind}"\\} (\\d+)$`, 'm').exec(metrics);
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(2);
    });
  }

  it('a name that never resolved answers 503 no-upstream until it does', async () => {
    const s = await setup(); // no records: NXDOMAIN
    const r = await fetchText(`${s.p.url}/`);
    expect(r.status).toBe(503);
    expect(r.headers['x-fairway-error']).toBe('no-upstream');
    expect((await status(s)).dns.names[0]).toMatchObject({ state: 'failing', addresses: [], lastSuccessAt: null });
    s.dns.setRecords(NAME, { A: ['127.0.0.4'] });
    await waitFor(async () => (await fetchText(`${s.p.url}/`)).status === 200, { message: 'the pool to serve once resolved' });
    expect((await fetchText(`${s.p.url}/`)).body).toBe('c\n');
  });

  it('a slow DNS server never delays a request', async () => {
    const s = await setup({ records: ['127.0.0.2'], dnsTimeoutMs: 3000 });
    s.dns.setDelay(NAME, 10_000);
    // A lookup is now stuck for up to 3 s; requests must not wait for it.
    await waitFor(() => s.dns.queries(NAME) > s.dns.replies(NAME), { message: 'a lookup in flight' });
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect((await fetchText(`${s.p.url}/`)).body).toBe('a\n');
      times.push(performance.now() - t0);
    }
    expect(s.dns.queries(NAME)).toBeGreaterThan(s.dns.replies(NAME)); // still stuck
    expect(Math.max(...times)).toBeLessThan(1000);
  });

  it('a reload keeps discovered upstreams and looks nothing up again; a new name is resolved before the swap', async () => {
    const s = await setup({ records: ['127.0.0.2', '127.0.0.3'], resolve: '1h' });
    s.dns.setRecords('other.test', { A: ['127.0.0.4'] });
    const before = s.p.runtime.current.pools.get('api')!.upstreams;
    const queries = s.dns.queries(NAME);
    const pools = s.config['pools'] as Record<string, unknown>;
    pools['other'] = { upstreams: [{ url: `http://other.test:${s.port}`, resolve: '1h' }] };
    s.config['routes'] = [{ match: { host: 'other.test' }, pool: 'other' }, { pool: 'api' }];
    await s.p.runtime.reload();

    const after = s.p.runtime.current.pools.get('api')!.upstreams;
    expect(after).toHaveLength(2);
    expect(after[0]).toBe(before[0]);
    expect(after[1]).toBe(before[1]);
    expect(s.dns.queries(NAME)).toBe(queries);
    // The new pool's name was answered during the reload: it serves at once, never 503.
    const r = await fetchText(`${s.p.url}/`, { headers: { host: 'other.test' } });
    expect([r.status, r.body]).toEqual([200, 'c\n']);
    expect((await status(s)).dns.names.map((n) => n.name)).toEqual([NAME, 'other.test']);
  });
});
