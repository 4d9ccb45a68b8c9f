// How many active health checks each upstream gets per interval with `workers: N`, counted by
// the upstreams themselves (their /health hit counters). Runs the real CLI (bin/fairway.js) as a
// cluster for each N, three upstreams, a 200 ms interval, and counts probes over a fixed window
// after a warm-up. Usage: npx node bench/scale-out/heartbeats.ts [--workers 1,2,4] [--seconds 6]

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startUpstream } from '../../scripts/upstream.ts';

const BIN = fileURLToPath(new URL('../../bin/fairway.js', import.meta.url));
const INTERVAL_MS = 200;

const { values } = parseArgs({ options: { workers: { type: 'string', default: '1,2,4' }, seconds: { type: 'string', default: '6' } } });
const counts = values.workers.split(',').map(Number);
const windowMs = Number(values.seconds) * 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(workers: number): Promise<number[]> {
  const ups = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream({ name })));
  const dir = mkdtempSync(join(tmpdir(), 'fairway-heartbeats-'));
  const file = join(dir, 'fairway.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:0\nworkers: ${workers}\npools:\n  web:\n    upstreams: [${ups.map((u) => u.url).join(', ')}]\n` +
      `    healthCheck: { path: /health, interval: ${INTERVAL_MS}ms, timeout: 150ms }\n`,
  );
  const child = spawn(process.execPath, [BIN, '--config', file], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  for (let i = 0; !out.includes('fairway listening on'); i++) {
    if (i > 300) throw new Error(`fairway did not start: ${out}`);
    await sleep(100);
  }
  await sleep(2 * INTERVAL_MS); // warm-up: every checker has started its schedule
  const before = ups.map((u) => u.healthHits);
  await sleep(windowMs);
  const per = ups.map((u, i) => (u.healthHits - before[i]!) / (windowMs / INTERVAL_MS));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await Promise.all(ups.map((u) => u.close()));
  return per;
}

process.stdout.write(`health checks per upstream per ${INTERVAL_MS} ms interval, ${windowMs / 1000} s window\n\n| workers | a | b | c |\n|---|---|---|---|\n`);
for (const n of counts) {
  const per = await measure(n);
  process.stdout.write(`| ${n} | ${per.map((v) => v.toFixed(2)).join(' | ')} |\n`);
}
