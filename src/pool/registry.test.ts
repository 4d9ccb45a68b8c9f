// Registry: upstream objects (health, EWMA, counters, connections) carried over by pool name +
// origin across reloads; new ones initialised by the health state; gone ones retired and
// closed once idle; a changed connection setting gets a new dispatcher. No network: undici
// pools are created but never connect.
import { afterEach, describe, expect, it } from 'vitest';
import { testPoolConfig } from '../config/fixtures.testing.ts';
import type { HealthCheckConfig } from '../config/types.ts';
import { Registry, type HealthMembership } from './registry.ts';
import { UpstreamFlag, type Upstream } from './upstream.ts';

const A = 'http://127.0.0.1:5101';
const B = 'http://127.0.0.1:5102';

function recordingHealth(): HealthMembership & { initialized: Upstream[]; cleared: Upstream[] } {
  const h = {
    initialized: [] as Upstream[],
    cleared: [] as Upstream[],
    initialize(u: Upstream, hc: HealthCheckConfig | null) {
      h.initialized.push(u);
      if (hc?.initialState === 'down') u.flags |= UpstreamFlag.DownActive;
    },
    clearActive(u: Upstream) {
      h.cleared.push(u);
      u.flags &= ~UpstreamFlag.DownActive;
    },
  };
  return h;
}

const registries: Registry[] = [];
function registry(health = recordingHealth()): { reg: Registry; health: ReturnType<typeof recordingHealth> } {
  const reg = new Registry(health);
  registries.push(reg);
  return { reg, health };
}
afterEach(async () => {
  for (const r of registries.splice(0)) await r.closeAll();
});

function generation(reg: Registry, ...pools: ReturnType<typeof testPoolConfig>[]): Map<string, Upstream[]> {
  const next = reg.newGeneration();
  const out = new Map<string, Upstream[]>();
  for (const pc of pools) out.set(pc.name, reg.upstreamsFor(pc, next));
  reg.commit(next);
  return out;
}

describe('Registry', () => {
  it('keeps the same Upstream object for the same pool and origin, with the new weight', () => {
    const { reg, health } = registry();
    const [a1] = generation(reg, testPoolConfig('web', [A])).get('web')!;
    a1!.requests = 42;
    const [a2, b2] = generation(reg, testPoolConfig('web', [A, B], {})).get('web')!;
    expect(a2).toBe(a1);
    expect(a2!.requests).toBe(42);
    expect(b2).not.toBe(a1);
    expect(health.initialized).toEqual([a1, b2]);
    const [a3] = generation(reg, { ...testPoolConfig('web', [A]), upstreams: [{ ...testPoolConfig('web', [A]).upstreams[0]!, weight: 7 }] }).get('web')!;
    expect(a3).toBe(a1);
    expect(a3!.weight).toBe(7);
  });

  it('does not share upstream state between pools with the same origin', () => {
    const { reg } = registry();
    const g = generation(reg, testPoolConfig('one', [A]), testPoolConfig('two', [A]));
    expect(g.get('one')![0]).not.toBe(g.get('two')![0]);
    expect(g.get('one')![0]!.poolName).toBe('one');
  });

  it('retires an upstream that left the config and closes it at once when idle, later when busy', () => {
    const { reg } = registry();
    const [a, b] = generation(reg, testPoolConfig('web', [A, B])).get('web')!;
    b!.inflight = 1;
    generation(reg, testPoolConfig('web', [B]));
    expect(a!.retired).toBe(true);
    expect(a!.dispatcher).toBeNull();
    generation(reg, testPoolConfig('web', [A]));
    expect(b!.retired).toBe(true);
    expect(b!.dispatcher).not.toBeNull(); // still busy: the pool closes it on its last finish
  });

  it('gives a kept upstream a new connection pool when connection settings change', () => {
    const { reg } = registry();
    const [a1] = generation(reg, testPoolConfig('web', [A])).get('web')!;
    const d1 = a1!.dispatcher;
    generation(reg, testPoolConfig('web', [A]));
    expect(a1!.dispatcher).toBe(d1);
    generation(reg, testPoolConfig('web', [A], { maxConnectionsPerUpstream: 3 }));
    expect(a1!.dispatcher).not.toBe(d1);
  });

  it('asks the health state to clear active-check state when a pool loses its checks', () => {
    const { reg, health } = registry();
    const [a] = generation(reg, testPoolConfig('web', [A], { healthCheck: { initialState: 'down' } })).get('web')!;
    expect(a!.flags & UpstreamFlag.DownActive).toBeTruthy();
    generation(reg, testPoolConfig('web', [A]));
    expect(health.cleared).toEqual([a]);
    expect(a!.flags).toBe(0);
  });

  it('replacePool swaps one pool\'s members (DNS): kept addresses keep their object, gone ones retire, other pools untouched', () => {
    const { reg, health } = registry();
    const C = 'http://127.0.0.1:5103';
    const g = generation(reg, testPoolConfig('web', [A, B]), testPoolConfig('other', [A]));
    const [a, b] = g.get('web')!;
    const otherA = g.get('other')![0]!;
    const base = testPoolConfig('web', [B, C]);
    const resolved = { ...base, upstreams: base.upstreams.map((uc) => ({ ...uc, hostname: 'api.test', address: new URL(uc.origin).hostname })) };
    const [b2, c2] = reg.replacePool(resolved);
    expect(b2).toBe(b);
    expect(b2!.dnsName).toBe('api.test');
    expect(c2!.origin).toBe(C);
    expect(c2!.dnsName).toBe('api.test');
    expect(health.initialized).toContain(c2);
    expect(a!.retired).toBe(true);
    expect(a!.dispatcher).toBeNull();
    expect(otherA.retired).toBe(false);
    // The next reload carries the replaced members over as well.
    const again = generation(reg, testPoolConfig('web', [B, C]), testPoolConfig('other', [A]));
    expect(again.get('web')![0]).toBe(b);
    expect(again.get('web')![1]).toBe(c2);
    expect(again.get('web')![0]!.dnsName).toBeNull(); // now written in the config, not discovered
    expect(again.get('other')![0]).toBe(otherA);
  });
});
