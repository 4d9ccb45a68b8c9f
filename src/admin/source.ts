// What the admin server reads and asks for, behind one narrow interface: a single process
// answers from its own Runtime (Runtime.adminSource()), a cluster primary by asking its workers
// (cluster/primary.ts). The admin server never sees either directly.

import type { Config } from '../config/types.ts';
import type { Logger } from '../observability/log.ts';
import type { EventLoopStats } from './metrics.ts';

/** Thrown by `reload()` when there is no file to read (started from flags). */
export class NoConfigFileError extends Error {}

export interface AdminSource {
  readonly log: Logger;
  /** Listening and not draining. */
  isReady(): boolean;
  isDraining(): boolean;
  /** Prometheus text. `eventLoop`: the admin process's own loop delay since the last scrape. */
  metrics(eventLoop: EventLoopStats | null): Promise<string>;
  /** The /status document. */
  status(): Promise<unknown>;
  /** Re-reads and applies the config file: throws ConfigError (nothing changed) or NoConfigFileError. */
  reload(): Promise<Config>;
}
