// Config for the library: the public config type (the YAML file's shape, generated from the same
// zod schema that validates files) and one loader for `{ configFile }` and `{ config }` that
// validates exactly as the CLI does and rejects with FairwayConfigError. What a config means is
// src/config/'s; this module only adapts its entry points.

import type * as z from 'zod';
import { ConfigError, type ConfigIssue } from '../config/errors.ts';
import { buildConfig, loadConfigFile, type Env } from '../config/load.ts';
import type { configSchema } from '../config/schema.ts';
import type { Config } from '../config/types.ts';
import { FairwayConfigError } from './errors.ts';

/**
 * A config object: the YAML file's shape, with the same defaults (durations as `'5s'` or ms,
 * sizes as `'16kb'` or bytes, an upstream as a URL string or `{ url, weight, … }`). Derived from
 * the schema that validates files, so the two cannot drift. The reference with every key:
 * config/fairway.yaml (shipped in the package).
 */
export type FairwayConfig = z.input<typeof configSchema>;

/** A config for createProxy(): as FairwayConfig, but `listen` is optional (and unused). */
export type EmbeddedConfig = Omit<FairwayConfig, 'listen'> & { listen?: FairwayConfig['listen'] };

/** Where a config comes from: a YAML file (reloads read it again) or an object. */
export type ConfigSource = { readonly configFile: string; readonly config?: undefined } | { readonly config: FairwayConfig | EmbeddedConfig; readonly configFile?: undefined };

/** How the config will run. */
export interface LoadMode {
  /**
   * createProxy(): no listener of its own, so `listen` is optional (and never bound) and an
   * `admin` section is refused rather than silently not served.
   */
  readonly embedded: boolean;
}

/**
 * Validates `source` like the CLI does (file: `file:line:col` problems; object: the same
 * messages without a position), then what the library cannot run: several workers, and an
 * admin server for createProxy().
 * @throws FairwayConfigError with every problem; TypeError when `source` names neither or both.
 */
export function loadConfig(source: ConfigSource, env: Env, mode: LoadMode): Config {
  const hasFile = source.configFile !== undefined;
  const hasObject = source.config !== undefined;
  if (hasFile === hasObject) throw new TypeError('give exactly one of { configFile } or { config }');
  let config: Config;
  try {
    config = hasFile ? loadConfigFile(source.configFile!, { env }) : buildConfig(mode.embedded ? withPlaceholderListen(source.config) : source.config, { env });
  } catch (err) {
    if (err instanceof ConfigError) throw FairwayConfigError.from(err);
    throw err;
  }
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string): ConfigIssue => ({ file: config.source, line: null, column: null, path, message });
  if (config.workers > 1) issues.push(at('workers', 'the library runs in this process: workers must be 1 (run the fairway CLI for a process group)'));
  if (mode.embedded && config.admin !== null) {
    issues.push(at('admin', 'createProxy() serves no admin server: use proxy.status() and proxy.metrics() in your own routes, or start()'));
  }
  if (issues.length > 0) throw new FairwayConfigError(issues);
  return config;
}

/** createProxy() needs no `listen`: a placeholder makes the object valid (it is never bound). */
function withPlaceholderListen(config: unknown): unknown {
  if (typeof config !== 'object' || config === null || 'listen' in config) return config;
  return { ...config, listen: '127.0.0.1:0' };
}
