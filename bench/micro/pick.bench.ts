// ns per request on the balancer hot path (pick + onStart + onFinish, 8 in flight), for each
// balancer × pool size × weights; update() rebuild cost; and the least-connections scan vs
// power-of-two-choices crossover that sets EXACT_SCAN_MAX. Allocation is pick-alloc.ts's question.
//
// Run: npx node bench/micro/pick.bench.ts [filter-regexp]

import './expose-gc.ts';
import { bench, group, run, summary } from 'mitata';
import { balancerNames } from '../../src/balancer/index.ts';
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts';
import { defaultRng } from '../../src/util/rng.ts';
import { IN_FLIGHT, SIZES, Traffic, WEIGHTINGS, makeBalancer, makeMembers } from './fixtures.ts';

console.log(`node ${process.version}; ${IN_FLIGHT} requests in flight; mixed weights cycle 1,2,3,5,8`);

for (const name of balancerNames) {
  group(`${name}: pick + onStart + onFinish`, () => {
    for (const weighting of WEIGHTINGS) {
      for (const size of SIZES) {
        const members = makeMembers(size, weighting);
        const traffic = new Traffic(makeBalancer(name, members), members);
        bench(`${name} ${weighting} ${size}`, () => traffic.step()).gc(false);
      }
    }
  });
}

group('update(): rebuild on a membership or weight change (mixed weights)', () => {
  for (const name of balancerNames) {
    for (const size of SIZES) {
      if (size === 3) continue;
      const members = makeMembers(size, 'mixed');
      const balancer = makeBalancer(name, members);
      bench(`update ${name} ${size}`, () => balancer.update(members));
    }
  }
});

summary(() => {
  group('least-connections crossover: exact scan vs P2C (mixed weights)', () => {
    for (const size of [4, 8, 16, 32, 64]) {
      for (const [mode, max] of [['scan', Infinity], ['p2c', 0]] as const) {
        const members = makeMembers(size, 'mixed');
        const balancer = new LeastConnectionsBalancer({ rng: defaultRng, decayMs: 10_000 }, max);
        balancer.update(members);
        const traffic = new Traffic(balancer, members);
        bench(`lc ${mode} ${size}`, () => traffic.step()).gc(false);
      }
    }
  });
});

const filter = process.argv[2] === undefined ? /.*/ : new RegExp(process.argv[2]);
await run({ filter, format: { mitata: { name: 'longest' } } } as Parameters<typeof run>[0]);
