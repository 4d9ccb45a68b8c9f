// `workers: N`: N processes serve the same address; the primary's admin server reports every
// worker; reload reaches all of them; SIGTERM drains them all and exits 0.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listeningUrl, runCli, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

function yaml(upstream: string): string {
  return `listen: 127.0.0.1:0\nworkers: 2\nadmin:\n  listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: [${upstream}]\n`;
}

describe('workers: 2', { timeout: 90_000 }, () => {
  it('serves from two processes, reports both, reloads both, drains both', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    const dir = mkdtempSync(join(tmpdir(), 'fairway-workers-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yaml(a!.url));
    const cli = startCli(['--config', file]);
    const url = await listeningUrl(cli);
    const admin = await listeningUrl(cli, 'admin');
    expect(cli.stdout().match(/fairway listening on/g)).toHaveLength(1);

    // New connections are handed out round-robin: both workers serve.
    for (let i = 0; i < 20; i++) {
      expect((await fetchText(`${url}/`, { headers: { connection: 'close' } })).body).toBe('a\n');
    }
    const status = JSON.parse((await fetchText(`${admin}/status`)).body) as {
      mode: string;
      workers: { pid: number; pools: { requests: number }[] }[];
    };
    expect(status.mode).toBe('cluster');
    expect(status.workers).toHaveLength(2);
    expect(new Set(status.workers.map((w) => w.pid)).size).toBe(2);
    expect(status.workers.reduce((n, w) => n + w.pools[0]!.requests, 0)).toBe(20);
    expect(status.workers.every((w) => w.pools[0]!.requests > 0)).toBe(true);

    const metrics = (await fetchText(`${admin}/metrics`)).body;
    expect(metrics).toMatch(/^fairway_pool_requests_total\{worker="0",pool="web"\} \d+$/m);
    expect(metrics).toMatch(/^fairway_pool_requests_total\{worker="1",pool="web"\} \d+$/m);
    expect(metrics.match(/^# TYPE fairway_pool_requests_total /gm)).toHaveLength(1);

    // POST /reload validates in the primary, then every worker applies it.
    writeFileSync(file, yaml(b!.url));
    const r = await fetchText(`${admin}/reload`, { method: 'POST' });
    expect(r.status).toBe(200);
    for (let i = 0; i < 10; i++) {
      expect((await fetchText(`${url}/`, { headers: { connection: 'close' } })).body).toBe('b\n');
    }
    writeFileSync(file, 'pools: {}\n');
    expect((await fetchText(`${admin}/reload`, { method: 'POST' })).status).toBe(400);
    // Both reloads are events of the group's /status, the refused one with its problem.
    const events = (JSON.parse((await fetchText(`${admin}/status`)).body) as { events: { type?: string; ok?: boolean; reason: string }[] }).events;
    expect(events.filter((e) => e.type === 'reload').map((e) => [e.ok, e.reason])).toEqual([
      [true, `applied ${file}`],
      [false, expect.stringMatching(/^invalid configuration \(\d+ problems?\): \S*fairway\.yaml:\d+:\d+ /)],
    ]);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('replaces a worker that dies', async () => {
    const a = await startUpstream({ name: 'a' });
    const dir = mkdtempSync(join(tmpdir(), 'fairway-workers-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yaml(a.url));
    const cli = startCli(['--config', file]);
    const url = await listeningUrl(cli);
    const admin = await listeningUrl(cli, 'admin');
    const pids = async (): Promise<number[]> =>
      (JSON.parse((await fetchText(`${admin}/status`)).body) as { workers: { pid?: number }[] }).workers.map((w) => w.pid ?? 0);
    const before = await pids();
    // The file changes on disk without a reload: the replacement must run the validated config
    // the others run, not whatever the file says now.
    writeFileSync(file, 'pools: [broken\n');
    process.kill(before[0]!, 'SIGKILL');
    await waitFor(async () => {
      const now = await pids();
      return now.length === 2 && now.every((p) => p > 0) && !now.includes(before[0]!);
    }, { timeoutMs: 15_000, message: 'a replacement worker' });
    for (let i = 0; i < 10; i++) expect((await fetchText(`${url}/`, { headers: { connection: 'close' } })).body).toBe('a\n');
    expect((await fetchText(`${admin}/readyz`)).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('an address that cannot be bound (admin or listen) exits 1, says why on stderr (no stack trace) and prints no listening line', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => busy.close(() => r())));
    const port = (busy.address() as net.AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'fairway-workers-'));
    const adminBusy = join(dir, 'admin-busy.yaml');
    writeFileSync(adminBusy, `listen: 127.0.0.1:0\nworkers: 2\nadmin:\n  listen: 127.0.0.1:${port}\npools:\n  web:\n    upstreams: [http://127.0.0.1:1]\n`);
    const listenBusy = join(dir, 'listen-busy.yaml');
    writeFileSync(listenBusy, `listen: 127.0.0.1:${port}\nworkers: 2\npools:\n  web:\n    upstreams: [http://127.0.0.1:1]\n`);
    for (const [file, why] of [
      [adminBusy, /^fairway: cannot start: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+$/m],
      [listenBusy, /^fairway: cannot start: a worker failed to start; see the log above$/m],
    ] as const) {
      const r = await runCli(['--config', file], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(why);
      expect(r.stderr, 'no stack trace').not.toMatch(/^\s+at /m);
      expect(r.stderr, 'no restart of a worker that failed to start').not.toContain('starting a new one');
    }
  });
});
