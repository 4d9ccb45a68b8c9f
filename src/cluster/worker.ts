// One cluster worker: asks its primary for the config the primary validated, runs a Runtime
// without an admin server (the primary has it) and without active health checks (the primary
// runs them and sends the results), and answers the primary's questions (metrics, status,
// reload) over IPC. Its own passive ejections go to the primary for the other workers. It drains
// on SIGTERM/SIGINT, on the primary's `drain`, or when the primary is gone.

import cluster from 'node:cluster';
import { EventLoopMonitor } from '../admin/metrics.ts';
import { ConfigError, formatIssue } from '../config/errors.ts';
import type { Config } from '../config/types.ts';
import { runUntilStopped } from '../lifecycle.ts';
import type { Logger } from '../observability/log.ts';
import { Runtime } from '../runtime.ts';
import { applyShared, ejectMessage } from './health-share.ts';
import { sendToPrimary, type ToWorker } from './rpc.ts';

export interface WorkerOptions {
  log: Logger;
  /** Validates config text from the primary (null = the flags-only form). Throws ConfigError. */
  parse: (text: string | null) => Config;
  /**
   * Bind the listeners with SO_REUSEPORT instead of through the primary (FAIRWAY_REUSE_PORT=1,
   * for measurement only: see docs/scale-out.md; ignored when a listen port is 0).
   */
  reusePort?: boolean;
}

/** Runs one worker; resolves with the exit code once drained. */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const { log } = opts;
  const text = await new Promise<string | null>((resolve) => {
    const onMessage = (m: ToWorker): void => {
      if (m.type !== 'config') return;
      process.off('message', onMessage);
      resolve(m.text);
    };
    process.on('message', onMessage);
    sendToPrimary({ type: 'hello' });
  });
  const config = opts.parse(text);
  let rt: Runtime;
  try {
    rt = await Runtime.start(
      { ...config, admin: null },
      {
        log,
        reloadSource: null,
        activeChecks: false,
        share: { onEject: (pool, u, e) => sendToPrimary(ejectMessage(pool, u, e)) },
        // Each worker binding port 0 itself would get a port of its own: only for fixed ports.
        reusePort: (opts.reusePort ?? false) && config.listen.every((a) => a.port !== 0),
      },
    );
  } catch (err) {
    // Cannot bind (or the like): said once, without a stack; the primary fails the whole start.
    log.error({ reason: (err as Error).message }, 'worker cannot start');
    return 1;
  }
  const loop = new EventLoopMonitor();
  loop.start();
  sendToPrimary({ type: 'ready', urls: rt.urls() });

  const running = runUntilStopped(
    {
      stop: async () => {
        loop.stop();
        await rt.close(rt.current.config.shutdown.drainTimeoutMs);
      },
      reload: null, // SIGHUP is the primary's to handle
      reopenLogs: () => rt.reopenLogs(),
    },
    log,
  );
  process.on('disconnect', () => running.stop('primary gone'));
  process.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'check':
      case 'eject':
        applyShared(rt, m);
        return;
      case 'checks':
        for (const c of m.checks) applyShared(rt, c);
        return;
      case 'drain':
        running.stop('primary asked to drain');
        return;
      case 'reopen':
        rt.reopenLogs();
        return;
      case 'status':
        sendToPrimary({ type: 'reply', id: m.id, ok: true, value: { worker: cluster.worker?.id ?? null, ...rt.status() } });
        return;
      case 'metrics':
        rt.metrics(loop.read()).then(
          (value) => sendToPrimary({ type: 'reply', id: m.id, ok: true, value }),
          (err: unknown) => sendToPrimary({ type: 'reply', id: m.id, ok: false, error: String(err) }),
        );
        return;
      case 'reload':
        Promise.resolve()
          .then(() => rt.apply(opts.parse(m.text)))
          .then(
            () => sendToPrimary({ type: 'reply', id: m.id, ok: true }),
            (err: unknown) => {
              const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : undefined;
              sendToPrimary({ type: 'reply', id: m.id, ok: false, error: (err as Error).message, ...(issues ? { issues } : {}) });
            },
          );
        return;
    }
  });
  return running.exited;
}
