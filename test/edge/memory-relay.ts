// Measures how much Fairway's resident memory grows while it relays large response bodies
// (spec: "relaying a 200 MiB body grows the process's resident memory by less than 64 MiB",
// slow reader or fast). Fairway runs in a child process (memory-proxy.ts) that reports its own
// memory; this process is the upstream and the clients. Not part of `npm test`:
//
//   npx node test/edge/memory-relay.ts [--scenario fast|slow|concurrent|all] [--mib 200]
//        [--rate 20] [--clients 50] [--client-mib 20] [--runs 1] [--node-flags="--max-semi-space-size=1"]
//        [--v8-flags="--max-semi-space-size=1"] [--gc-every-mib 8] [--chunks] [--writes]
//        [--src /path/to/patched/src]
//
// Prints one line per run: baseline RSS, peak RSS growth, peak external / arrayBuffers / heap,
// GC counts, and (with --chunks / --writes) undici chunk sizes and res.write() results.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MiB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    mib: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
    clients: { type: 'string', default: '50' },
    'client-mib': { type: 'string', default: '20' },
    runs: { type: 'string', default: '1' },
    'node-flags': { type: 'string', default: '' },
    'v8-flags': { type: 'string', default: '' },
    'gc-every-mib': { type: 'string', default: '0' },
    src: { type: 'string', default: '' },
    chunks: { type: 'boolean', default: false },
    writes: { type: 'boolean', default: false },
  },
});

