// How a running Fairway process answers signals, shared by the single-process form (main.ts),
// the cluster primary and its workers: SIGTERM/SIGINT drain then exit 0 (a second one exits at
// once), SIGHUP reloads, and so does a change of the config file on disk while `watchConfig`
// is on; SIGUSR1 reopens log files (rotation, as nginx). It knows nothing of what stopping,
// reloading or reopening does.

import { NoConfigFileError } from './admin/source.ts';
import { ConfigError, formatIssue } from './config/errors.ts';
import type { Logger } from './observability/log.ts';
import { FileWatch } from './util/file-watch.ts';

export interface LifecycleHooks {
  /** Drains and stops; the process exits with 0 once it resolves (1 if it rejects). */
  stop(): Promise<void>;
  /** Called on a second stop signal while draining: stop waiting. */
  forceStop?(): void;
  /** SIGHUP; null = ignore SIGHUP (a cluster worker: reloads come from its primary). */
  reload: (() => Promise<unknown>) | null;
  /** SIGUSR1: reopen the access log after rotation. (A listener also keeps Node's inspector off it.) */
  reopenLogs?(): void;
  /**
   * The config file to watch while `watchConfig()` (the running config's flag, asked on every
   * look) says so. Absent = never watch (flags only, cluster workers).
   */
  watch?: WatchHooks;
}

/** What watching the config file needs (see FileWatch). */
export interface WatchHooks {
  readonly file: string;
  readonly watchConfig: () => boolean;
  /** The file's identity as the last load or reload read it (taken before reading). */
  readonly lastRead: () => string | null;
}

export interface Running {
  /** Resolves with the exit code once stopped. */
  readonly exited: Promise<number>;
  /** Starts the stop (a cluster worker told to drain, or orphaned); does nothing once stopping. */
  stop(reason: string): void;
  /** Reloads as SIGHUP does (same logging); `trigger` says why, in the log line. */
  reload(trigger: string): void;
}

/** Installs the signal handlers and returns the running process's handle. */
export function runUntilStopped(hooks: LifecycleHooks, log: Logger): Running {
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  let stopping = false;
  let watch: FileWatch | null = null;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    watch?.stop();
    watch = null;
    log.info({ reason }, 'draining');
    hooks.stop().then(
      () => {
        log.info('stopped');
        resolveExit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        resolveExit(1);
      },
    );
  };
  let signals = 0;
  const onSignal = (signal: string): void => {
    if (++signals > 1 && stopping) {
      log.warn({ signal }, 'second stop signal: exiting now');
      hooks.forceStop?.();
      resolveExit(0);
      return;
    }
    stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGUSR1', () => hooks.reopenLogs?.());
  const reload = (trigger: string): void => {
    const fn = hooks.reload;
    if (fn === null || stopping) return;
    fn().then(
      () => log.info({ trigger }, 'config reloaded'),
      (err: unknown) => reportReloadFailure(err, log),
    );
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  const w = hooks.watch;
  if (w !== undefined) {
    // Asked on every tick, so a reload by any path (SIGHUP, POST /reload, the watch itself)
    // that turns watchConfig on or off takes effect within one interval.
    watch = new FileWatch({ file: w.file, enabled: w.watchConfig, lastRead: w.lastRead, onChange: () => reload('config file changed') });
    void watch.start();
  }
  return { exited, stop, reload };
}

/** Logs a refused reload; an invalid config is also printed, file:line:col, on stderr. */
export function reportReloadFailure(err: unknown, log: Logger): void {
  if (err instanceof ConfigError) {
    log.error({ issues: err.issues.map(formatIssue) }, 'reload refused: invalid config; the running config stays');
    process.stderr.write(`fairway: reload refused, the running config stays:\n${err.format()}\n`);
  } else if (err instanceof NoConfigFileError) {
    // The flags-only form has no file: nothing to reload, and nothing is wrong.
    log.warn(`${err.message}: nothing reloaded`);
  } else {
    log.error({ err }, 'reload failed');
  }
}
