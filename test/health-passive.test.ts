// Passive health against real upstreams, with no heartbeat configured: a dead upstream is
// taken out by its first connect failure, a failing one is ejected after consecutive failures
// for base × times ejected, the ejection cap holds, and client aborts never count.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Upstream } from '../src/pool/upstream.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy, type RunningProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const BASE_EJECTION_MS = 300;
const SLACK_MS = 1500;

function upstreamAt(p: RunningProxy, i: number): Upstream {
  const u = p.runtime.current.pools.get('web')?.upstreams[i];
  if (u === undefined) throw new Error(`no upstream ${i} in pool web`);
  return u;
}

/** Sends sequential requests until `done()` holds after one; returns how many were sent. */
async function sendUntil(url: string, done: () => boolean, timeoutMs: number, message: string): Promise<number> {
  let sent = 0;
  await waitFor(
    async () => {
      await fetchText(url);
      sent++;
      return done();
    },
    { timeoutMs, intervalMs: 5, message },
  );
  return sent;
}

describe('passive health', () => {
  it('takes a killed upstream out at its first connect failure, before any heartbeat; retries hide it', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b' });
    // No healthCheck at all: only live traffic can notice.
    const p = await startProxy({ pools: { web: { upstreams: [a.url, b.url] } } });
    const ua = upstreamAt(p, 0);
    expect(p.runtime.current.checkers).toHaveLength(0);

    // Traffic from 8 concurrent clients throughout; a dies in the middle of it.
    let stop = false;
    const statuses: number[] = [];
    const bodiesAfterKill: string[] = [];
    let killed = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await fetchText(p.url);
        statuses.push(r.status);
        if (killed) bodiesAfterKill.push(r.body.trim());
      }
    });
    await waitFor(() => a.hits >= 20 && b.hits >= 20, { message: 'traffic on both' });
    // Counted from the moment the kill begins: tries in flight then are reset and retried on b.
    const killedAt = Date.now();
    const triesAtKill = ua.requests;
    const inflightAtKill = ua.inflight;
    killed = true;
    await a.close();
    await waitFor(() => ua.state === 'ejected', { timeoutMs: SLACK_MS, intervalMs: 1, message: 'a ejected' });
    const ejectedAfterMs = Date.now() - killedAt;
    const triesToEject = ua.requests - triesAtKill;
    await waitFor(() => bodiesAfterKill.length >= 100, { message: '100 responses after the kill' });
    stop = true;
    await Promise.all(clients);

    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(ua.reason).toMatch(/^ejected: connect failed \(connect-(refused|error)\)/);
    expect(ua.ejectedByConnect).toBe(true);
    // Nothing reached a after the ejection, and at most the tries already racing toward it
    // when it died (one per client) failed on it.
    expect(ua.requests - triesAtKill).toBe(triesToEject);
    expect(triesToEject).toBeLessThanOrEqual(8);
    expect(ua.inflight).toBe(0);
    const lastBodies = bodiesAfterKill.slice(-50);
    expect(new Set(lastBodies)).toEqual(new Set(['b']));
    console.info(
      `[health-passive] killed upstream ejected ${ejectedAfterMs} ms after the kill began; ` +
        `${triesToEject} new tries reached it after the kill (${inflightAtKill} were in flight then; 8 concurrent clients, all retried on b)`,
    );
  });

  it('ejects an upstream after consecutiveFailures 503s and re-admits it after baseEjectionTime', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'status', status: 503 } });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({
      pools: {
        web: {
          upstreams: [a.url, b.url],
          retry: { attempts: 1 },
          passive: { consecutiveFailures: 3, baseEjectionTime: `${BASE_EJECTION_MS}ms` },
        },
      },
    });
    const ua = upstreamAt(p, 0);
    const ub = upstreamAt(p, 1);
    await sendUntil(p.url, () => ua.state === 'ejected', 5000, 'a ejected');
    const ejectedAt = Date.now();
    expect(a.hits).toBe(3);
    expect(ua.reason).toBe('ejected: 3 consecutive failures (last: upstream-status)');
    expect(ua.ejectedByConnect).toBe(false);
    expect(ub.state).toBe('up');

    // While ejected: everything goes to b.
    for (let i = 0; i < 10; i++) expect((await fetchText(p.url)).body.trim()).toBe('b');
    expect(a.hits).toBe(3);

    // Re-admission happens on the first pick after the ejection time: drive it with traffic.
    await sendUntil(p.url, () => ua.state === 'up', BASE_EJECTION_MS + SLACK_MS, 'a re-admitted');
    const ejectedForMs = Date.now() - ejectedAt;
    expect(ejectedForMs).toBeGreaterThanOrEqual(BASE_EJECTION_MS - 20);
    expect(ejectedForMs).toBeLessThan(BASE_EJECTION_MS + SLACK_MS);
    expect(ua.reason).toBeNull();
    await sendUntil(p.url, () => a.hits > 3, 2000, 'traffic back on a');
  });

  it('never ejects more than maxEjectionPercent of a pool for failures', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'status', status: 503 } });
    const b = await startUpstream({ name: 'b', behavior: { kind: 'status', status: 503 } });
    const p = await startProxy({
      pools: {
        web: {
          upstreams: [a.url, b.url],
          retry: { attempts: 1 },
          passive: { consecutiveFailures: 3, baseEjectionTime: '30s', maxEjectionPercent: '50%' },
        },
      },
    });
    const us = [upstreamAt(p, 0), upstreamAt(p, 1)];
    let maxEjected = 0;
    for (let i = 0; i < 40; i++) {
      const r = await fetchText(p.url);
      expect(r.status).toBe(503);
      const ejected = us.filter((u) => u.state === 'ejected').length;
      maxEjected = Math.max(maxEjected, ejected);
    }
    expect(maxEjected).toBe(1);
    // The one left in keeps failing and keeps counting, but stays in.
    const kept = us.find((u) => u.state === 'up')!;
    expect(kept.consecutiveFailures).toBeGreaterThan(3);
  });

  it('never counts client aborts: a slow but healthy pool under aborting clients stays up', async () => {
    // Upstreams slower than the test: every client leaves while its try is in flight.
    const a = await startUpstream({ name: 'a', behavior: { kind: 'delay', ms: 20_000 } });
    const b = await startUpstream({ name: 'b', behavior: { kind: 'delay', ms: 20_000 } });
    const p = await startProxy({
      pools: { web: { upstreams: [a.url, b.url], passive: { consecutiveFailures: 2, baseEjectionTime: '30s' } } },
    });
    const us = [upstreamAt(p, 0), upstreamAt(p, 1)];
    const leave = new AbortController();
    const pending = Promise.allSettled(Array.from({ length: 40 }, () => fetchText(p.url, { signal: leave.signal, timeoutMs: 15_000 })));
    await waitFor(() => a.hits + b.hits >= 40, { timeoutMs: 10_000, message: 'every request reached an upstream' });
    leave.abort();
    const results = await pending;
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    await waitFor(() => us.every((u) => u.inflight === 0), { message: 'aborted tries settled' });
    for (const u of us) {
      expect(u.state).toBe('up');
      expect(u.failures).toBe(0);
      expect(u.consecutiveFailures).toBe(0);
      expect(u.ejections).toBe(0);
    }
    a.behavior = b.behavior = { kind: 'ok' };
    const r = await fetchText(p.url);
    expect(r.status).toBe(200);
  });

  it('makes each ejection longer: the second lasts about twice the base', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'status', status: 503 } });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({
      pools: {
        web: {
          upstreams: [a.url, b.url],
          retry: { attempts: 1 },
          passive: { consecutiveFailures: 3, baseEjectionTime: `${BASE_EJECTION_MS}ms` },
        },
      },
    });
    const ua = upstreamAt(p, 0);
    const durations: number[] = [];
    for (let n = 1; n <= 2; n++) {
      await sendUntil(p.url, () => ua.state === 'ejected', 5000, `ejection ${n}`);
      const at = Date.now();
      // The length the proxy scheduled, read on its own clock right after the ejection: base × n.
      const scheduled = ua.ejectedUntil - p.runtime.clock();
      expect(ua.ejections).toBe(n);
      expect(scheduled).toBeLessThanOrEqual(BASE_EJECTION_MS * n);
      expect(scheduled).toBeGreaterThan(BASE_EJECTION_MS * n - 250);
      await sendUntil(p.url, () => ua.state === 'up', BASE_EJECTION_MS * n + SLACK_MS, `re-admission ${n}`);
      durations.push(Date.now() - at);
    }
    // Never readmitted early (a lower bound load cannot break).
    const [first, second] = durations as [number, number];
    expect(first).toBeGreaterThanOrEqual(BASE_EJECTION_MS - 250);
    expect(second).toBeGreaterThanOrEqual(2 * BASE_EJECTION_MS - 250);
    console.info(`[health-passive] ejection durations observed: ${first} ms then ${second} ms (base ${BASE_EJECTION_MS} ms)`);
  });
});

