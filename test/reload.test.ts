// Reload: a valid file swaps in at once with zero failed requests and keeps upstream state; an
// invalid one changes nothing. SIGHUP on the real process does the same.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load.ts';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

function yamlFor(urls: string[], balancer = 'round-robin'): string {
  return `listen: 127.0.0.1:0\npools:\n  web:\n    balancer: ${balancer}\n    upstreams:\n${urls.map((u) => `      - ${u}\n`).join('')}`;
}

describe('reload', () => {
  it('changes the upstream set under steady load with zero failed requests', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream({ name })));
    const dir = mkdtempSync(join(tmpdir(), 'fairway-reload-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yamlFor([a!.url, b!.url]));
    const p = await startProxy(readYaml(file), { reload: () => loadConfigFile(file) });
    const agent = new Agent({ connections: 8 });
    let failed = 0;
    let sent = 0;
    let stop = false;
    const seen = new Set<string>();
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        sent++;
        const r = await fetchText(`${p.url}/`, { dispatcher: agent }).catch(() => null);
        if (r === null || r.status !== 200) failed++;
        else seen.add(r.body.trim());
      }
    });
    await waitFor(() => sent > 100, { message: 'traffic' });
    writeFileSync(file, yamlFor([b!.url, c!.url]));
    await p.runtime.reload();
    const hitsA = a!.hits;
    await waitFor(() => c!.hits > 50, { message: 'new upstream c to get traffic' });
    stop = true;
    await Promise.all(loops);
    await agent.close();
    expect(failed).toBe(0);
    expect(a!.hits - hitsA).toBeLessThanOrEqual(8); // only requests already in flight
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
  });

  it('keeps the state of upstreams present in both configs', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    const dir = mkdtempSync(join(tmpdir(), 'fairway-reload-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yamlFor([a!.url, b!.url], 'ewma'));
    const p = await startProxy(readYaml(file), { reload: () => loadConfigFile(file) });
    for (let i = 0; i < 10; i++) await fetchText(`${p.url}/`);
    const before = p.runtime.current.pools.get('web')!.upstreams.find((u) => u.origin === b!.url)!;
    const requestsBefore = before.requests;
    let connections = 0;
    b!.server.on('connection', () => connections++);
    writeFileSync(file, yamlFor([b!.url], 'least-connections'));
    await p.runtime.reload();
    const after = p.runtime.current.pools.get('web')!.upstreams[0]!;
    expect(after).toBe(before); // same object: health, EWMA, counters and connections carried over
    expect(after.requests).toBe(requestsBefore);
    expect(p.runtime.current.pools.get('web')!.balancer.name).toBe('least-connections');
    for (let i = 0; i < 5; i++) expect((await fetchText(`${p.url}/`)).body).toBe('b\n');
    expect(connections).toBe(0); // kept-alive connections were reused
  });

  it('an invalid file changes nothing and says why', async () => {
    const a = await startUpstream({ name: 'a' });
    const dir = mkdtempSync(join(tmpdir(), 'fairway-reload-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yamlFor([a.url]));
    const p = await startProxy(readYaml(file), { reload: () => loadConfigFile(file) });
    writeFileSync(file, `${yamlFor([a.url])}    balancer: nope\n`);
    await expect(p.runtime.reload()).rejects.toThrow(/fairway\.yaml:\d+:\d+/);
    // The /status event says why: the problem itself, not only how many there were.
    const refused = p.runtime.events.list().at(-1);
    expect(refused).toMatchObject({ type: 'reload', ok: false });
    expect((refused as { reason: string }).reason).toMatch(/^invalid configuration \(2 problems\): \S*fairway\.yaml:\d+:\d+ pools\.web\.balancer: [^;\n]+; \S*fairway\.yaml:\d+:\d+ pools\.web\.balancer: [^;\n]+$/);
    writeFileSync(file, 'pools: [unclosed');
    await expect(p.runtime.reload()).rejects.toThrow();
    expect((await fetchText(`${p.url}/`)).body).toBe('a\n');
  });

  it('a reload that changes the admin token (bound at start) applies the rest and says the token waits for a restart', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    const dir = mkdtempSync(join(tmpdir(), 'fairway-reload-'));
    const file = join(dir, 'fairway.yaml');
    const withAdmin = (url: string, token: string): string => `admin:\n  listen: 127.0.0.1:0\n${token}${yamlFor([url])}`;
    writeFileSync(file, withAdmin(a!.url, ''));
    const p = await startProxy(readYaml(file), { reload: () => loadConfigFile(file) });
    writeFileSync(file, withAdmin(b!.url, '  token: t0ken\n'));
    await p.runtime.reload();
    expect((await fetchText(`${p.url}/`)).body).toBe('b\n');
    const event = p.runtime.events.list().at(-1) as { ok: boolean; reason: string };
    expect(event.ok).toBe(true);
    expect(event.reason).toBe(`applied ${file} (admin.token: at the next restart)`);
    // Not applied (a reload never changes the admin server's authentication): still open.
    expect((await fetchText(`${p.adminUrl!}/status`)).status).toBe(200);
  });

  it('SIGHUP reloads the file of a running process; an invalid file keeps it serving', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    const dir = mkdtempSync(join(tmpdir(), 'fairway-reload-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, yamlFor([a!.url]));
    const cli = startCli(['--config', file]);
    const url = await listeningUrl(cli);
    expect((await fetchText(`${url}/`)).body).toBe('a\n');
    writeFileSync(file, yamlFor([b!.url]));
    cli.child.kill('SIGHUP');
    await waitFor(async () => (await fetchText(`${url}/`)).body === 'b\n', { message: 'reload to take effect' });
    writeFileSync(file, 'listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: []\n');
    cli.child.kill('SIGHUP');
    await waitFor(() => cli.stderr().includes('reload refused'), { message: 'reload refusal on stderr' });
    expect(cli.stderr()).toMatch(/fairway\.yaml:\d+:\d+ pools\.web\.upstreams/);
    expect((await fetchText(`${url}/`)).body).toBe('b\n');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});

function readYaml(file: string): string {
  return readFileSync(file, 'utf8');
}
