// Child process for test/edge/memory-relay.ts: runs Fairway in-process in front of one upstream
// and reports its memory (rss, heap, external, array buffers) and GC activity as JSON lines on
// stdout, so the driver can see what grows while a large body is relayed. Not a test.
//
// Knobs (environment): EDGE_MEM_UPSTREAM (required), EDGE_MEM_CHUNKS=1 histograms undici body
// chunk sizes (diagnostics channel), EDGE_MEM_WRITES=1 counts res.write() results,
// EDGE_MEM_V8FLAGS passes flags to v8.setFlagsFromString at start, EDGE_MEM_GC_EVERY_MIB=N runs
// a minor GC after every N MiB written to clients (the experiment behind docs/edge.md §memory),
// EDGE_MEM_SRC=/path/to/src runs a patched copy of src/ instead of this worktree's.

import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type * as LoadModule from '../../src/config/load.ts';
import type * as LogModule from '../../src/observability/log.ts';
import type * as RuntimeModule from '../../src/runtime.ts';

const upstream = process.env['EDGE_MEM_UPSTREAM'];
if (upstream === undefined) throw new Error('EDGE_MEM_UPSTREAM is required');

const v8flags = process.env['EDGE_MEM_V8FLAGS'];
if (v8flags !== undefined && v8flags !== '') v8.setFlagsFromString(v8flags);

const gc = { minor: 0, major: 0, other: 0, pauseMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    // perf_hooks constants: 1 = minor (scavenge), 4 = major (mark-compact), 8 incremental, 16 weak callbacks.
    if (kind === 1) gc.minor++;
    else if (kind === 4) gc.major++;
    else gc.other++;
    gc.pauseMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const chunkSizes = new Map<number, number>();
if (process.env['EDGE_MEM_CHUNKS'] === '1') {
  diagnostics.subscribe('undici:request:bodyChunkReceived', (msg) => {
    const n = (msg as { chunk: Buffer }).chunk.length;
    // Bucket by power of two: how large the pieces undici hands to the proxy are.
    const bucket = 2 ** Math.ceil(Math.log2(Math.max(1, n)));
    chunkSizes.set(bucket, (chunkSizes.get(bucket) ?? 0) + 1);
  });
}

const writes = { true: 0, false: 0 };
const gcEveryBytes = Number(process.env['EDGE_MEM_GC_EVERY_MIB'] ?? 0) * 1024 * 1024;
if (process.env['EDGE_MEM_WRITES'] === '1' || gcEveryBytes > 0) {
  let minorGc: ((o: { type: 'minor' }) => void) | null = null;
  if (gcEveryBytes > 0) {
    v8.setFlagsFromString('--expose-gc');
    minorGc = vm.runInNewContext('gc') as (o: { type: 'minor' }) => void;
  }
  let sinceGc = 0;
  const original = http.ServerResponse.prototype.write;
  http.ServerResponse.prototype.write = function write(this: http.ServerResponse, ...args: unknown[]): boolean {
    const ok = (original as (...a: unknown[]) => boolean).apply(this, args);
    if (ok) writes.true++;
    else writes.false++;
    const chunk = args[0];
    if (minorGc !== null && Buffer.isBuffer(chunk)) {
      sinceGc += chunk.length;
      if (sinceGc >= gcEveryBytes) {
        sinceGc = 0;
        minorGc({ type: 'minor' });
      }
    }
    return ok;
  };
}

const src = process.env['EDGE_MEM_SRC'] ?? new URL('../../src', import.meta.url).pathname;
const { buildConfig } = (await import(`${src}/config/load.ts`)) as typeof LoadModule;
const { silentLogger } = (await import(`${src}/observability/log.ts`)) as typeof LogModule;
const { Runtime } = (await import(`${src}/runtime.ts`)) as typeof RuntimeModule;

const config = buildConfig(
  { listen: '127.0.0.1:0', pools: { web: { upstreams: [upstream], retry: { attempts: 1 } } } },
  { env: process.env },
);
const rt = await Runtime.start(config, { log: silentLogger() });
process.stdout.write(`${JSON.stringify({ url: rt.urls()[0] })}\n`);

setInterval(() => {
  const m = process.memoryUsage();
  const line = {
    t: Date.now(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    gc,
    chunks: Object.fromEntries(chunkSizes),
    writes,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, 25).unref();

process.on('SIGTERM', () => {
  void rt.close(0).then(() => process.exit(0));
});
