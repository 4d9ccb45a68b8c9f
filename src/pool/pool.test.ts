// Pool: the selectable snapshot handed to the balancer, start/finish bookkeeping, and closing a
// retired upstream's connections once its last try finishes. No network.
import { describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { createBalancer } from '../balancer/index.ts';
import { testPoolConfig } from '../config/fixtures.testing.ts';
import { seededRng } from '../util/rng.ts';
import { Pool } from './pool.ts';
import { Upstream, UpstreamFlag } from './upstream.ts';

function makePool(weights: number[]) {
  const origins = weights.map((_, i) => `http://127.0.0.1:${5001 + i}`);
  const pc = testPoolConfig('p', origins);
  const upstreams = origins.map((o, i) => new Upstream(o, weights[i]!, null, 'p'));
  const pool = new Pool(pc, upstreams, createBalancer('round-robin', { rng: seededRng(1), decayMs: 10_000 }), () => 0);
  return { pool, upstreams };
}

describe('Pool', () => {
  it('selects only upstreams that are up, not ejected, with weight > 0', () => {
    const { pool, upstreams } = makePool([1, 1, 0, 1]);
    expect(pool.members).toEqual([upstreams[0], upstreams[1], upstreams[3]]);
    upstreams[0]!.flags |= UpstreamFlag.DownActive;
    upstreams[1]!.flags |= UpstreamFlag.Ejected;
    pool.rebuild();
    expect(pool.members).toEqual([upstreams[3]]);
    for (let i = 0; i < 10; i++) expect(pool.pick(null, 0)).toBe(upstreams[3]);
  });

  it('picks nothing when nothing is selectable (an immediate 503)', () => {
    const { pool, upstreams } = makePool([1, 1]);
    for (const u of upstreams) u.flags |= UpstreamFlag.DownActive;
    pool.rebuild();
    expect(pool.pick(null, 0)).toBeUndefined();
  });

  it('avoids upstreams a request already tried while others are selectable', () => {
    const { pool, upstreams } = makePool([1, 1, 1]);
    const tried = [upstreams[0]!, upstreams[1]!];
    for (let i = 0; i < 10; i++) expect(pool.pick(tried, 0)).toBe(upstreams[2]);
  });

  it('counts every start and exactly undoes it on finish', () => {
    const { pool, upstreams } = makePool([1]);
    const u = upstreams[0]!;
    pool.start(u, 0, false);
    pool.start(u, 0, true);
    expect(u.inflight).toBe(2);
    expect(u.requests).toBe(2);
    expect(u.retries).toBe(1);
    pool.finish(u, 5, 5, true);
    pool.finish(u, 6, 6, false);
    expect(u.inflight).toBe(0);
    expect(u.requests).toBe(2);
  });

  it('closes a retired upstream\'s connection pool when its last try finishes, not before', () => {
    const { pool, upstreams } = makePool([1]);
    const u = upstreams[0]!;
    let closed = 0;
    u.dispatcher = { close: async () => void closed++ } as unknown as Dispatcher;
    pool.start(u, 0, false);
    u.retired = true;
    expect(closed).toBe(0);
    pool.finish(u, 1, 1, true);
    expect(closed).toBe(1);
    expect(u.dispatcher).toBeNull();
  });

  it('setUpstreams replaces the members whole and hands the new selectable set to the balancer', () => {
    const { pool, upstreams } = makePool([1, 1]);
    const before = pool.upstreams;
    const c = new Upstream('http://127.0.0.1:5009', 1, null, 'p');
    c.flags |= UpstreamFlag.Ejected;
    const d = new Upstream('http://127.0.0.1:5010', 1, null, 'p');
    pool.setUpstreams([upstreams[1]!, c, d]);
    expect(before).toEqual(upstreams); // the old list is not edited (a reader iterating it is safe)
    expect(pool.upstreams).toEqual([upstreams[1], c, d]);
    expect(pool.members).toEqual([upstreams[1], d]);
    const picked = new Set<Upstream>();
    for (let i = 0; i < 10; i++) picked.add(pool.pick(null, 0)!);
    expect(picked).toEqual(new Set([upstreams[1], d]));
  });
});
