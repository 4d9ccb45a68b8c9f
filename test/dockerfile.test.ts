// The container image, without a Docker engine (none runs here). The Dockerfile's rules are
// checked statically; then its stages are replayed into a temp directory (COPY from the build
// context as .dockerignore filters it, RUN in the stage's WORKDIR, nothing else allowed) and the
// image's entrypoint is run from that layout as the image's user: once plainly, and once in a
// mount namespace where every mount is read-only (a stricter `readOnlyRootFilesystem`: no
// writable volume at all), under strace, serving, reloading and draining, to prove it writes
// no file.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ROOT } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

// ── The Dockerfile as instructions ──────────────────────────────────────────────────────────

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | null;
  body: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue; // also inside a continuation, as Docker does
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
  }
  return out;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2] ?? null, body: [] });
    } else {
      stages.at(-1)?.body.push(ins);
    }
  }
  return stages;
}

/** `KEY=value KEY2=value2` (ENV), values unquoted; `$VAR` expanded from `base`. */
function parseEnv(args: string, base: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
    out[m[1]!] = m[2]!.replace(/^"|"$/g, '').replace(/\$(\w+)|\$\{(\w+)\}/g, (_, a: string, b: string) => base[a ?? b] ?? '');
  }
  return out;
}

const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const STAGES = stagesOf(parseDockerfile(DOCKERFILE));
const FINAL = STAGES.at(-1)!;
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** The official node image's PATH, which `$PATH` in the Dockerfile extends. */
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function finalOps(op: string): Instruction[] {
  return FINAL.body.filter((i) => i.op === op);
}

// ── .dockerignore and the build context ─────────────────────────────────────────────────────

/** A .dockerignore pattern as a RegExp over slash paths (`*` and `?` stay in one segment, `**` spans). */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  const p = posix.normalize(pattern.replace(/^\/+|\/+$/g, ''));
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files of the build context (git's view of the worktree, tracked or not ignored) after .dockerignore. */
function buildContext(): Set<string> {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => ({ keep: l.startsWith('!'), re: globToRegExp(l.replace(/^!/, '')) }));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)));
  const included = (file: string): boolean => {
    // Docker: the last pattern matching the path or one of its parent directories decides.
    const parts = file.split('/');
    let keep = true;
    for (const r of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (r.re.test(parts.slice(0, n).join('/'))) {
          keep = r.keep;
          break;
        }
      }
    }
    return keep;
  };
  return new Set(files.filter(included));
}

// ── Replaying the stages ────────────────────────────────────────────────────────────────────

interface Image {
  /** Directory standing for the final image's `/`. */
  root: string;
  env: Record<string, string>;
  user: { uid: number; gid: number };
  entrypoint: string[];
}

/** Maps an image path to the replay directory standing for `root`. */
function inRoot(root: string, p: string): string {
  return join(root, p);
}

/** COPY with Docker's meaning: a directory's contents go into dest; a file into dest/ or as dest. */
function copyInto(fromRoot: string, src: string, destRoot: string, dest: string, workdir: string, filter: (abs: string) => boolean): void {
  const from = join(fromRoot, src);
  const target = posix.isAbsolute(dest) ? dest : posix.join(workdir, dest);
  if (lstatSync(from).isDirectory()) {
    mkdirSync(inRoot(destRoot, target), { recursive: true });
    cpSync(from, inRoot(destRoot, target), { recursive: true, verbatimSymlinks: true, filter: (s) => lstatSync(s).isDirectory() || filter(s) });
    return;
  }
  if (!filter(from)) throw new Error(`COPY ${src}: excluded from the build context by .dockerignore`);
  const file = dest.endsWith('/') ? posix.join(target, posix.basename(src)) : target;
  mkdirSync(dirname(inRoot(destRoot, file)), { recursive: true });
  copyFileSync(from, inRoot(destRoot, file));
}

/**
 * Replays the Dockerfile into `dir`: each stage gets an empty root; COPY takes files from the
 * build context (filtered by .dockerignore) or from an earlier stage; RUN runs in the stage's
 * WORKDIR and may use relative paths only (absolute ones would mean the base image's files,
 * which are not here). Any other instruction that changes files fails the replay.
 */
