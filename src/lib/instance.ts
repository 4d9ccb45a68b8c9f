// What start() and createProxy() share: the options every library entry point takes (logger,
// environment), the config feed a Runtime reloads from (the file or the last object given), and
// the running instance's reload/status/metrics. Listening, draining and serving differ and live
// in start.ts and embed.ts; the proxy itself is the Runtime, as in the CLI.

import type { Env } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { createLogger, silentLogger, type Logger } from '../observability/log.ts';
import type { Runtime } from '../runtime.ts';
import type { Status } from '../admin/status.ts';
import { loadConfig, type ConfigSource, type EmbeddedConfig, type FairwayConfig, type LoadMode } from './config.ts';

/** Log levels of the structured log (pino). */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Options every library entry point takes, next to its config. */
export interface CommonOptions {
  /**
   * A pino logger, or the level of a JSON-lines log on stderr. Default: `warn`, or
   * FAIRWAY_LOG_LEVEL when set (the CLI logs `info`: an embedded proxy keeps quieter).
   */
  readonly log?: Logger | LogLevel;
  /** Variables for `${VAR}` in the config; default process.env. */
  readonly env?: Env;
}

/** The logger the options ask for. */
export function loggerOf(opt: Logger | LogLevel | undefined): Logger {
  if (opt === undefined) return createLogger(process.env['FAIRWAY_LOG_LEVEL'] ?? 'warn');
  if (typeof opt !== 'string') return opt;
  return opt === 'silent' ? silentLogger() : createLogger(opt);
}

/**
 * The config a Runtime starts with and reloads from. A reload reads the current source again
 * (the file, or the object); reload(next) tries `next` and keeps it as the source once applied.
 */
export class ConfigFeed {
  private source: ConfigSource;
  private pending: ConfigSource | null;
  private readonly env: Env;
  private readonly mode: LoadMode;

  constructor(source: ConfigSource, env: Env, mode: LoadMode) {
    this.source = source;
    this.pending = null;
    this.env = env;
    this.mode = mode;
  }

  /** Validates the source being applied. Throws FairwayConfigError. */
  load(): Config {
    return loadConfig(this.pending ?? this.source, this.env, this.mode);
  }

  /** Reloads `rt` from `next` (an object) or from the current source; the running config stays if it is invalid. */
  async reload(rt: Runtime, next: FairwayConfig | EmbeddedConfig | undefined): Promise<void> {
    const candidate: ConfigSource = next === undefined ? this.source : { config: next };
    this.pending = candidate;
    try {
      await rt.reload();
      this.source = candidate;
    } finally {
      this.pending = null;
    }
  }
}

/** What every running instance offers besides serving. */
export interface Observable {
  /** The /status document (pools, upstreams, share, balancer figures, events). */
  status(): Status;
  /** Prometheus text, as GET /metrics. */
  metrics(): Promise<string>;
}

/** status() and metrics() of a runtime. */
export function observe(rt: Runtime): Observable {
  return {
    status: () => rt.status(),
    metrics: () => rt.metrics(null),
  };
}
