// Instructions per proxied request of one or more Fairway trees, counted by valgrind (callgrind):
// repeatable whatever else the machine does, unlike CPU time on a shared VM. Each tree runs
// twice under callgrind with the same warm-up and N1 / N2 measured requests; the difference of
// the two totals over N2 − N1 is the cost per request, with start-up and warm-up cancelled out.
// Run: npx node bench/insn.ts TREE... (env BYTES=13, WARM, N1, N2, CONNS, ARGS)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

/** The part of autocannon's API used here (it ships no types). */
type Autocannon = (o: { url: string; connections: number; amount: number; timeout: number }) => Promise<{ non2xx: number; errors: number }>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const trees = process.argv.slice(2);
const BODY = Buffer.alloc(Number(process.env['BYTES'] ?? 13), 'x');
const WARM = Number(process.env['WARM'] ?? 4000);
const N1 = Number(process.env['N1'] ?? 2000);
const N2 = Number(process.env['N2'] ?? 6000);
const CONNS = Number(process.env['CONNS'] ?? 10);
const EXTRA = (process.env['ARGS'] ?? '').split(' ').filter((a) => a !== '');
const ups = await Promise.all([0, 1, 2].map(() => new Promise<string>((r) => {
  const s = http.createServer((_q, res) => {
    res.writeHead(200, { 'content-length': BODY.length });
    res.end(BODY);
  });
  s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as { port: number }).port}`));
})));

async function instructions(tree: string, n: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'insn-'));
  const out = path.join(dir, 'callgrind.out');
  const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, path.join(tree, 'bin', 'fairway.js'), '--listen', '127.0.0.1:0', ...ups.flatMap((u) => ['--upstream', u]), ...EXTRA], {
    env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', () => {});
  const url = await new Promise<string>((r) => child.stdout.on('data', (d: Buffer) => {
    const m = /listening on (http:\/\/\S+)/.exec(String(d));
    if (m) r(m[1]!);
  }));
  await autocannon({ url, connections: CONNS, amount: WARM, timeout: 60 });
  const r = await autocannon({ url, connections: CONNS, amount: n, timeout: 60 });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${tree}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  child.kill('SIGTERM');
  await new Promise((res) => child.on('exit', res));
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
  return Number(m![1]);
}

for (const tree of trees) {
  const a = await instructions(tree, N1);
  const b = await instructions(tree, N2);
  console.log(`${tree}: ${((b - a) / (N2 - N1) / 1000).toFixed(1)} k instructions per request (${BODY.length} B, ${CONNS} connections)`);
}
process.exit(0);
