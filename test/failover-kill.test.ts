// One of three upstreams is SIGKILLed (a separate process) during concurrent load.
// GETs: zero failed requests. POSTs: none delivered twice (upstreams log request ids to files).
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { fetchText } from './helpers/http.ts';
import { spawnUpstream } from './helpers/processes.ts';
import { startProxy } from './helpers/proxy.ts';

interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  failures: string[];
}

/** `concurrency` loops sending requests for `durationMs`; `kill` runs at `killAtMs`. */
async function load(
  url: string,
  opts: { method: string; durationMs: number; concurrency: number; killAtMs: number; kill: () => void },
): Promise<LoadResult> {
  const agent = new Agent({ connections: opts.concurrency, keepAliveTimeout: 2000 });
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, failures: [] };
  const t0 = Date.now();
  const killer = setTimeout(opts.kill, opts.killAtMs);
  let seq = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (Date.now() - t0 < opts.durationMs) {
        const id = `r${seq++}`;
        result.sent++;
        try {
          const r = await fetchText(url, {
            method: opts.method,
            headers: { 'x-test-id': id },
            body: opts.method === 'POST' ? `payload-${id}` : null,
            dispatcher: agent,
            timeoutMs: 10_000,
          });
          if (r.status === 200) result.ok++;
          else {
            result.failed++;
            result.failures.push(`${r.status} ${String(r.headers['x-fairway-error'])}`);
          }
        } catch (err) {
          result.failed++;
          result.failures.push(String((err as Error).message));
        }
      }
    }),
  );
  clearTimeout(killer);
  await agent.close();
  return result;
}

describe('failover when an upstream is killed under load', () => {
  it('GET: zero failed requests when one of three upstreams is SIGKILLed', async () => {
    const ups = await Promise.all(['a', 'b', 'c'].map((n) => spawnUpstream(n)));
    const p = await startProxy({
      pools: { web: { balancer: 'round-robin', upstreams: ups.map((u) => u.url), retry: { attempts: 3, backoff: { base: '5ms', max: '50ms' } } } },
    });
    const r = await load(`${p.url}/`, { method: 'GET', durationMs: 5000, concurrency: 16, killAtMs: 1500, kill: () => ups[1]!.child.kill('SIGKILL') });
    console.log(`kill-under-load GET: sent=${r.sent} ok=${r.ok} failed=${r.failed}`);
    expect(r.failures).toEqual([]);
    expect(r.sent).toBeGreaterThan(200);
  });

  it('POST: no request is delivered twice; failures only for requests in flight on the killed upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairway-kill-'));
    const logs = ['a', 'b', 'c'].map((n) => join(dir, `${n}.ids`));
    const ups = await Promise.all(['a', 'b', 'c'].map((n, i) => spawnUpstream(n, ['--id-log', logs[i]!])));
    const p = await startProxy({
      pools: { web: { balancer: 'round-robin', upstreams: ups.map((u) => u.url), retry: { attempts: 3, backoff: { base: '5ms', max: '50ms' } } } },
    });
    const concurrency = 16;
    const r = await load(`${p.url}/`, { method: 'POST', durationMs: 5000, concurrency, killAtMs: 1500, kill: () => ups[1]!.child.kill('SIGKILL') });
    const delivered = logs.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []));
    const counts = new Map<string, number>();
    for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    console.log(`kill-under-load POST: sent=${r.sent} ok=${r.ok} failed=${r.failed} duplicated=${duplicated.length}`);
    expect(duplicated).toEqual([]);
    // At most the requests in flight on the killed upstream can fail (each a prompt 502).
    expect(r.failed).toBeLessThanOrEqual(concurrency);
    for (const f of r.failures) expect(f).toMatch(/^502 /);
    expect(r.ok).toBeGreaterThan(200);
  });
});
