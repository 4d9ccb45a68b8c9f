// The CLI as a user runs it: help, version, check, the sidecar form, config errors, startup lines.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listeningUrl, ROOT, runCli, startCli } from './helpers/cli.ts';
import { waitFor } from './helpers/wait.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-cli-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Test-only PEM files (src/config/testdata/make.sh). */
const pem = (name: string): string => fileURLToPath(new URL(`../src/config/testdata/${name}`, import.meta.url));

describe('fairway CLI', () => {
  it('--help explains the usage and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('--upstream');
    expect(r.stdout).toContain('fairway check --config FILE');
  });

  it("--help shows the README's usage lines and every flag of its command-line table", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('## Configuration'));
    const synopsis = /```\n([^`]+)```/.exec(section)?.[1]?.trim().split('\n') ?? [];
    const flags = [...section.matchAll(/^\| `(-[^`]+)` \|/gm)].map((m) => m[1]!);
    expect(synopsis.length).toBeGreaterThan(3);
    expect(flags.length).toBeGreaterThan(6);
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const line of synopsis) expect(r.stdout).toContain(`  ${line}\n`);
    for (const flag of flags) expect(r.stdout).toContain(flag);
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
    // No file to reload: SIGHUP is a warning that says so, never an error with a stack trace.
    cli.child.kill('SIGHUP');
    await waitFor(() => cli.stderr().includes('no config file to reload'), { message: 'the SIGHUP warning' });
    const line = JSON.parse(cli.stderr().split('\n').find((l) => l.includes('no config file to reload'))!) as { level: number; err?: unknown };
    expect(line.level).toBe(40);
    expect(line.err).toBeUndefined();
    expect((await fetchText(`${url}/`)).status).toBe(200);
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

  it('check: the shipped reference and demo configs are valid', async () => {
    const reference = await runCli(['check', '--config', 'config/fairway.yaml'], { env: { FAIRWAY_ADMIN_TOKEN: 'reference-token' } });
    expect(reference.stdout).toBe('config/fairway.yaml: OK (3 pools, 5 routes)\n');
    expect(reference.code).toBe(0);
    const demo = await runCli(['check', '--config', 'config/demo.yaml']);
    expect(demo.stdout).toBe('config/demo.yaml: OK (1 pool, 1 route)\n');
    expect(demo.code).toBe(0);
  });

  it('check: TLS certificate files are read and judged, relative to the config file', async () => {
    const file = tempFile(
      'tls.yaml',
      [
        'listen:',
        '  - address: 127.0.0.1:0',
        '    tls:',
        '      certificates:',
        '        - cert: site.crt',
        `          key: ${pem('localhost.key')}`,
        `        - { cert: ${pem('localhost.crt')}, key: ${pem('other.key')} }`,
        'pools:',
        '  web:',
        '    upstreams: [http://127.0.0.1:3001]',
        '',
      ].join('\n'),
    );
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:5:17 listen[0].tls.certificates[0].cert: cannot read ${join(file, '..', 'site.crt')}: no such file\n`);
    expect(r.stderr).toContain(`listen[0].tls.certificates[1].key: ${pem('other.key')} does not match the certificate in ${pem('localhost.crt')}`);
    expect(r.stdout).not.toContain('OK');
  });

  it('sidecar form: an --admin address off loopback without FAIRWAY_ADMIN_TOKEN exits 1 and starts nothing', async () => {
    const r = await runCli(['--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:3001', '--admin', '0.0.0.0:0'], { env: { FAIRWAY_ADMIN_TOKEN: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('<flags> admin.listen: 0.0.0.0:0 is not a loopback address, so the admin server needs admin.token');
    expect(r.stdout).not.toContain('listening');
  });

  it('sidecar form: FAIRWAY_ADMIN_TOKEN guards the admin server', async () => {
    const a = await startUpstream({ name: 'a' });
    const cli = startCli(['--listen', '127.0.0.1:0', '--upstream', a.url, '--admin', '127.0.0.1:0'], { env: { FAIRWAY_ADMIN_TOKEN: 'sidecar-token' } });
    const admin = await listeningUrl(cli, 'admin');
    expect((await fetchText(`${admin}/status`)).status).toBe(401);
    expect((await fetchText(`${admin}/status`, { headers: { authorization: 'Bearer sidecar-token' } })).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('sidecar form: --balancer consistent-hash --hash-key serves; --hash-key alone is a usage error', async () => {
    const a = await startUpstream({ name: 'a' });
    const cli = startCli(['--listen', '127.0.0.1:0', '--upstream', a.url, '--balancer', 'consistent-hash', '--hash-key', 'header:x-user-id']);
    const url = await listeningUrl(cli);
    expect((await fetchText(`${url}/`, { headers: { 'x-user-id': 'u1' } })).body).toBe('a\n');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const usage = await runCli(['--listen', '127.0.0.1:0', '--upstream', a.url, '--hash-key', 'path']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe('fairway: --hash-key needs --balancer consistent-hash\n');
  });
});