function replay(dir: string): Image {
  const context = buildContext();
  const inContext = (abs: string): boolean => context.has(relative(ROOT, abs));
  const roots = new Map<string, string>();
  let image: Image | null = null;
  STAGES.forEach((stage, index) => {
    const root = join(dir, `stage-${index}`);
    mkdirSync(root, { recursive: true });
    if (stage.name !== null) roots.set(stage.name, root);
    let workdir = '/';
    let env: Record<string, string> = { PATH: BASE_PATH };
    const user = { uid: 0, gid: 0 };
    let entrypoint: string[] = [];
    for (const { op, args } of stage.body) {
      if (op === 'WORKDIR') {
        workdir = posix.resolve(workdir, args);
        mkdirSync(inRoot(root, workdir), { recursive: true });
      } else if (op === 'ENV') {
        env = { ...env, ...parseEnv(args, env) };
      } else if (op === 'COPY') {
        const words = args.split(/\s+/);
        const from = /^--from=(\S+)$/.exec(words[0]!)?.[1];
        const rest = words.filter((w) => !w.startsWith('--'));
        const dest = rest.pop()!;
        for (const src of rest) {
          if (from === undefined) copyInto(ROOT, src, root, dest, workdir, inContext);
          else copyInto(roots.get(from)!, src, root, dest, workdir, () => true);
        }
      } else if (op === 'RUN') {
        expect(args, 'RUN may use relative paths only (the base image is not replayed)').not.toMatch(/(^|[\s=])\//);
        execFileSync('sh', ['-c', args], {
          cwd: inRoot(root, workdir),
          env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
      } else if (op === 'USER') {
        const [u, g] = args.split(':');
        user.uid = Number(u);
        user.gid = Number(g ?? u);
      } else if (op === 'ENTRYPOINT') {
        entrypoint = JSON.parse(args) as string[];
      } else {
        expect(['ARG', 'LABEL', 'EXPOSE', 'STOPSIGNAL', 'CMD'], `${op} is not replayed`).toContain(op);
      }
    }
    image = { root, env, user, entrypoint };
  });
  return image!;
}

/** The entrypoint's program as the image's PATH finds it, mapped into the replay. */
function resolveEntrypoint(img: Image): string {
  for (const d of img.env['PATH']!.split(':')) {
    const p = inRoot(img.root, posix.join(d, img.entrypoint[0]!));
    if (existsSync(p)) return p;
  }
  throw new Error(`${img.entrypoint[0]} is not on the image's PATH (${img.env['PATH']})`);
}

/** The image's environment, with its PATH mapped into the replay and this Node 24 appended. */
function imageEnv(img: Image, extra: Record<string, string>): Record<string, string> {
  const path = img.env['PATH']!.split(':').map((d) => inRoot(img.root, d));
  path.push(dirname(process.execPath));
  return { ...img.env, PATH: path.join(delimiter), HOME: '/nonexistent', ...extra };
}

function canUnshareMounts(): boolean {
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

// ── Static rules ────────────────────────────────────────────────────────────────────────────

describe('Dockerfile', () => {
  it('builds on the official Node image of the exact version the tests run on, multi-stage', () => {
    expect(STAGES.length).toBeGreaterThanOrEqual(2);
    const version = PKG.devDependencies['node'];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(process.version).toBe(`v${version}`);
    for (const s of STAGES) expect(s.from).toMatch(new RegExp(`^node:${version!.replaceAll('.', '\\.')}-(slim|bookworm-slim|trixie-slim)(@sha256:[0-9a-f]{64})?$`));
    expect(new Set(STAGES.map((s) => s.from)).size).toBe(1);
  });

  it('runs as a numeric, non-root user in the final stage (runAsNonRoot can verify it)', () => {
    const user = finalOps('USER').at(-1);
    expect(user?.args).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  });

  it('has `fairway` as its entrypoint, never `npm start`', () => {
    expect(finalOps('ENTRYPOINT').at(-1)?.args).toBe('["fairway"]');
    expect(DOCKERFILE).not.toMatch(/npm (run )?start/);
  });

  it('installs runtime dependencies only, without install scripts, from the lockfile', () => {
    const installs = STAGES.flatMap((s) => s.body).filter((i) => i.op === 'RUN' && /\bnpm\b/.test(i.args));
    expect(installs.map((i) => i.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev --ignore-scripts\b/)]);
  });

  it('reads its config from /etc/fairway/fairway.yaml and declares no VOLUME (nothing to write to)', () => {
    expect(parseEnv(finalOps('ENV').map((i) => i.args).join(' '), {})['FAIRWAY_CONFIG']).toBe('/etc/fairway/fairway.yaml');
    expect(STAGES.flatMap((s) => s.body).some((i) => i.op === 'VOLUME')).toBe(false);
  });

  it('keeps the build context to what it copies (.dockerignore)', () => {
    const context = buildContext();
    for (const f of context) expect(f).toMatch(/^(package\.json|package-lock\.json|bin\/|src\/|config\/fairway\.schema\.json$)/);
    expect(context.has('src/main.ts')).toBe(true);
    expect(context.has('config/fairway.schema.json')).toBe(true);
    expect([...context].filter((f) => f.split('/').includes('testdata'))).toEqual([]);
  });
});

// ── The replayed image at run time ──────────────────────────────────────────────────────────

describe('the image, replayed from the Dockerfile', () => {
  let dir: string;
  let img: Image;
  let entry: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fairway-image-'));
    chmodSync(dir, 0o755); // the image's user must be able to read it
    img = replay(dir);
    entry = resolveEntrypoint(img);
  }, 120_000);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the runtime dependencies and the sources, without tests or devDependencies', () => {
    const app = inRoot(img.root, '/app');
    for (const dep of Object.keys(PKG.dependencies)) expect(existsSync(join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
    for (const dev of Object.keys(PKG.devDependencies)) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    const sources = readdirSync(join(app, 'src'), { recursive: true }).map(String);
    expect(sources).toContain('main.ts');
    expect(sources.filter((f) => /\.(test|testing|case)\.ts$/.test(f))).toEqual([]);
    // Files only: the replay copies every directory (Docker would leave an excluded one out).
    const fixtures = sources.filter((f) => f.split('/').includes('testdata') && !lstatSync(join(app, 'src', f)).isDirectory());
    expect(fixtures).toEqual([]);
    expect(existsSync(join(app, 'config/fairway.schema.json'))).toBe(true);
  });

  const asImageUser = (): string[] => {
    if (process.getuid?.() !== 0) return []; // not root: already unprivileged
    return [which('setpriv')!, `--reuid=${img.user.uid}`, `--regid=${img.user.gid}`, '--clear-groups', '--'];
  };

  /** Runs the image's entrypoint with `args` as the image's user (setpriv when this is root). */
  const runEntrypoint = (args: string[], env: Record<string, string>): string => {
    const argv = [...asImageUser(), entry, ...args];
    return execFileSync(argv[0]!, argv.slice(1), { env: imageEnv(img, env), encoding: 'utf8' });
  };

  it(`runs its entrypoint as the image's user: every module loads from the omit=dev install`, () => {
    expect(runEntrypoint(['--version'], {}).trim()).toBe(`fairway ${PKG.version}`);
    // `check` parses and validates a config: the config modules and zod/yaml load too.
    const cfgDir = mkdtempSync(join(dir, 'cfg-'));
    chmodSync(cfgDir, 0o755);
    writeFileSync(join(cfgDir, 'fairway.yaml'), 'listen: ":8080"\npools:\n  app:\n    upstreams: [http://127.0.0.1:3000]\n', { mode: 0o644 });
    expect(runEntrypoint(['check'], { FAIRWAY_CONFIG: join(cfgDir, 'fairway.yaml') })).toMatch(/OK \(1 pool, 1 route\)/);
  });

  // Root (for the mount namespace and setpriv) with the tools at hand: true on the dev machines and CI.
  const isolated = process.getuid?.() === 0 && which('setpriv') !== null && which('strace') !== null && canUnshareMounts();

  for (const workers of [1, 2]) {
    it.skipIf(!isolated)(
      `workers: ${workers} — serves, reloads and drains on a read-only filesystem as uid 1000, opening no file for writing`,
      async () => {
        const up = await startUpstream({ name: 'ro' });
        const token = 'ro-test-token';
        const cfgDir = mkdtempSync(join(dir, 'etc-fairway-'));
        chmodSync(cfgDir, 0o755);
        const config = join(cfgDir, 'fairway.yaml');
        writeFileSync(
          config,
          [
            'listen: 127.0.0.1:0',
            `workers: ${workers}`,
            'admin: { listen: 127.0.0.1:0, token: "${FAIRWAY_ADMIN_TOKEN}" }',
            'watchConfig: true',
            'accessLog: { path: stdout, format: json }',
            'shutdown: { drainTimeout: 2s }',
            'pools:',
            '  app:',
            `    upstreams: [${up.url}]`,
            '    healthCheck: { path: /health, interval: 200ms, timeout: 150ms }',
            '',
          ].join('\n'),
          { mode: 0o644 },
        );
        const probe = inRoot(img.root, '/app/.write-probe');
        const tool = (name: string): string => which(name)!;
        // Every mount of a private mount namespace is made read-only (so /tmp and the
        // replayed /app too); a write that still succeeds fails the test before Fairway starts.
        const script = [
          'set -e',
          `for m in $(${tool('awk')} '{print $5}' /proc/self/mountinfo | ${tool('sort')} -ru); do ${tool('mount')} -o remount,bind,ro "$m" 2>/dev/null || true; done`,
          `if ${tool('touch')} "${probe}" 2>/dev/null || ${tool('touch')} /tmp/.fairway-write-probe 2>/dev/null; then echo "filesystem still writable" >&2; exit 97; fi`,
          // strace (as root) follows the process across setpriv's privilege drop. Its log goes
          // to fd 3, a file opened before the namespace was made: still writable through the fd.
          `exec ${tool('strace')} -f -qq --seccomp-bpf -o /dev/fd/3 -e trace=%file ${asImageUser().join(' ')} "$@"`,
        ].join('\n');
        const traceFile = join(dir, `trace-${workers}.txt`);
        const traceFd = openSync(traceFile, 'w');
        const child = spawn(tool('unshare'), ['--mount', '--propagation', 'private', tool('sh'), '-c', script, 'sh', entry], {
          env: imageEnv(img, { FAIRWAY_CONFIG: config, FAIRWAY_ADMIN_TOKEN: token, FAIRWAY_LOG_LEVEL: 'info' }),
          stdio: ['ignore', 'pipe', 'pipe', traceFd],
        });
        closeSync(traceFd);
        onTestFinished(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d));
        child.stderr!.on('data', (d: Buffer) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        const what = (): string => `stdout: ${stdout}\nstderr: ${stderr}`;

        const proxy = (await waitFor(() => /^fairway listening on (http:\/\/\S+)$/m.exec(stdout), { timeoutMs: 30_000, message: `listening (${what()})` }))[1]!;
        const admin = (await waitFor(() => /^admin listening on (http:\/\/\S+)$/m.exec(stdout), { timeoutMs: 10_000, message: 'admin' }))[1]!;
        const auth = { authorization: `Bearer ${token}` };

        expect((await fetchText(`${proxy}/hello`)).body).toContain('ro');
        expect((await fetchText(`${admin}/healthz`)).status).toBe(200);
        expect((await fetchText(`${admin}/readyz`)).status).toBe(200);
        expect((await fetchText(`${admin}/metrics`, { headers: auth })).status).toBe(200);
        expect((await fetchText(`${admin}/status`, { headers: auth })).status).toBe(200);
        expect((await fetchText(`${admin}/reload`, { method: 'POST', headers: auth })).status).toBe(200);

        // The process tree: unshare → sh → strace (one pid, by exec) → the entrypoint's Node.
        const main = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
        expect(main).toBeGreaterThan(0);
        expect(readFileSync(`/proc/${main}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${img.user.uid}\\s`, 'm'));
        process.kill(main, 'SIGHUP');
        await waitFor(() => /config reloaded/.test(stderr), { timeoutMs: 10_000, message: `SIGHUP reload (${what()})` });
        expect((await fetchText(`${proxy}/after-reload`)).status).toBe(200);

        process.kill(main, 'SIGTERM');
        expect(await exited, what()).toBe(0);

        expect(stderr).not.toMatch(/EROFS|EACCES|read-only file system/i);
        const trace = readFileSync(traceFile, 'utf8');
        expect(trace).toMatch(/openat\(/); // the trace did record file syscalls
        expect(writesIn(trace)).toEqual([]);
      },
      60_000,
    );
  }
});

/** Traced syscalls that create, change or remove a file, other than on /dev (the null device, ttys). */
function writesIn(trace: string): string[] {
  const write = /\b(?:open|openat|openat2|creat)\([^)]*(?:O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)|\b(?:mkdir|mkdirat|unlink|unlinkat|rmdir|rename|renameat|renameat2|link|linkat|symlink|symlinkat|truncate|chmod|fchmodat|chown|lchown|fchownat|utimensat|mknod|mknodat)\(/;
  return trace
    .split('\n')
    .filter((l) => write.test(l))
    .filter((l) => !/"\/dev\//.test(l));
}
