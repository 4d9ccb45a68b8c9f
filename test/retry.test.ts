// Retries: decided by phase, method and body; on a different upstream; bounded by the budget.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { closedPortUrl } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { waitFor } from './helpers/wait.ts';
import { startUpstream } from './helpers/upstream.ts';


const fastRetry = { backoff: { base: '1ms', max: '5ms' } };

describe('retries', () => {
  it('GET: a pool where one upstream answers 503 always gives 200', async () => {
    const bad = await startUpstream({ name: 'bad', behavior: { kind: 'status', status: 503 } });
    const good = await startUpstream({ name: 'good' });
    const p = await startProxy({
      pools: { web: { balancer: 'round-robin', upstreams: [bad.url, good.url], retry: fastRetry, passive: { consecutiveFailures: 0 } } },
    });
    for (let i = 0; i < 20; i++) {
      const r = await fetchText(`${p.url}/`);
      expect(r.status).toBe(200);
      expect(r.body).toBe('good\n');
    }
    expect(bad.hits).toBeGreaterThan(0); // it was tried, and its 503 never reached the client
  });

  it('POST answered 503 is not retried: the upstream saw it exactly once', async () => {
    const bad = await startUpstream({ name: 'bad', behavior: { kind: 'status', status: 503 } });
    const good = await startUpstream({ name: 'good' });
    const p = await startProxy({ pools: { web: { balancer: 'round-robin', upstreams: [bad.url, good.url], retry: fastRetry } } });
    let saw503 = 0;
    for (let i = 0; i < 4; i++) {
      const r = await fetchText(`${p.url}/`, { method: 'POST', body: 'x', headers: { 'x-test-id': `p${i}` } });
      if (r.status === 503) saw503++;
    }
    expect(saw503).toBe(bad.hits);
    expect(saw503).toBeGreaterThan(0);
    const ids = [...bad.requests, ...good.requests].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // no POST delivered twice
  });

  it('POST to a closed port is retried elsewhere (nothing reached the upstream) and succeeds', async () => {
    const dead = await closedPortUrl();
    const good = await startUpstream({ name: 'good', behavior: { kind: 'echo' } });
    const p = await startProxy({ pools: { web: { balancer: 'round-robin', upstreams: [dead, good.url], retry: fastRetry } } });
    for (let i = 0; i < 4; i++) {
      const r = await fetchText(`${p.url}/`, { method: 'POST', body: `body-${i}` });
      expect(r.status).toBe(200);
      expect(r.body).toBe(`body-${i}`);
    }
  });

  it('POST with a large streamed body to a closed port is still retried (the body was never read)', async () => {
    const dead = await closedPortUrl();
    const good = await startUpstream({ name: 'good', behavior: { kind: 'echo' } });
    // The dead upstream's weight makes it the first pick.
    const p = await startProxy({ pools: { web: { balancer: 'round-robin', upstreams: [{ url: dead, weight: 1000 }, good.url], retry: fastRetry } } });
    const body = randomBytes(200_000).toString('hex');
    const r = await fetchText(`${p.url}/`, { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(r.headers['x-fairway-retries']).toBe('connect-refused');
    expect(r.body).toBe(body);
  });

  it('POST with Idempotency-Key is retried after a reset', async () => {
    const reset = await startUpstream({ name: 'reset', behavior: { kind: 'reset-before-headers' } });
    const good = await startUpstream({ name: 'good', behavior: { kind: 'echo' } });
    const p = await startProxy({
      pools: { web: { balancer: 'round-robin', upstreams: [reset.url, good.url], retry: fastRetry, passive: { consecutiveFailures: 0 } } },
    });
    for (let i = 0; i < 4; i++) {
      const r = await fetchText(`${p.url}/`, { method: 'POST', body: 'pay', headers: { 'idempotency-key': `k${i}` } });
      expect(r.status).toBe(200);
      expect(r.body).toBe('pay');
    }
    expect(reset.hits).toBeGreaterThan(0);
  });

  it('POST without Idempotency-Key is not retried after a reset', async () => {
    const reset = await startUpstream({ name: 'reset', behavior: { kind: 'reset-before-headers' } });
    const p = await startProxy({ pools: { web: { upstreams: [reset.url], retry: fastRetry } } });
    const r = await fetchText(`${p.url}/`, { method: 'POST', body: 'pay' });
    expect(r.status).toBe(502);
    expect(r.headers['x-fairway-error']).toBe('upstream-reset');
    expect(reset.hits).toBe(1);
  });

  it('a body larger than the retry buffer is not retried once written', async () => {
    const reset = await startUpstream({ name: 'reset', behavior: { kind: 'reset-before-headers' } });
    const good = await startUpstream({ name: 'good', behavior: { kind: 'echo' } });
    const p = await startProxy({
      pools: {
        web: {
          balancer: 'round-robin',
          upstreams: [reset.url, good.url],
          retry: { ...fastRetry, bufferSize: '1kb' },
          passive: { consecutiveFailures: 0 },
        },
      },
    });
    const big = 'x'.repeat(4096);
    const results: number[] = [];
    for (let i = 0; i < 4; i++) results.push((await fetchText(`${p.url}/`, { method: 'PUT', body: big })).status);
    // PUT is idempotent, but its body outgrew the buffer: the reset try is final.
    expect(results.filter((s) => s === 502).length).toBe(reset.hits);
    expect(reset.hits).toBeGreaterThan(0);
    // A small PUT to the same pool is retried.
    for (let i = 0; i < 4; i++) expect((await fetchText(`${p.url}/`, { method: 'PUT', body: 'small' })).status).toBe(200);
  });

  it('GET after headers were sent is never retried: client aborted, one try', async () => {
    const mid = await startUpstream({ name: 'mid', behavior: { kind: 'reset-mid-body' } });
    const good = await startUpstream({ name: 'good' });
    const p = await startProxy({ pools: { web: { balancer: 'round-robin', upstreams: [mid.url, good.url], retry: fastRetry } } });
    let aborted = 0;
    for (let i = 0; i < 4; i++) await fetchText(`${p.url}/`).catch(() => aborted++);
    expect(aborted).toBe(mid.hits);
    expect(aborted).toBeGreaterThan(0);
  });

  it('attempts: 1 means no retry', async () => {
    const bad = await startUpstream({ name: 'bad', behavior: { kind: 'status', status: 503 } });
    const good = await startUpstream({ name: 'good' });
    const p = await startProxy({ pools: { web: { balancer: 'round-robin', upstreams: [bad.url, good.url], retry: { attempts: 1 } } } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetchText(`${p.url}/`)).status);
    expect(statuses.filter((s) => s === 503).length).toBe(bad.hits);
    expect(bad.hits).toBe(2);
  });

  it('a 503 from the last upstream left is passed through when every try failed', async () => {
    const bad = await startUpstream({ name: 'bad', behavior: { kind: 'status', status: 503 } });
    const p = await startProxy({ pools: { web: { upstreams: [bad.url], retry: { ...fastRetry, attempts: 2 }, passive: { consecutiveFailures: 0 } } } });
    const r = await fetchText(`${p.url}/`);
    expect(r.status).toBe(503);
    expect(r.body).toBe('bad\n'); // the upstream's own response
    expect(bad.hits).toBe(2);
    expect(r.headers['x-fairway-retries']).toBe('503');
  });

  it('the retry budget stops a retry storm', async () => {
    const ups = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream({ name, behavior: { kind: 'status', status: 503 } })));
    const p = await startProxy({
      pools: {
        web: {
          upstreams: ups.map((u) => u.url),
          retry: { ...fastRetry, attempts: 3, budget: '20%', budgetMinPerSecond: 0 },
          passive: { consecutiveFailures: 0 },
        },
      },
    });
    const n = 200;
    for (let i = 0; i < n; i++) expect((await fetchText(`${p.url}/`)).status).toBe(503);
    const attempts = ups.reduce((s, u) => s + u.hits, 0);
    // Without a budget: 3n = 600 tries. With 20 %: at most n + 0.2n.
    expect(attempts).toBeLessThanOrEqual(Math.ceil(n * 1.2) + 1);
    expect(attempts).toBeGreaterThan(n);
    expect(p.runtime.current.pools.get('web')!.counters.budgetExhausted).toBeGreaterThan(0);
  });

  it('a keep-alive socket the upstream closed between requests never surfaces as an error', async () => {
    // The upstream closes idle connections after 150 ms; requests arrive around that moment.
    const a = await startUpstream({ name: 'a', keepAliveTimeoutMs: 150 });
    const p = await startProxy({ pools: { web: { upstreams: [a.url], retry: fastRetry } } });
    for (let i = 0; i < 12; i++) {
      const closed = a.connectionsClosed;
      const r = await fetchText(`${p.url}/`);
      expect(r.status).toBe(200);
      // The next request leaves the moment the upstream has closed the idle connection: the
      // proxy may not have seen the FIN yet and try the dead socket.
      await waitFor(() => a.connectionsClosed > closed, { message: 'the upstream closed its idle connection' });
    }
  });

  it('a reused connection the upstream drops on the next request is retried for GET', async () => {
    // Raw upstream: answers the first request on a connection, drops the connection on the second.
    let served = 0;
    const server = net.createServer((s) => {
      let n = 0;
      s.on('data', () => {
        n++;
        if (n === 1) {
          served++;
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n');
        } else s.destroy();
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => void server.close());
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const p = await startProxy({ pools: { web: { upstreams: [url], retry: fastRetry, passive: { consecutiveFailures: 0 } } } });
    for (let i = 0; i < 5; i++) expect((await fetchText(`${p.url}/`)).status).toBe(200);
    expect(served).toBe(5);
  });
});
