// GET /metrics over real sockets: the text parses as Prometheus exposition format and the
// counters move with traffic (exact request counts, failures, retries, in-flight, latency
// histogram, client and upstream connections).
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { parsePromText, type PromText } from '../src/admin/prom-text.testing.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

async function setup(upstreams: string[], pool: Record<string, unknown> = {}) {
  const p = await startProxy({ admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams, ...pool } } });
  const scrape = async (): Promise<PromText> => {
    const r = await fetchText(`${p.adminUrl!}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parsePromText(r.body);
  };
  return { ...p, scrape };
}

describe('/metrics', () => {
  it('parses as Prometheus text and counts exactly N requests', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await setup([a.url]);
    const A = { pool: 'web', upstream: a.url };
    const before = await p.scrape();
    expect(before.value('fairway_upstream_requests_total', { ...A, code_class: '2xx' })).toBe(0);
    expect(before.value('fairway_upstream_up', A)).toBe(1);
    const N = 25;
    for (let i = 0; i < N; i++) expect((await fetchText(`${p.url}/`)).status).toBe(200);
    const after = await p.scrape();
    expect(after.value('fairway_upstream_requests_total', { ...A, code_class: '2xx' })).toBe(N);
    expect(after.value('fairway_upstream_requests_total', { ...A, code_class: 'error' })).toBe(0);
    expect(after.value('fairway_pool_requests_total', { pool: 'web' })).toBe(N);
    expect(after.value('fairway_upstream_inflight', A)).toBe(0);
    expect(after.value('fairway_upstream_failures_total', A)).toBe(0);
    expect(after.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(after.value('fairway_draining')).toBe(0);
  });

  it('records time to response headers in the latency histogram', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await setup([a.url]);
    const A = { pool: 'web', upstream: a.url };
    const count0 = (await p.scrape()).value('fairway_upstream_response_seconds_count', A);
    expect(count0, 'no histogram for the upstream: is the u.latency hook in place (see the admin report)?').toBe(0);
    a.behavior = { kind: 'delay', ms: 30 };
    for (let i = 0; i < 5; i++) await fetchText(`${p.url}/`);
    const m = await p.scrape();
    expect(m.value('fairway_upstream_response_seconds_count', A)).toBe(5);
    expect(m.value('fairway_upstream_response_seconds_bucket', { ...A, le: '+Inf' })).toBe(5);
    expect(m.value('fairway_upstream_response_seconds_bucket', { ...A, le: '0.025' })).toBe(0);
    expect(m.value('fairway_upstream_response_seconds_sum', A)!).toBeGreaterThanOrEqual(5 * 0.029);
  });

  it('counts failures and retries when an upstream answers 503', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b', behavior: { kind: 'status', status: 503 } })]);
    const p = await setup([a.url, b.url], { retry: { attempts: 2 } });
    const N = 6;
    for (let i = 0; i < N; i++) expect((await fetchText(`${p.url}/`)).body).toBe('a\n');
    const m = await p.scrape();
    const A = { pool: 'web', upstream: a.url };
    const B = { pool: 'web', upstream: b.url };
    const triesB = m.value('fairway_upstream_requests_total', { ...B, code_class: '5xx' })!;
    expect(triesB).toBe(b.hits);
    expect(triesB).toBeGreaterThan(0);
    expect(m.value('fairway_upstream_failures_total', B)).toBe(triesB);
    expect(m.value('fairway_upstream_failures_total', A)).toBe(0);
    expect(m.value('fairway_upstream_requests_total', { ...A, code_class: '2xx' })).toBe(N);
    // Each 503 from b was retried on a.
    expect(m.value('fairway_pool_retries_total', { pool: 'web' })).toBe(triesB);
    expect(m.value('fairway_upstream_retries_total', A)).toBe(triesB);
    expect(m.value('fairway_pool_requests_total', { pool: 'web' })).toBe(N);
  });

  it('a refused connect shows as an error try, a failure and an ejected upstream', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    await b.close();
    const p = await setup([a.url, b.url]);
    for (let i = 0; i < 4; i++) expect((await fetchText(`${p.url}/`)).status).toBe(200);
    const m = await p.scrape();
    const B = { pool: 'web', upstream: b.url };
    expect(m.value('fairway_upstream_requests_total', { ...B, code_class: 'error' })).toBe(1);
    expect(m.value('fairway_upstream_failures_total', B)).toBe(1);
    expect(m.value('fairway_upstream_up', B)).toBe(0);
    expect(m.value('fairway_upstream_state', { ...B, state: 'ejected' })).toBe(1);
    expect(m.value('fairway_upstream_ejections_total', B)).toBe(1);
    expect(m.value('fairway_pool_selectable_upstreams', { pool: 'web' })).toBe(1);
  });

  it('shows in-flight tries and open connections while a request runs, and 0 after', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'hang' } });
    const p = await setup([a.url]);
    const A = { pool: 'web', upstream: a.url };
    const client = new Agent({ connections: 1, keepAliveTimeout: 10_000 });
    const pending = fetchText(`${p.url}/`, { dispatcher: client }).catch(() => null);
    await waitFor(() => a.active === 1, { message: 'the request to reach the upstream' });
    const during = await p.scrape();
    expect(during.value('fairway_upstream_inflight', A)).toBe(1);
    expect(during.value('fairway_open_connections', { listener: p.url })).toBeGreaterThanOrEqual(1);
    expect(during.value('fairway_upstream_open_connections', A)).toBeGreaterThanOrEqual(1);
    a.behavior = { kind: 'ok' };
    await a.close(); // ends the hung response
    await pending;
    await waitFor(async () => (await p.scrape()).value('fairway_upstream_inflight', A) === 0, { message: 'in-flight back to 0' });
    await client.close();
    await waitFor(async () => (await p.scrape()).value('fairway_open_connections', { listener: p.url }) === 0, { message: 'client connections to close' });
  });
});
