// Test-only: configs built through the real loader (schema, defaults, normalization), so a
// test never writes a full PoolConfig by hand and never drifts from the defaults. Never
// imported by runtime code.

import { ConfigError } from './errors.ts';
import { buildConfig, parseConfigText, type LoadOptions } from './load.ts';
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

/** The lines of a minimal valid config file: one listener, pool `api` with one upstream (the last line). */
export const MINIMAL = ['listen: 127.0.0.1:8080', 'pools:', '  api:', '    upstreams:', '      - http://127.0.0.1:3001'] as const;

/** YAML from lines, so each test reads with its line numbers. */
export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The ConfigError `fn` throws (fails the test when it throws something else or nothing). */
export function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** The formatted problem lines of `text` read as `file` (default fairway.yaml, empty env); it must be invalid. */
export function problems(text: string, opts: LoadOptions & { file?: string } = {}): string[] {
  const { file = 'fairway.yaml', ...load } = opts;
  return errorOf(() => parseConfigText(text, file, { env: {}, ...load })).format().split('\n');
}
