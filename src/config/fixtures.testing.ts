// Test-only: configs built through the real loader (schema, defaults, normalization), so a
// test never writes a full PoolConfig by hand and never drifts from the defaults. Never
// imported by runtime code.

import { buildConfig } from './load.ts';
import type { Config, PoolConfig } from './types.ts';

/** A whole Config from a YAML-shaped object; `listen` defaults to 127.0.0.1:0. */
export function testConfig(raw: Record<string, unknown>): Config {
  return buildConfig({ listen: '127.0.0.1:0', ...raw }, { env: {} });
}

/**
 * The PoolConfig of a pool `name` with `origins` as its upstreams and `fields` as its other
 * keys, written as in the YAML (e.g. `{ balancer: 'ewma', passive: { consecutiveFailures: 3 } }`).
 */
export function testPoolConfig(name: string, origins: readonly string[], fields: Record<string, unknown> = {}): PoolConfig {
  return testConfig({ pools: { [name]: { upstreams: [...origins], ...fields } } }).pools.get(name)!;
}
