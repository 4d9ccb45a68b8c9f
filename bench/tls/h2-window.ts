// How much the HTTP/2 receive windows matter: a 10 MiB upload and a 10 MiB download through an
// in-process Fairway (TLS listener, h2) from Node's client, through a relay that delays every
// chunk by --delay-ms each way (a round trip like a real client's; 0 = plain loopback), for
// several stream/connection window sizes. Prints MiB/s (median of --runs).
// Run: node bench/tls/h2-window.ts [--delay-ms 5] [--runs 3]

import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startUpstream } from '../../scripts/upstream.ts';
import { buildConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { Runtime } from '../../src/runtime.ts';
import { H2_DEFAULTS } from '../../src/server/h2-server.ts';
import { median } from '../lib/stats.ts';
import { makeBenchCert } from './pki.ts';

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const DELAY_MS = Number(values['delay-ms']);
const RUNS = Number(values.runs);
const SIZE = 10 * 1024 * 1024;
/** [stream window, connection window]: the protocol default, and larger ones. */
const WINDOWS: [number, number][] = [
  [65_535, 65_535],
  [256 * 1024, 1024 * 1024],
  [1024 * 1024, 4 * 1024 * 1024],
  [4 * 1024 * 1024, 16 * 1024 * 1024],
];

/** A TCP relay to `port` that delays every chunk by DELAY_MS in both directions. */
async function relay(port: number): Promise<net.Server> {
  const server = net.createServer((c) => {
    const u = net.connect(port, '127.0.0.1');
    const pipe = (a: net.Socket, b: net.Socket): void => {
      a.on('data', (d) => (DELAY_MS === 0 ? b.write(d) : setTimeout(() => b.write(d), DELAY_MS)));
    };
    pipe(c, u);
    pipe(u, c);
    for (const s of [c, u]) s.on('error', () => {});
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function download(s: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const r = s.request({ ':path': '/down' });
    let n = 0;
    r.on('data', (d: Buffer) => (n += d.length));
    r.on('end', () => (n === SIZE ? resolve(performance.now() - t) : reject(new Error(`short body: ${n}`))));
    r.on('error', reject);
  });
}

function upload(s: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const r = s.request({ ':path': '/up', ':method': 'POST' });
    r.resume();
    r.on('end', () => resolve(performance.now() - t));
    r.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 1);
    let left = SIZE;
    const pump = (): void => {
      while (left > 0) {
        left -= chunk.length;
        if (!r.write(chunk)) {
          r.once('drain', pump);
          return;
        }
      }
      r.end();
    };
    pump();
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'fairway-h2-window-'));
const cert = await makeBenchCert(dir);
const down = await startUpstream({ name: 'down', behavior: { kind: 'size', bytes: SIZE } });
const up = await startUpstream({ name: 'up' });
const mibs = (ms: number | null): string => (ms === null ? '–' : (SIZE / 1048576 / (ms / 1000)).toFixed(0));
process.stdout.write(`10 MiB through Fairway over h2, relay delay ${DELAY_MS} ms each way, median of ${RUNS}\n\n| stream window | connection window | upload MiB/s | download MiB/s |\n| --: | --: | --: | --: |\n`);
for (const [streamWindow, connectionWindow] of WINDOWS) {
  // A bench-only override of the listener defaults (read when each session starts).
  Object.assign(H2_DEFAULTS, { streamWindowBytes: streamWindow, connectionWindowBytes: connectionWindow });
  const config = buildConfig(
    {
      listen: [{ address: '127.0.0.1:0', tls: { certificates: [{ cert: cert.certFile, key: cert.keyFile }] } }],
      pools: { down: { upstreams: [down.url] }, up: { upstreams: [up.url] } },
      routes: [{ match: { pathPrefix: '/up' }, pool: 'up' }, { pool: 'down' }],
    },
    { env: process.env },
  );
  const rt = await Runtime.start(config, { log: silentLogger() });
  const r = await relay(Number(new URL(rt.urls()[0]!).port));
  // Node's client with a large window of its own, so downloads show the server side.
  const s = http2.connect(`https://127.0.0.1:${(r.address() as net.AddressInfo).port}`, { rejectUnauthorized: false, settings: { initialWindowSize: 4 * 1024 * 1024 } });
  s.on('connect', () => s.setLocalWindowSize(16 * 1024 * 1024));
  const ups: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ups.push(await upload(s));
    downs.push(await download(s));
  }
  process.stdout.write(`| ${streamWindow} | ${connectionWindow} | ${mibs(median(ups))} | ${mibs(median(downs))} |\n`);
  s.close();
  r.close();
  await rt.close(0);
}
await down.close();
await up.close();
rmSync(dir, { recursive: true, force: true });
