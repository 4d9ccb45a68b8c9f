// Active health checks against real upstreams: heartbeats mark upstreams down and up within
// their thresholds, traffic follows, expectStatus and timeouts are honoured, initialState down
// holds traffic back, an all-down pool answers 503 at once, and probes bypass the traffic pool.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Upstream } from '../src/pool/upstream.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy, type RunningProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const INTERVAL_MS = 50;
const TIMEOUT_MS = 40;
/** Scheduling slack on 2 shared CI cores, on top of what the thresholds themselves take. */
const SLACK_MS = 2000;

function healthCheck(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    path: '/health',
    interval: `${INTERVAL_MS}ms`,
    timeout: `${TIMEOUT_MS}ms`,
    unhealthyThreshold: 3,
    healthyThreshold: 2,
    ...extra,
  };
}

/** The live Upstream object for `origin` in pool `web`. */
function upstream(p: RunningProxy, origin: string): Upstream {
  const pool = p.runtime.current.pools.get('web');
  const u = pool?.upstreams.find((x) => x.origin === origin);
  if (u === undefined) throw new Error(`no upstream ${origin} in pool web`);
  return u;
}

/** Sends `n` sequential GETs and returns the body of each (the upstream's name). */
async function names(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetchText(url);
    expect(r.status).toBe(200);
    out.push(r.body.trim());
  }
  return out;
}