// ── upstream: raw net, GET /<bytes> → 200 with Content-Length and that many bytes ─────────────
const SLAB = Buffer.alloc(64 * 1024, 'x');
const upstream = net.createServer((c) => {
  c.on('error', () => {});
  let head = '';
  const onData = (d: Buffer): void => {
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    c.off('data', onData);
    const size = Number(/^GET \/(\d+)/.exec(head)?.[1] ?? 0);
    c.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${size}\r\n\r\n`);
    let left = size;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, SLAB.length);
        left -= n;
        if (!c.write(n === SLAB.length ? SLAB : SLAB.subarray(0, n))) {
          c.once('drain', pump);
          return;
        }
      }
      head = '';
      c.on('data', onData);
    };
    pump();
  };
  c.on('data', onData);
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;

// ── the proxy child and its memory reports ────────────────────────────────────────────────────
interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  gc: { minor: number; major: number; other: number; pauseMs: number };
  chunks: Record<string, number>;
  writes: { true: number; false: number };
}

interface Proxy {
  child: ChildProcess;
  url: string;
  last(): Sample;
  /** Max of each field over samples taken since `from` (ms epoch). */
  peak(from: number): Sample;
}

async function startProxy(): Promise<Proxy> {
  const script = fileURLToPath(new URL('./memory-proxy.ts', import.meta.url));
  const flags = args['node-flags'].split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...flags, script], {
    env: {
      ...process.env,
      EDGE_MEM_UPSTREAM: upstreamUrl,
      EDGE_MEM_CHUNKS: args.chunks ? '1' : '0',
      EDGE_MEM_WRITES: args.writes ? '1' : '0',
      EDGE_MEM_V8FLAGS: args['v8-flags'],
      EDGE_MEM_GC_EVERY_MIB: args['gc-every-mib'],
      ...(args.src === '' ? {} : { EDGE_MEM_SRC: args.src }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const samples: Sample[] = [];
  let url = '';
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = JSON.parse(buf.slice(0, nl)) as Sample & { url?: string };
      buf = buf.slice(nl + 1);
      if (line.url !== undefined) url = line.url;
      else samples.push(line);
    }
  });
  const deadline = Date.now() + 15_000;
  while (url === '' || samples.length === 0) {
    if (Date.now() > deadline) throw new Error('proxy did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    url,
    last: () => samples[samples.length - 1]!,
    peak(from) {
      const p = { ...samples[samples.length - 1]! };
      for (const s of samples) {
        if (s.t < from) continue;
        p.rss = Math.max(p.rss, s.rss);
        p.heapUsed = Math.max(p.heapUsed, s.heapUsed);
        p.external = Math.max(p.external, s.external);
        p.arrayBuffers = Math.max(p.arrayBuffers, s.arrayBuffers);
      }
      return p;
    },
  };
}

// ── clients ───────────────────────────────────────────────────────────────────────────────────
/** GETs `bytes` through the proxy; reads as fast as possible, or at `rateMiBs` MiB/s. */
function download(proxyUrl: string, bytes: number, rateMiBs: number | null): Promise<number> {
  const u = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => {
      s.write(`GET /${bytes} HTTP/1.1\r\nHost: mem\r\nConnection: close\r\n\r\n`);
    });
    let got = 0;
    const started = Date.now();
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (rateMiBs !== null) {
        // Hold the socket paused until the average rate is back under the target.
        const due = started + (got / (rateMiBs * MiB)) * 1000;
        const wait = due - Date.now();
        if (wait > 0) {
          s.pause();
          setTimeout(() => s.resume(), wait);
        }
      }
    });
    s.on('close', () => (got >= bytes ? resolve(got) : reject(new Error(`short read: ${got} of ${bytes}`))));
    s.on('error', reject);
  });
}

async function settle(p: Proxy): Promise<number> {
  // Baseline: a warm proxy (one small relay done), memory read over a quiet half second.
  await download(p.url, 1 * MiB, null);
  await new Promise((r) => setTimeout(r, 500));
  return p.last().rss;
}

async function run(name: string, body: (url: string) => Promise<unknown>): Promise<void> {
  const p = await startProxy();
  try {
    const base = await settle(p);
    const baseSample = p.last();
    const from = Date.now();
    const t0 = performance.now();
    await body(p.url);
    const secs = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 100));
    const peak = p.peak(from);
    const end = p.last();
    const f = (n: number): string => (n / MiB).toFixed(1);
    const parts = [
      `${name.padEnd(34)}`,
      `base rss ${f(base)} MiB`,
      `peak growth ${f(peak.rss - base)} MiB`,
      `peak external ${f(peak.external)} (base ${f(baseSample.external)})`,
      `peak arrayBuffers ${f(peak.arrayBuffers)}`,
      `peak heapUsed ${f(peak.heapUsed)}`,
      `gc minor ${end.gc.minor - baseSample.gc.minor} major ${end.gc.major - baseSample.gc.major} pause ${(end.gc.pauseMs - baseSample.gc.pauseMs).toFixed(0)} ms`,
      `${secs.toFixed(1)} s`,
    ];
    if (args.chunks) parts.push(`chunks ${JSON.stringify(end.chunks)}`);
    if (args.writes) parts.push(`write true/false ${end.writes.true - baseSample.writes.true}/${end.writes.false - baseSample.writes.false}`);
    console.log(parts.join(' | '));
  } finally {
    p.child.kill('SIGTERM');
    await new Promise((r) => p.child.once('exit', r));
  }
}

const mib = Number(args.mib);
const scenarios = args.scenario === 'all' ? ['fast', 'slow', 'concurrent'] : [args.scenario];
for (let i = 0; i < Number(args.runs); i++) {
  for (const sc of scenarios) {
    if (sc === 'fast') await run(`fast reader, ${mib} MiB`, (url) => download(url, mib * MiB, null));
    if (sc === 'slow') await run(`slow reader ${args.rate} MiB/s, ${mib} MiB`, (url) => download(url, mib * MiB, Number(args.rate)));
    if (sc === 'concurrent') {
      const n = Number(args.clients);
      const each = Number(args['client-mib']) * MiB;
      await run(`${n} concurrent × ${args['client-mib']} MiB`, (url) => Promise.all(Array.from({ length: n }, () => download(url, each, null))));
    }
  }
}
upstream.close();
