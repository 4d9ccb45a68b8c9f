// The CLI as a user runs it: help, version, check, the sidecar form, config errors, startup lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listeningUrl, runCli, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('fairway CLI', () => {
  it('--help explains the usage and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('--upstream');
    expect(r.stdout).toContain('fairway check --config FILE');
  });

  it('--version prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fairway \d+\.\d+\.\d+/);
  });

  it('an unknown flag is a usage error', async () => {
    const r = await runCli(['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bogus');
  });

  it('check: exit 0 for a valid file', async () => {
    const file = tempFile('ok.yaml', 'listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: [http://127.0.0.1:3001]\n');
    const r = await runCli(['check', '--config', file]);
    expect(r.stdout).toContain('OK');
    expect(r.code).toBe(0);
  });

  it('check: exit 1 with every problem as file:line:col key.path: message', async () => {
    const file = tempFile(
      'bad.yaml',
      [
        'listen: 127.0.0.1:0',
        'pools:',
        '  api:',
        '    balancer: fastest',
        '    upstreams:',
        '      - http://127.0.0.1:3001',
        '    retry:',
        '      perTryTimeout: 5 seconds',
        'routes:',
        '  - pool: apii',
        '',
      ].join('\n'),
    );
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:15 pools\\.api\\.balancer: .*round-robin, random, least-connections, ewma`));
    expect(r.stderr).toMatch(/:8:22 pools\.api\.retry\.perTryTimeout: /);
    expect(r.stderr).toMatch(/:10:11 routes\[0\]\.pool: .*apii.*did you mean 'api'/);
  });

  it('starting with an invalid config exits 1 and starts nothing', async () => {
    const file = tempFile('bad.yaml', 'listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: [http://127.0.0.1:3001]\n    balancr: ewma\n');
    const r = await runCli(['--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/:5:5 pools\.web\.balancr: .*did you mean 'balancer'/);
    expect(r.stdout).not.toContain('listening');
  });

  it('sidecar form: --listen + --upstream + --balancer serves with the real bound port', async () => {
    const [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    const cli = startCli(['--listen', '127.0.0.1:0', '--upstream', a.url, '--upstream', b.url, '--balancer', 'round-robin', '--admin', '127.0.0.1:0']);
    const url = await listeningUrl(cli);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await fetchText(`${url}/`)).body.trim());
    expect(seen).toEqual(new Set(['a', 'b']));
    await listeningUrl(cli, 'admin');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('reads FAIRWAY_CONFIG, and --listen overrides the file', async () => {
    const a = await startUpstream({ name: 'a' });
    const file = tempFile('f.yaml', `listen: 127.0.0.1:1\npools:\n  web:\n    upstreams: [${a.url}]\n`);
    const cli = startCli(['--listen', '127.0.0.1:0'], { env: { FAIRWAY_CONFIG: file } });
    const url = await listeningUrl(cli);
    expect((await fetchText(`${url}/`)).body).toBe('a\n');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
