// `workers: N` share one view of health (the real CLI, real upstreams): the primary sends one
// heartbeat per upstream per interval for the whole group, every worker sees its results and a
// flip at once, a worker's passive ejection reaches the others, and a replacement worker starts
// from the group's current view. /status and /metrics report it for every worker.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { UpstreamStatus } from '../src/admin/status.ts';
import { listeningUrl, startCli, type RunningCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { upstreamsOnOnePort } from './helpers/addresses.ts';
import { startDnsServer } from './helpers/dns-server.ts';
import { closedPortUrl } from './helpers/net.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

interface WorkerStatus {
  pid: number;
  pools: { name: string; upstreams: UpstreamStatus[] }[];
}
interface ClusterStatus {
  mode: string;
  healthChecks: { by: string; pid: number };
  workers: WorkerStatus[];
}

/** Starts `fairway --config` with `yaml` (listen and admin on 127.0.0.1:0 added). */
async function startCluster(yaml: string): Promise<{ cli: RunningCli; url: string; admin: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-workers-health-'));
  const file = join(dir, 'fairway.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n${yaml}`);
  const cli = startCli(['--config', file]);
  return { cli, url: await listeningUrl(cli), admin: await listeningUrl(cli, 'admin') };
}

async function clusterStatus(admin: string): Promise<ClusterStatus> {
  return JSON.parse((await fetchText(`${admin}/status`)).body) as ClusterStatus;
}

/** Each worker's view of the upstream at `origin` (undefined for a worker that did not answer). */
async function views(admin: string, origin: string): Promise<(UpstreamStatus | undefined)[]> {
  const s = await clusterStatus(admin);
  return s.workers.map((w) => w.pools?.[0]?.upstreams.find((u) => u.origin === origin));
}

async function stop(cli: RunningCli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

describe('workers share health', { timeout: 90_000 }, () => {
  it('one heartbeat per upstream per interval for the whole group; every worker sees each result', async () => {
    const a = await startUpstream({ name: 'a' });
    const { cli, admin } = await startCluster(
      `workers: 2\npools:\n  web:\n    upstreams: [${a.url}]\n    healthCheck: { path: /health, interval: 100ms, timeout: 80ms }\n`,
    );
    const status = await clusterStatus(admin);
    expect(status.healthChecks).toEqual({ by: 'primary', pid: cli.child.pid });
    // Count probes over a stretch of about 30 intervals. Every worker probing would give ~2.0
    // per interval; a delayed probe only lowers the rate.
    const h0 = a.healthHits;
    const t0 = performance.now();
    await waitFor(() => a.healthHits >= h0 + 30, { timeoutMs: 20_000, message: '30 probes' });
    const perInterval = (a.healthHits - h0) / ((performance.now() - t0) / 100);
    expect(perInterval).toBeLessThan(1.4);
    expect(perInterval).toBeGreaterThan(0.3);

    // Every worker holds the last result, although none of them probes. (Waited for: under load
    // one 80 ms probe may time out, and the next passing one is what every worker must show.)
    await waitFor(async () => {
      const seen = await views(admin, a.url);
      return seen.length === 2 && seen.every((v) => v?.lastCheck?.ok === true && v.lastCheck.status === 200);
    }, { timeoutMs: 10_000, message: 'both workers holding a passing result' });
    await waitFor(async () => {
      const metrics = (await fetchText(`${admin}/metrics`)).body;
      return (
        /^fairway_upstream_health_check_up\{worker="0",pool="web",upstream="[^"]+"\} 1$/m.test(metrics) &&
        /^fairway_upstream_health_check_up\{worker="1",pool="web",upstream="[^"]+"\} 1$/m.test(metrics)
      );
    }, { timeoutMs: 10_000, message: 'both workers reporting health_check_up 1' });
    await stop(cli);
  });

  it('a flip reaches every worker within one interval, and traffic follows it in each', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    const { cli, url, admin } = await startCluster(
      `workers: 2\npools:\n  web:\n    upstreams: [${a.url}, ${b.url}]\n    healthCheck: { path: /health, interval: 500ms, timeout: 200ms, unhealthyThreshold: 1, healthyThreshold: 1 }\n`,
    );
    a.healthStatus = 500;
    await waitFor(async () => (await views(admin, a.url)).some((v) => v?.state === 'down'), { timeoutMs: 10_000, message: 'a worker to see a down' });
    // From the first worker that shows it, every worker within one interval (500 ms).
    await waitFor(async () => (await views(admin, a.url)).every((v) => v?.state === 'down'), { timeoutMs: 500, message: 'every worker to see it within one interval' });
    for (const v of await views(admin, a.url)) expect(v?.reason).toMatch(/^health check failed 1 times: status 500$/);
    // New connections land on both workers (round-robin): none sends to a.
    const aHits = a.hits;
    for (let i = 0; i < 10; i++) expect((await fetchText(`${url}/`, { headers: { connection: 'close' } })).body).toBe('b\n');
    expect(a.hits).toBe(aHits);

    a.healthStatus = 200;
    await waitFor(async () => (await views(admin, a.url)).every((v) => v?.state === 'up'), { timeoutMs: 10_000, message: 'every worker to see it up' });
    await stop(cli);
  });

  it("one worker's passive ejection reaches the other, which saw no failure itself", async () => {
    const a = await startUpstream({ name: 'a' });
    const dead = await closedPortUrl();
    const { cli, url, admin } = await startCluster(`workers: 2\npools:\n  web:\n    upstreams: [${a.url}, ${dead}]\n`);
    // One request at a time until some worker has ejected the refusing upstream.
    await waitFor(
      async () => {
        expect((await fetchText(`${url}/`, { headers: { connection: 'close' } })).body).toBe('a\n'); // retried on a
        return (await views(admin, dead)).some((v) => v?.state === 'ejected');
      },
      { timeoutMs: 10_000, message: 'an ejection' },
    );
    // No more traffic: the other worker can only learn it from the one that saw it.
    await waitFor(async () => (await views(admin, dead)).every((v) => v?.state === 'ejected'), { timeoutMs: 2000, message: 'both workers ejected it' });
    const reasons = (await views(admin, dead)).map((v) => v?.reason ?? '');
    expect(reasons.some((r) => /^ejected: connect failed \(connect-refused\) \(seen by another worker\)$/.test(r))).toBe(true);
    await stop(cli);
  });

  it('a replacement worker starts from the current view, not from the initial state', async () => {
    const a = await startUpstream({ name: 'a', healthStatus: 500 });
    const b = await startUpstream({ name: 'b' });
    // A long interval: the replacement cannot have learned "down" from a fresh result in time.
    const { cli, admin } = await startCluster(
      `workers: 2\npools:\n  web:\n    upstreams: [${a.url}, ${b.url}]\n    healthCheck: { path: /health, interval: 5s, timeout: 1s, unhealthyThreshold: 1 }\n`,
    );
    await waitFor(async () => (await views(admin, a.url)).every((v) => v?.state === 'down'), { timeoutMs: 15_000, message: 'a down everywhere' });
    const before = await clusterStatus(admin);
    const probes = a.healthHits;
    process.kill(before.workers[0]!.pid, 'SIGKILL');
    const replaced = await waitFor(
      async () => {
        const s = await clusterStatus(admin);
        const pids = s.workers.map((w) => w.pid ?? 0);
        return pids.length === 2 && pids.every((p) => p > 0) && !pids.includes(before.workers[0]!.pid) ? s : null;
      },
      { timeoutMs: 15_000, message: 'a replacement worker' },
    );
    if (a.healthHits === probes) {
      // No probe ran since the kill: only the snapshot can have told the replacement.
      for (const w of replaced.workers) expect(w.pools[0]!.upstreams.find((u) => u.origin === a.url)?.state).toBe('down');
    }
    await waitFor(async () => (await views(admin, a.url)).every((v) => v?.state === 'down' && v.lastCheck?.status === 500), { timeoutMs: 10_000, message: 'the replacement sees a down' });
    await stop(cli);
  });

  it('discovered addresses share health too: checks by the primary reach every worker by address', async () => {
    const { upstreams, port } = await upstreamsOnOnePort([{ name: 'a', host: '127.0.0.2' }, { name: 'b', host: '127.0.0.3' }]);
    const [a] = upstreams;
    const dns = await startDnsServer();
    dns.setRecords('api.test', { A: ['127.0.0.2', '127.0.0.3'] });
    const { cli, url, admin } = await startCluster(
      `workers: 2\ndns: { servers: ['${dns.server}'] }\npools:\n  web:\n    upstreams: [{ url: 'http://api.test:${port}', resolve: 1s }]\n` +
        `    healthCheck: { path: /health, interval: 200ms, timeout: 150ms, unhealthyThreshold: 1 }\n`,
    );
    const origin = `http://127.0.0.2:${port}`;
    await waitFor(async () => (await views(admin, origin)).every((v) => v?.name === 'api.test' && v.lastCheck?.ok === true), { timeoutMs: 10_000, message: 'checks of the discovered address in every worker' });
    a!.healthStatus = 503;
    await waitFor(async () => (await views(admin, origin)).every((v) => v?.state === 'down'), { timeoutMs: 10_000, message: '127.0.0.2 down in every worker' });
    for (let i = 0; i < 6; i++) expect((await fetchText(`${url}/`, { headers: { connection: 'close' } })).body).toBe('b\n');
    await stop(cli);
  });
});
