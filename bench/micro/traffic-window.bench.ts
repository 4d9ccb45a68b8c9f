// What does counting the share cost? Pool.start + Pool.finish (plus pick, as the pipeline does
// them) with the per-second traffic window (src/observability/traffic-window.ts) against the
// same pool without it, each variant in its own child process (so neither sees the other's
// call-site feedback), alternated ROUNDS times; also minor GCs during each run (expect 0).
//
// Run: npx node bench/micro/traffic-window.bench.ts [--ops N] [--rounds N]

import { spawnSync } from 'node:child_process';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBalancer } from '../../src/balancer/index.ts';
import { testPoolConfig } from '../../src/config/fixtures.testing.ts';
import { Pool } from '../../src/pool/pool.ts';
import { Upstream } from '../../src/pool/upstream.ts';
import { seededRng } from '../../src/util/rng.ts';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '5000000' },
    rounds: { type: 'string', default: '5' },
    variant: { type: 'string' },
  },
});
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);
const IN_FLIGHT = 8;

/** Pool.start/finish as they are without the traffic window's two lines. */
class PoolWithoutWindow extends Pool {
  override start(u: Upstream, nowMs: number, isRetry: boolean): void {
    u.inflight++;
    u.requests++;
    if (isRetry) u.retries++;
    this.balancer.onStart(u, nowMs);
  }
  override finish(u: Upstream, nowMs: number, latencyMs: number, ok: boolean): void {
    u.inflight--;
    this.balancer.onFinish(u, nowMs, latencyMs, ok);
  }
}

interface Result {
  nsPerOp: number;
  minorGcs: number;
}

function child(variant: 'with' | 'without'): Result {
  const origins = ['http://127.0.0.1:4001', 'http://127.0.0.1:4002', 'http://127.0.0.1:4003'];
  const pc = testPoolConfig('bench', origins, { balancer: 'least-connections' });
  const ups = pc.upstreams.map((uc) => new Upstream(uc.origin, uc.weight));
  const balancer = createBalancer('least-connections', { rng: seededRng(1), decayMs: 10_000 });
  const PoolClass = variant === 'with' ? Pool : PoolWithoutWindow;
  const pool = new PoolClass(pc, ups, balancer, () => 0);
  const ring: Upstream[] = new Array<Upstream>(IN_FLIGHT).fill(ups[0]!);
  // A clock like performance.now(): fractional ms, 20 µs per request (50 000 req/s), so every
  // upstream's slot rolls over once per simulated second.
  const clock = new Float64Array(1);
  clock[0] = 1_000.123;
  for (let i = 0; i < IN_FLIGHT; i++) {
    const u = pool.pick(null, clock[0]!)!;
    pool.start(u, clock[0]!, false);
    ring[i] = u;
  }
  const step = (k: number): void => {
    const slot = k & (IN_FLIGHT - 1);
    const now = (clock[0]! += 0.02);
    const old = ring[slot]!;
    pool.finish(old, now, 2.5 + (old.id & 7), (k & 63) !== 0);
    const u = pool.pick(null, now)!;
    pool.start(u, now, false);
    ring[slot] = u;
  };
  for (let k = 0; k < 2_000_000; k++) step(k);
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      if ((e.detail?.kind ?? 0) === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < OPS; k++) step(k);
  const t1 = process.hrtime.bigint();
  obs.disconnect();
  return { nsPerOp: Number(t1 - t0) / OPS, minorGcs: minor };
}

if (values.variant === 'with' || values.variant === 'without') {
  // Let the GC observer deliver before printing.
  const r = child(values.variant);
  setTimeout(() => process.stdout.write(`${JSON.stringify(r)}\n`), 50);
} else {
  const self = fileURLToPath(import.meta.url);
  const runs: Record<'with' | 'without', Result[]> = { with: [], without: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
      const out = spawnSync(process.execPath, [self, '--variant', variant, '--ops', String(OPS)], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`child failed: ${out.stderr}`);
      runs[variant].push(JSON.parse(out.stdout) as Result);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`node ${process.version}; pick + Pool.start + Pool.finish (least-connections, 3 upstreams, ${IN_FLIGHT} in flight), ${OPS.toLocaleString('en')} ops × ${ROUNDS} rounds per variant`);
  for (const v of ['without', 'with'] as const) {
    const ns = runs[v].map((r) => r.nsPerOp);
    console.log(
      `${v.padEnd(8)} traffic window: median ${median(ns).toFixed(1)} ns/op (runs ${ns.map((x) => x.toFixed(1)).join(', ')}), minor GCs ${runs[v].map((r) => r.minorGcs).join('/')}`,
    );
  }
  const d = median(runs.with.map((r) => r.nsPerOp)) - median(runs.without.map((r) => r.nsPerOp));
  console.log(`difference of medians: ${d >= 0 ? '+' : ''}${d.toFixed(1)} ns per request`);
}
