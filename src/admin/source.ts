// What the admin server reads and asks for, behind one interface: a single process answers from
// its own Runtime (runtimeSource); a cluster primary answers by asking its workers (workers.ts).

import type { Config } from '../config/types.ts';
import type { Logger } from '../observability/log.ts';
import type { Runtime } from '../runtime.ts';
import { renderMetrics, type EventLoopStats } from './metrics.ts';
import { buildStatus, packageVersion } from './status.ts';

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

/** Open client connections per data-plane listener, read asynchronously from the servers. */
async function openConnections(rt: Runtime): Promise<{ listener: string; count: number }[]> {
  return Promise.all(
    rt.listeners.map(
      (l) =>
        new Promise<{ listener: string; count: number }>((resolve) => {
          const listener = l.url();
          l.server.getConnections((err, count) => resolve({ listener, count: err ? 0 : count }));
        }),
    ),
  );
}

/** Prometheus text for one runtime (also what each cluster worker sends its primary). */
export async function runtimeMetrics(rt: Runtime, eventLoop: EventLoopStats | null): Promise<string> {
  let tunnels = 0;
  for (const l of rt.listeners) tunnels += l.tunnels.size;
  return renderMetrics(rt, { openConnections: await openConnections(rt), tunnels, eventLoop, version: packageVersion() });
}

/** The admin source of a single-process runtime. */
export function runtimeSource(rt: Runtime): AdminSource {
  return {
    log: rt.log,
    isReady() {
      if (rt.draining || rt.listeners.length === 0) return false;
      for (const l of rt.listeners) if (!l.server.listening) return false;
      return true;
    },
    isDraining: () => rt.draining,
    metrics: (eventLoop) => runtimeMetrics(rt, eventLoop),
    status: async () => buildStatus(rt),
    reload: async () => rt.reload(),
  };
}