/** A bare upstream with a custom handler, closed (all connections included) after the test. */
async function startRawUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: http.Server }> {
  const sockets = new Set<Socket>();
  const server = http.createServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('active health checks', () => {
  it('marks an upstream down after unhealthyThreshold failed heartbeats and up again after healthyThreshold successes', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url, b.url], healthCheck: healthCheck() } } });
    const ua = upstream(p, a.url);
    await waitFor(() => ua.lastCheck?.ok === true, { message: 'a first passing check' });
    expect((await names(p.url, 10)).sort()).toContain('a');

    a.healthStatus = 500;
    const downStart = Date.now();
    await waitFor(() => ua.state === 'down', { timeoutMs: INTERVAL_MS * 3 + SLACK_MS, message: 'a down' });
    const downMs = Date.now() - downStart;
    // The state is polled, so a further failed probe may land before the poll sees it.
    expect(ua.reason).toMatch(/^health check failed [3-9] times: status 500$/);
    expect(ua.lastCheck).toMatchObject({ ok: false, status: 500, error: null });
    // Three failures need at least two full intervals after the first one (jitter is ±10 %).
    expect(downMs).toBeGreaterThanOrEqual(INTERVAL_MS * 2 * 0.9 - 5);

    const hitsWhileDown = a.hits;
    expect(new Set(await names(p.url, 20))).toEqual(new Set(['b']));
    expect(a.hits).toBe(hitsWhileDown);

    a.healthStatus = 200;
    const upStart = Date.now();
    await waitFor(() => ua.state === 'up', { timeoutMs: INTERVAL_MS * 2 + SLACK_MS, message: 'a up' });
    const upMs = Date.now() - upStart;
    expect(ua.reason).toBeNull();
    expect(ua.flags).toBe(0);
    const seen = await names(p.url, 10);
    expect(seen).toContain('a');
    expect(seen).toContain('b');
    console.info(`[health-active] down after ${downMs} ms (interval ${INTERVAL_MS} ms × 3), up after ${upMs} ms (× 2)`);
  });

  it('honours expectStatus: only the listed statuses pass', async () => {
    const a = await startUpstream({ name: 'a', healthStatus: 204 });
    const b = await startUpstream({ name: 'b', healthStatus: 200 });
    const p = await startProxy({ pools: { web: { upstreams: [a.url, b.url], healthCheck: healthCheck({ expectStatus: 204 }) } } });
    const ua = upstream(p, a.url);
    const ub = upstream(p, b.url);
    await waitFor(() => ub.state === 'down', { timeoutMs: INTERVAL_MS * 3 + SLACK_MS, message: 'b down (200 is not 204)' });
    expect(ub.reason).toMatch(/^health check failed [3-9] times: status 200$/);
    expect(ua.state).toBe('up');
    expect(ua.lastCheck).toMatchObject({ ok: true, status: 204 });
    expect(new Set(await names(p.url, 10))).toEqual(new Set(['a']));
  });

  it('counts a /health that never answers as a failure once the timeout passes', async () => {
    let healthHits = 0;
    const hung = await startRawUpstream((req, res) => {
      if (req.url === '/health') {
        healthHits++;
        return; // never answered: only the checker's timeout can end it
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hung\n');
    });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({ pools: { web: { upstreams: [hung.url, b.url], healthCheck: healthCheck() } } });
    const uh = upstream(p, hung.url);
    await waitFor(() => uh.state === 'down', { timeoutMs: (INTERVAL_MS + TIMEOUT_MS) * 3 + SLACK_MS, message: 'hung upstream down' });
    expect(healthHits).toBeGreaterThanOrEqual(3);
    expect(uh.lastCheck?.ok).toBe(false);
    expect(uh.lastCheck?.status).toBeNull();
    expect(uh.lastCheck?.error).toMatch(/timeout/);
    // Ended by the timeout: not much later than it (slack for a loaded machine).
    expect(uh.lastCheck!.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(uh.lastCheck!.latencyMs).toBeLessThan(TIMEOUT_MS + 1000);
    expect(uh.reason).toMatch(/^health check failed \d+ times: .*timeout/);
    expect(new Set(await names(p.url, 10))).toEqual(new Set(['b']));
  });

  it('initialState: down sends no traffic to an upstream until it has passed healthyThreshold checks', async () => {
    const a = await startUpstream({ name: 'a', healthStatus: 500 });
    const p = await startProxy({ pools: { web: { upstreams: [a.url], healthCheck: healthCheck({ initialState: 'down' }) } } });
    const ua = upstream(p, a.url);
    expect(ua.state).toBe('down');
    expect(ua.reason).toMatch(/^(down: waiting for the first health check|health check failed)/);
    for (let i = 0; i < 5; i++) {
      const r = await fetchText(p.url);
      expect(r.status).toBe(503);
      expect(r.headers['x-fairway-error']).toBe('no-upstream');
    }
    await waitFor(() => a.healthHits >= 2, { message: 'a probed' });
    expect(ua.state).toBe('down');
    expect(a.hits).toBe(0);

    a.healthStatus = 200;
    await waitFor(() => ua.state === 'up', { timeoutMs: INTERVAL_MS * 2 + SLACK_MS, message: 'a up' });
    expect(ua.checkStreak).toBeGreaterThanOrEqual(2);
    expect(await names(p.url, 3)).toEqual(['a', 'a', 'a']);
  });

  it('answers 503 no-upstream with Retry-After at once when every upstream is down', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url, b.url], healthCheck: healthCheck() } } });
    const ua = upstream(p, a.url);
    const ub = upstream(p, b.url);
    a.healthStatus = 503;
    b.healthStatus = 503;
    await waitFor(() => ua.state === 'down' && ub.state === 'down', { timeoutMs: INTERVAL_MS * 3 + SLACK_MS, message: 'both down' });
    const hitsBefore = a.hits + b.hits;
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const r = await fetchText(p.url);
      latencies.push(performance.now() - t0);
      expect(r.status).toBe(503);
      expect(r.headers['x-fairway-error']).toBe('no-upstream');
      expect(r.headers['retry-after']).toBe('1');
    }
    expect(a.hits + b.hits).toBe(hitsBefore);
    latencies.sort((x, y) => x - y);
    const median = latencies[10]!;
    const max = latencies.at(-1)!;
    console.info(`[health-active] all-down 503 latency: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms (20 requests)`);
    // The target is well under 100 ms; the bound leaves room for a loaded CI machine.
    expect(max).toBeLessThan(250);
    expect(p.runtime.current.pools.get('web')!.counters.noUpstream).toBeGreaterThanOrEqual(20);
  });

  it('probes on connections of their own: they identify themselves and pass while the traffic pool is saturated', async () => {
    const probes: IncomingMessage[] = [];
    const held: ServerResponse[] = [];
    const up = await startRawUpstream((req, res) => {
      if (req.url === '/health') {
        probes.push(req);
        res.writeHead(200, { 'content-length': '3' });
        res.end('ok\n');
        return;
      }
      held.push(res); // traffic hangs until released
    });
    onTestFinished(() => {
      for (const r of held) r.destroy();
    });
    const p = await startProxy({
      pools: { web: { upstreams: [up.url], maxConnectionsPerUpstream: 1, retry: { attempts: 1 }, healthCheck: healthCheck() } },
    });
    const u = upstream(p, up.url);
    await waitFor(() => probes.length >= 1, { message: 'first probe' });
    const first = probes[0]!;
    expect(first.method).toBe('GET');
    expect(first.headers['user-agent']).toBe('fairway-health-check');
    expect(first.headers['host']).toBe(new URL(up.url).host);

    // Fill the only traffic connection, then queue one more behind it.
    const r1 = fetchText(`${p.url}/slow/1`, { timeoutMs: 15_000 });
    const r2 = fetchText(`${p.url}/slow/2`, { timeoutMs: 15_000 });
    await waitFor(() => held.length === 1, { message: 'traffic connection busy' });
    const probesBefore = probes.length;
    await waitFor(() => probes.length >= probesBefore + 4, { timeoutMs: INTERVAL_MS * 4 + SLACK_MS, message: 'probes while saturated' });
    expect(held.length).toBe(1); // the second request is still queued behind the first
    expect(u.state).toBe('up');
    expect(u.lastCheck?.ok).toBe(true);
    // None of the traffic requests carried the probe's user-agent, and no probe was traffic.
    for (const r of held) expect(r.req.headers['user-agent']).not.toBe('fairway-health-check');

    held[0]!.writeHead(200, { 'content-length': '2' }).end('1\n');
    await waitFor(() => held.length === 2, { message: 'second traffic request reached the upstream' });
    held[1]!.writeHead(200, { 'content-length': '2' }).end('2\n');
    expect((await r1).body).toBe('1\n');
    expect((await r2).body).toBe('2\n');
  });

  it('stop() leaves no timer or socket behind and later results are not recorded', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [a.url], healthCheck: healthCheck() } } });
    const checker = p.runtime.current.checkers[0]!;
    await waitFor(() => a.healthHits >= 2, { message: 'probes running' });
    checker.stop();
    const hits = a.healthHits;
    const ua = upstream(p, a.url);
    const last = ua.lastCheck;
    // No fixed sleep: a second checker on another pool shows that time passed by several intervals.
    const b = await startUpstream({ name: 'b' });
    const q = await startProxy({ pools: { web: { upstreams: [b.url], healthCheck: healthCheck() } } });
    await waitFor(() => b.healthHits >= 4, { message: 'other checker probing' });
    expect(a.healthHits).toBe(hits);
    expect(ua.lastCheck).toBe(last);
    await checker.checkNow();
    expect(a.healthHits).toBe(hits);
    await q.close();
  });

  it('ends a connect-failure ejection at the first passing heartbeat, long before the ejection time', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({
      pools: {
        web: {
          upstreams: [a.url, b.url],
          // A threshold no test run reaches: only passive ejection and the re-admission are at play.
          healthCheck: healthCheck({ unhealthyThreshold: 1000 }),
          passive: { baseEjectionTime: '60s' },
        },
      },
    });
    const ua = upstream(p, a.url);
    await a.close();
    await waitFor(
      async () => {
        expect((await fetchText(p.url)).status).toBe(200); // retried on b
        return ua.state === 'ejected';
      },
      { message: 'a ejected by a connect failure' },
    );
    expect(ua.ejectedByConnect).toBe(true);
    await waitFor(() => ua.lastCheck?.ok === false, { message: 'a failed heartbeat' });
    expect(ua.state).toBe('ejected');

    const revived = await startUpstream({ name: 'a', port: a.port });
    await waitFor(() => ua.state === 'up', { timeoutMs: INTERVAL_MS + SLACK_MS, message: 'a re-admitted by a heartbeat' });
    // The heartbeat ended it, long before its 60 s ejection time would have.
    expect(ua.ejectedUntil).toBeGreaterThan(p.runtime.clock() + 30_000);
    expect(p.runtime.events.list().at(-1)).toMatchObject({ from: 'ejected', to: 'up', reason: 'health check passed' });
    expect(ua.reason).toBeNull();
    await waitFor(async () => (await fetchText(p.url)).body.trim() === 'a', { message: 'traffic back on a' });
    expect(revived.hits).toBeGreaterThan(0);
  });

  it('ends a failure ejection after healthyThreshold passing heartbeats, long before the ejection time', async () => {
    // Real traffic gets 503 while /health says 200: ejected by passive health, then brought back by
    // the heartbeats ("it comes back … when a heartbeat says it is up"), as Envoy and HAProxy do.
    const a = await startUpstream({ name: 'a', behavior: { kind: 'status', status: 503 } });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({
      pools: {
        web: {
          upstreams: [a.url, b.url],
          retry: { attempts: 1 },
          healthCheck: healthCheck(),
          passive: { consecutiveFailures: 3, baseEjectionTime: '60s' },
        },
      },
    });
    const ua = upstream(p, a.url);
    await waitFor(
      async () => {
        await fetchText(p.url);
        return ua.state === 'ejected';
      },
      { message: 'a ejected' },
    );
    expect(ua.ejectedByConnect).toBe(false);
    const checksAtEjection = a.healthHits;
    // No more traffic from here on: only the heartbeats can end the ejection before its 60 s.
    await waitFor(() => ua.state === 'up', { timeoutMs: 2 * INTERVAL_MS + SLACK_MS, message: 'a re-admitted by heartbeats' });
    expect(a.healthHits - checksAtEjection).toBeGreaterThanOrEqual(2); // healthyThreshold passes
    expect(ua.reason).toBeNull();
    expect(ua.ejections).toBe(1);
  });

  it('checkNow() probes every upstream once and resolves with the results recorded', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b', healthStatus: 500 });
    // A long interval: only checkNow() probes during the test.
    const p = await startProxy({
      pools: { web: { upstreams: [a.url, b.url], healthCheck: healthCheck({ interval: '60s', timeout: '1s', unhealthyThreshold: 1 }) } },
    });
    const checker = p.runtime.current.checkers[0]!;
    await checker.checkNow();
    const ua = upstream(p, a.url);
    const ub = upstream(p, b.url);
    expect(ua.lastCheck).toMatchObject({ ok: true, status: 200 });
    expect(ub.lastCheck).toMatchObject({ ok: false, status: 500 });
    expect(ub.state).toBe('down');
    expect(ua.state).toBe('up');
  });
});
