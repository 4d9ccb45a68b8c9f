// `workers: 2` with the primary handing out connections (Node cluster's round-robin: the
// primary accepts, then passes each socket to a worker) against SO_REUSEPORT (each worker binds
// the port itself and the kernel spreads connections). One upstream process, Fairway (the real
// CLI), and autocannon in this process; interleaved runs; reports req/s, p99, the share of
// requests each worker served, and the load average. Two workloads: 50 keep-alive connections,
// and a new connection per request (`connection: close`), where accepting is the cost.
// Usage: npx node bench/scale-out/reuseport.ts [--seconds 8] [--repeats 2]
// (the reusePort mode is switched by FAIRWAY_REUSE_PORT=1 in the worker environment)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BIN = fileURLToPath(new URL('../../bin/fairway.js', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('../../scripts/upstream.ts', import.meta.url));
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, r: { requests: { average: number }; latency: { p99: number }; errors: number; non2xx: number }) => void) => unknown;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, repeats: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const repeats = Number(values.repeats);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitLine(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  for (let i = 0; i < 300; i++) {
    const m = re.exec(out);
    if (m !== null) return m;
    await sleep(100);
  }
  throw new Error(`no ${re} in ${out}`);
}

function load(url: string, closeEach: boolean, secs: number): Promise<{ rps: number; p99: number; errors: number }> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, connections: 50, duration: secs, pipelining: 1, ...(closeEach ? { headers: { connection: 'close' } } : {}) },
      (err, r) => (err === null ? resolve({ rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx }) : reject(err)),
    );
  });
}

async function run(mode: 'primary-rr' | 'reuseport', closeEach: boolean, upstream: string): Promise<string> {
  const port = await freePort();
  const adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fairway-reuseport-'));
  const file = join(dir, 'fairway.yaml');
  writeFileSync(file, `listen: 127.0.0.1:${port}\nworkers: 2\nadmin: { listen: 127.0.0.1:${adminPort} }\npools:\n  web:\n    upstreams: [${upstream}]\n`);
  const env = { ...process.env, FAIRWAY_LOG_LEVEL: 'warn', FAIRWAY_REUSE_PORT: mode === 'reuseport' ? '1' : '0' };
  const fw = spawn(process.execPath, [BIN, '--config', file], { stdio: ['ignore', 'pipe', 'inherit'], env });
  await waitLine(fw, /admin listening on/);
  const url = `http://127.0.0.1:${port}/`;
  await load(url, closeEach, 2); // warm-up
  const status0 = await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json() as { workers: { pools: { requests: number }[] }[] };
  const r = await load(url, closeEach, seconds);
  const status = await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json() as { workers: { pools: { requests: number }[] }[] };
  const served = status.workers.map((w, i) => w.pools[0]!.requests - status0.workers[i]!.pools[0]!.requests);
  const total = served.reduce((a, b) => a + b, 0);
  fw.kill('SIGTERM');
  await new Promise((res) => fw.once('exit', res));
  const shares = served.map((n) => ((100 * n) / total).toFixed(0)).join('/');
  return `| ${closeEach ? 'new connection per request' : '50 keep-alive connections'} | ${mode} | ${Math.round(r.rps)} | ${r.p99} | ${shares} | ${r.errors} | ${loadavg()[0]!.toFixed(2)} |`;
}

const up = spawn(process.execPath, [UPSTREAM, '--name', 'a', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const upstream = (await waitLine(up, / listening on (http:\/\/\S+)/))[1]!;
process.stdout.write(`workers: 2, ${seconds} s per run, ${repeats} interleaved repeats\n\n| workload | mode | req/s | p99 ms | share per worker % | errors | load avg (1 min) |\n|---|---|---|---|---|---|---|\n`);
for (const closeEach of [false, true]) {
  for (let i = 0; i < repeats; i++) {
    for (const mode of ['primary-rr', 'reuseport'] as const) process.stdout.write(`${await run(mode, closeEach, upstream)}\n`);
  }
}
up.kill('SIGTERM');
