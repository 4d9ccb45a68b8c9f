// The package as a user gets it: `npm pack` (prepack builds dist/ with tsc), the tarball's
// contents (compiled JavaScript and declarations; no sources, tests or benches), `npm install -g`
// into a temporary prefix, then the installed `fairway` (--version, --help, check) and the
// library example run against that copy with type stripping turned off, and a TypeScript
// consumer compiles against its declarations.

import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The installed copy must not lean on Node's type stripping. */
const NO_STRIPPING = { NODE_OPTIONS: '--no-experimental-strip-types' };
/** The pinned Node first on PATH, for npm and for the installed bin's `#!/usr/bin/env node`. */
const PATH = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, PATH, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** npm itself, run by the pinned Node (npm_execpath is set when the tests run under npm). */
function npm(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  const cli = process.env['npm_execpath'];
  return cli !== undefined && cli.endsWith('.js') ? run(process.execPath, [cli, ...args], opts) : run('npm', args, opts);
}

let work: string;
let tarball: string;
let files: string[];
let prefix: string;
let installed: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fairway-pack-'));
  const packed = await npm(['pack', '--pack-destination', work, '--json', '--no-fund', '--no-audit'], { timeoutMs: 180_000 });
  expect(packed.code, packed.stderr).toBe(0);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
  prefix = join(work, 'prefix');
  const inst = await npm(['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], { timeoutMs: 180_000 });
  expect(inst.code, inst.stderr).toBe(0);
  installed = join(prefix, 'lib', 'node_modules', 'fairway');
}, 400_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', { timeout: 120_000 }, () => {
  it('ships compiled JavaScript, declarations, the bin, the schema; no sources, tests or benches', () => {
    for (const f of ['bin/fairway.js', 'dist/main.js', 'dist/index.js', 'dist/index.d.ts', 'dist/lib/start.d.ts', 'dist/admin/dashboard/main.js', 'dist/admin/dashboard/page.html', 'config/fairway.schema.json', 'package.json']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|bench|scripts|examples)\/|\.test\.|\.testing\.|\.case\.|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    // Compiled imports point at .js files; declarations too.
    const index = readFileSync(join(installed, 'dist/index.js'), 'utf8');
    expect(index).toContain('from "./lib/start.js"');
    expect(readFileSync(join(installed, 'dist/index.d.ts'), 'utf8')).not.toMatch(/from '\.[^']*\.ts'/);
  });

  it('npm install -g: fairway --version, --help and check run from dist/ without type stripping', async () => {
    const bin = join(prefix, 'bin', 'fairway');
    const version = await run(bin, ['--version'], { env: NO_STRIPPING });
    expect(version).toMatchObject({ code: 0, stdout: `fairway ${VERSION}\n` });
    const help = await run(bin, ['--help'], { env: NO_STRIPPING });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage:/m);
    const dir = mkdtempSync(join(work, 'check-'));
    writeFileSync(join(dir, 'ok.yaml'), 'listen: 127.0.0.1:8080\npools:\n  web:\n    upstreams: [http://127.0.0.1:3001]\n');
    writeFileSync(join(dir, 'bad.yaml'), 'listen: 127.0.0.1:8080\npools:\n  web:\n    balancer: fastest\n    upstreams: [http://127.0.0.1:3001]\n');
    const ok = await run(bin, ['check', '--config', join(dir, 'ok.yaml')], { env: NO_STRIPPING });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/ok\.yaml: OK \(1 pool, 1 route\)/);
    const bad = await run(bin, ['check', '--config', join(dir, 'bad.yaml')], { env: NO_STRIPPING });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(dir, 'bad.yaml')}:4:15 pools.web.balancer: must be one of`);
  });

  it('the library example runs against the installed copy', async () => {
    // Next to the installed node_modules, so `import 'fairway'` finds the installed package.
    const script = join(prefix, 'lib', 'library.mjs');
    copyFileSync(join(ROOT, 'examples', 'library.mjs'), script);
    const cli = startCli([], { script, cwd: join(prefix, 'lib'), env: { ...NO_STRIPPING, PORT: '0', ADMIN_PORT: '0' } });
    const url = await listeningUrl(cli, 'proxy');
    expect((await fetchText(`${url}/`)).body).toMatch(/^hello from (blue|green)\n$/);
    const dashboard = /^dashboard on (http:\/\/\S+)$/m.exec(cli.stdout())![1]!;
    const page = await fetchText(dashboard);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Fairway</title>');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toBe('');
  });

  it('a TypeScript consumer compiles against the installed declarations (and its mistakes do not)', async () => {
    const dir = join(prefix, 'lib');
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        "import { createProxy, start, FairwayConfigError, type FairwayConfig } from 'fairway';",
        "const config: FairwayConfig = { listen: ':8080', pools: { api: { balancer: 'ewma', upstreams: ['http://127.0.0.1:3000'] } } };",
        'export async function main(): Promise<void> {',
        '  const fw = await start({ config });',
        '  const urls: readonly string[] = fw.listeners;',
        "  const proxy = await createProxy({ config: { pools: { api: { upstreams: ['http://127.0.0.1:3000'] } } } });",
        '  void [urls, proxy.handle, fw.status().pools[0]?.upstreams[0]?.share];',
        '  try { await fw.reload(config); } catch (err) { if (err instanceof FairwayConfigError) console.log(err.problems[0]?.path); }',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'wrong.ts'), "import type { FairwayConfig } from 'fairway';\nexport const c: FairwayConfig = { listen: ':1', pools: { api: { balancer: 'fastest', upstreams: [] } } };\n");
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
    // One compiler run for both files: consumer.ts must come out clean, wrong.ts must not.
    const r = await run(process.execPath, [tsc, ...args, join(dir, 'consumer.ts'), join(dir, 'wrong.ts')], { cwd: dir });
    expect(r.code).not.toBe(0);
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.length, r.stdout).toBeGreaterThan(0);
    expect(errors.filter((l) => !l.startsWith('wrong.ts') && !l.includes(`${join(dir, 'wrong.ts')}`)), r.stdout).toEqual([]);
    expect(r.stdout).toContain(`Type '"fastest"' is not assignable`);
  });
});
