// Test-only: pools and upstreams without network for the admin unit tests (metrics, status).
// Never imported by runtime code.

import { createBalancer } from '../balancer/index.ts';
import { testPoolConfig } from '../config/fixtures.testing.ts';
import type { BalancerName, PoolConfig } from '../config/types.ts';
import { LatencyHistogram } from '../observability/histogram.ts';
import { Pool } from '../pool/pool.ts';
import { Upstream } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';

export function poolConfig(name: string, origins: readonly string[], balancer: BalancerName = 'round-robin'): PoolConfig {
  return testPoolConfig(name, origins, { balancer, maxConnectionsPerUpstream: 16 });
}

/** Attaches a latency histogram the way the hot path will find it (`u.latency`). */
export function withLatency(u: Upstream): LatencyHistogram {
  const existing = (u as { latency?: unknown }).latency;
  if (existing instanceof LatencyHistogram) return existing;
  const h = new LatencyHistogram();
  Object.assign(u, { latency: h });
  return h;
}

/** A pool of fresh upstreams (no dispatcher) with latency histograms, on a fixed clock. */
export function makePool(name: string, origins: readonly string[], clock: () => number, balancer: BalancerName = 'round-robin'): Pool {
  const pc = poolConfig(name, origins, balancer);
  const upstreams = pc.upstreams.map((uc) => {
    const u = new Upstream(uc.origin, uc.weight);
    withLatency(u);
    return u;
  });
  return new Pool(pc, upstreams, createBalancer(balancer, { rng: seededRng(1), decayMs: pc.ewmaDecayMs }), clock);
}

/** Simulates one finished try the way the exchange settles it. */
export function settleTry(pool: Pool, u: Upstream, status: number, latencyMs: number, nowMs: number): void {
  pool.start(u, nowMs - latencyMs, false);
  const failed = status === 0 || status === 502 || status === 503 || status === 504;
  if (failed) u.failures++;
  u.responses[status === 0 ? 0 : Math.min(5, (status / 100) | 0)]!++;
  withLatency(u).record(latencyMs);
  pool.finish(u, nowMs, latencyMs, !failed);
}
