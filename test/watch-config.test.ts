// watchConfig: true, over the real CLI: a change of the config file on disk reloads it (the
// Kubernetes ConfigMap `..data` symlink swap included), with the same validation and logging as
// SIGHUP; an invalid file keeps the running config; a reload can turn watching on; with workers
// the primary watches and every worker gets the new config.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listeningUrl, startCli, type RunningCli } from './helpers/cli.ts';
import { configMapDir } from './helpers/configmap.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

/** The spec's bound: a change is picked up within 10 s. */
const PICKED_UP_MS = 10_000;

function yaml(upstream: string, opts: { watch?: boolean; workers?: number } = {}): string {
  return (
    `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\nworkers: ${opts.workers ?? 1}\nwatchConfig: ${opts.watch ?? true}\n` +
    `pools:\n  web:\n    upstreams: [${upstream}]\n`
  );
}

async function start(file: string): Promise<{ cli: RunningCli; url: string; admin: string }> {
  const cli = startCli(['--config', file], { env: { FAIRWAY_LOG_LEVEL: 'info' } });
  return { cli, url: await listeningUrl(cli), admin: await listeningUrl(cli, 'admin') };
}

/** The body of a request on a new connection (so a cluster spreads them over its workers). */
async function body(url: string): Promise<string> {
  return (await fetchText(`${url}/`, { headers: { connection: 'close' } })).body;
}

async function stop(cli: RunningCli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

describe('watchConfig', { timeout: 60_000 }, () => {
  it('reloads on the ConfigMap symlink swap; an invalid file keeps the running config, logged as for SIGHUP', async () => {
    const [a, b, c] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' }), startUpstream({ name: 'c' })]);
    const cm = await configMapDir(join(mkdtempSync(join(tmpdir(), 'fairway-watch-')), 'config'), { 'fairway.yaml': yaml(a.url) });
    const { cli, url, admin } = await start(cm.file('fairway.yaml'));
    expect(await body(url)).toBe('a\n');

    await cm.update({ 'fairway.yaml': yaml(b.url) });
    await waitFor(async () => (await body(url)) === 'b\n', { timeoutMs: PICKED_UP_MS, message: 'the new config' });
    expect(cli.stderr()).toMatch(/"trigger":"config file changed".*"msg":"config reloaded"/);
    const events = (JSON.parse((await fetchText(`${admin}/status`)).body) as { events: { type?: string; ok?: boolean }[] }).events;
    expect(events.filter((e) => e.type === 'reload')).toEqual([expect.objectContaining({ ok: true })]);

    // An invalid file: refused with file:line:col on stderr, the running config stays.
    await cm.update({ 'fairway.yaml': 'pools:\n  web:\n    balancer: fastest\n    upstreams: [http://127.0.0.1:1]\n' });
    await waitFor(() => cli.stderr().includes('reload refused, the running config stays'), { timeoutMs: PICKED_UP_MS, message: 'the refusal' });
    expect(cli.stderr()).toMatch(/fairway\.yaml:3:15 pools\.web\.balancer: /);
    for (let i = 0; i < 3; i++) expect(await body(url)).toBe('b\n');

    // Fixed again: applied.
    await cm.update({ 'fairway.yaml': yaml(c.url) });
    await waitFor(async () => (await body(url)) === 'c\n', { timeoutMs: PICKED_UP_MS, message: 'the fixed config' });
    await stop(cli);
  });

  it('sees a file edited in place, and a reload that turns watchConfig on starts watching', async () => {
    const [a, b, c] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' }), startUpstream({ name: 'c' })]);
    const file = join(mkdtempSync(join(tmpdir(), 'fairway-watch-')), 'fairway.yaml');
    writeFileSync(file, yaml(a.url, { watch: false }));
    const { cli, url } = await start(file);
    writeFileSync(file, yaml(b.url, { watch: true }));
    cli.child.kill('SIGHUP');
    await waitFor(async () => (await body(url)) === 'b\n', { timeoutMs: PICKED_UP_MS, message: 'the SIGHUP reload' });
    writeFileSync(file, yaml(c.url, { watch: true }));
    await waitFor(async () => (await body(url)) === 'c\n', { timeoutMs: PICKED_UP_MS, message: 'the watched change' });
    await stop(cli);
  });

  it('with workers, the primary watches and every worker gets the new config', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    const file = join(mkdtempSync(join(tmpdir(), 'fairway-watch-')), 'fairway.yaml');
    writeFileSync(file, yaml(a.url, { workers: 2 }));
    const { cli, url, admin } = await start(file);
    writeFileSync(file, yaml(b.url, { workers: 2 }));
    await waitFor(async () => (await body(url)) === 'b\n', { timeoutMs: PICKED_UP_MS, message: 'the new config' });
    for (let i = 0; i < 10; i++) expect(await body(url)).toBe('b\n');
    const status = JSON.parse((await fetchText(`${admin}/status`)).body) as { workers: { pools: { upstreams: { origin: string }[] }[] }[] };
    expect(status.workers.map((w) => w.pools[0]!.upstreams.map((u) => u.origin))).toEqual([[b.url], [b.url]]);
    await stop(cli);
  });
});