describe('re-admission on an idle pool', () => {
  it('an ejection that ran out shows as up without any traffic', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'status', status: 503 } });
    const b = await startUpstream({ name: 'b' });
    const p = await startProxy({
      pools: {
        web: {
          balancer: 'round-robin',
          upstreams: [a.url, b.url],
          retry: { attempts: 1 },
          passive: { consecutiveFailures: 1, baseEjectionTime: '300ms' },
        },
      },
    });
    const ua = p.runtime.current.pools.get('web')!.upstreams[0]!;
    await waitFor(async () => {
      await fetchText(`${p.url}/`);
      return ua.state === 'ejected';
    }, { message: 'a ejected' });
    // No more requests: the state must still turn back to up on its own.
    await waitFor(() => ua.state === 'up', { timeoutMs: 300 + 2000, message: 'a re-admitted while idle' });
  });
});

describe('clients that leave mid-upload', () => {
  it('are never counted against the upstream', async () => {
    const a = await startUpstream({ name: 'a', behavior: { kind: 'echo' } });
    const p = await startProxy({ pools: { web: { upstreams: [a.url], retry: { attempts: 1 }, passive: { consecutiveFailures: 1 } } } });
    const u = new URL(p.url);
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(Number(u.port), u.hostname, () => {
          s.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n');
          // Leave once the upstream has started receiving it.
          void waitFor(() => a.active > 0, { message: 'upload reached upstream' }).then(() => s.destroy(), () => s.destroy());
        });
        s.on('close', () => resolve());
        s.on('error', () => {});
      });
    }
    const up = p.runtime.current.pools.get('web')!.upstreams[0]!;
    await waitFor(() => up.inflight === 0, { message: 'in-flight back to 0' });
    expect(up.state).toBe('up');
    expect(up.failures).toBe(0);
    expect((await fetchText(`${p.url}/`, { method: 'POST', body: 'ok' })).body).toBe('ok');
  });
});
