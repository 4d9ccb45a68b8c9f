// Name → implementation registry for balancers: the one place that maps a config name to a
// constructor. Configuration parsing and validation of the name live in src/config/.

import { BALANCER_NAMES } from '../config/types.ts';
import type { Balancer, BalancerFactory, BalancerName, BalancerOptions } from './types.ts';
import { ConsistentHashBalancer } from './consistent-hash.ts';
import { EwmaBalancer } from './ewma.ts';
import { LeastConnectionsBalancer } from './least-connections.ts';
import { RandomBalancer } from './random.ts';
import { RoundRobinBalancer } from './round-robin.ts';

/** Every balancer name, in the order the config docs list them (feeds the schema enum). */
export const balancerNames: readonly BalancerName[] = BALANCER_NAMES;

/** One factory per name; the Record type makes a missing or extra name a type error. */
export const balancerFactories: Readonly<Record<BalancerName, BalancerFactory>> = Object.freeze({
  'round-robin': (opts: BalancerOptions) => new RoundRobinBalancer(opts),
  random: (opts: BalancerOptions) => new RandomBalancer(opts),
  'least-connections': (opts: BalancerOptions) => new LeastConnectionsBalancer(opts),
  ewma: (opts: BalancerOptions) => new EwmaBalancer(opts),
  'consistent-hash': (opts: BalancerOptions) => new ConsistentHashBalancer(opts),
});

/** True when `name` is a balancer name. O(names). */
export function isBalancerName(name: string): name is BalancerName {
  for (let i = 0; i < BALANCER_NAMES.length; i++) if (BALANCER_NAMES[i] === name) return true;
  return false;
}

/**
 * A new, empty balancer of the named kind; call `update()` with the members before `pick()`.
 * One instance per pool (it holds that pool's schedule). Off the hot path; allocates.
 */
export function createBalancer(name: BalancerName, opts: BalancerOptions): Balancer {
  const factory = balancerFactories[name];
  if (factory === undefined) throw new Error(`unknown balancer: ${String(name)}`);
  return factory(opts);
}

export { ConsistentHashBalancer, EwmaBalancer, LeastConnectionsBalancer, RandomBalancer, RoundRobinBalancer };
export { NO_KEY } from './types.ts';
export { DEFAULT_LOAD_FACTOR } from './consistent-hash.ts';
export { compileHashKey, type KeyExtractor } from './hash-key.ts';
export type { Balancer, BalancerFactory, BalancerName, BalancerOptions };
