// `workers: N | auto`: the cluster primary forks N worker processes that each run a full Runtime
// on the same listen addresses (the primary shares the listening sockets; Linux hands new
// connections out round-robin). The primary runs the admin server and answers it by asking its
// workers (rpc.ts); it validates reloads before sending them, drains every worker on
// SIGTERM/SIGINT, and forks a replacement for a worker that dies. It also runs the active health
// checks for the whole group, in a runtime of its own without listeners, and passes every result
// and every worker's passive ejection on to the workers (health-share.ts).

import cluster, { type Worker } from 'node:cluster';
import { mergeExpositions } from '../admin/merge.ts';
import { AdminServer } from '../admin/server.ts';
import { NoConfigFileError, type AdminSource } from '../admin/source.ts';
import type { Config } from '../config/types.ts';
import { runUntilStopped } from '../lifecycle.ts';
import { restartOnlyChanges } from '../config/restart-only.ts';
import { reloadEvent } from '../observability/events.ts';
import type { Logger } from '../observability/log.ts';
import { Runtime } from '../runtime.ts';
import { packageVersion } from '../version.ts';
import { checkMessage, checkSnapshot } from './health-share.ts';
import { Rpc, type FromWorker, type Question, type Reply, type ToWorker } from './rpc.ts';

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  urls: string[];
}

/** A validated config and the file text it came from (null for the flags-only form). */
export interface ValidatedConfig {
  config: Config;
  text: string | null;
}

export interface PrimaryOptions {
  log: Logger;
  /** Reads and validates the config file again; null when started from flags. Throws ConfigError. */
  reloadSource: (() => ValidatedConfig) | null;
  /** Human lines (listening addresses) go here. */
  print: (line: string) => void;
  /** A start that fails says why here (stderr). */
  printError: (line: string) => void;
  /** The config file's identity as last read (watchConfig compares against it). */
  lastRead?: () => string | null;
}

/** The config the primary's health runtime runs: the pools, no listener, no admin server. */
function healthOnly(config: Config): Config {
  return { ...config, listen: [], admin: null, accessLog: null };
}

/**
 * Sends `m` to a worker if its channel is open; a worker that is gone or going misses it (its
 * replacement gets a snapshot when ready). The callback keeps a closed channel from becoming an
 * 'error' event.
 */
function trySend(worker: Worker, m: ToWorker): void {
  if (worker.isDead() || !worker.isConnected()) return;
  try {
    worker.send(m, undefined, ignoreSendError);
  } catch {
    // Closed between the check and the send.
  }
}

function ignoreSendError(): void {}

/** Restart delay after `n` quick deaths in a row: 0.25 s, 0.5 s, … up to 10 s; 0 for n = 0. */
function restartDelayMs(n: number): number {
  return n === 0 ? 0 : Math.min(10_000, 250 * 2 ** (n - 1));
}

/**
 * Runs the primary: forks `config.workers` workers, prints the listening lines once all are
 * ready, runs the admin server, handles signals. Resolves with the exit code.
 */
export async function runPrimary(initial: ValidatedConfig, opts: PrimaryOptions): Promise<number> {
  const { log } = opts;
  /** The text every worker runs, new ones included: only ever a validated one. */
  let text = initial.text;
  let current = initial.config;
  const slots: Slot[] = [];
  const rpc = new Rpc();
  let stopping = false;
  let draining = false;
  /** Every worker was ready once: from now on a worker that dies is replaced. */
  let started = false;

  // Active checks run here, once per upstream per interval for the whole group. Every result,
  // with the threshold state it led to, goes to every worker.
  const health = await Runtime.start(healthOnly(current), {
    log: log.child({ role: 'health' }),
    share: {
      onCheck: (pool, u, c) => {
        const m = checkMessage(pool, u, c);
        for (const s of slots) if (s.ready) trySend(s.worker, m);
      },
    },
  });

  const fork = (index: number, failures = 0): Slot => {
    const worker = cluster.fork({ FAIRWAY_WORKER_INDEX: String(index) });
    const slot: Slot = { index, worker, ready: false, urls: [] };
    const forkedAt = Date.now();
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'hello') worker.send({ type: 'config', text } satisfies ToWorker);
      else if (m.type === 'ready') {
        slot.ready = true;
        slot.urls = m.urls;
        // A new worker (a replacement too) starts from the group's current view of health.
        trySend(worker, checkSnapshot(health));
      } else if (m.type === 'reply') rpc.onReply(m);
      else if (m.type === 'eject') {
        // One worker's passive ejection reaches the others at once.
        for (const s of slots) if (s !== slot && s.ready) trySend(s.worker, m);
      }
    });
    worker.on('exit', (code, signal) => {
      slot.ready = false;
      // During the start a worker that exits fails the whole start (allReady): no replacement.
      if (stopping || !started) return;
      // A worker that keeps dying soon after its start is restarted with growing delays, never
      // in a tight loop.
      const n = Date.now() - forkedAt < 5000 ? failures + 1 : 0;
      const delayMs = restartDelayMs(n);
      log.error({ worker: index, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited; starting a new one');
      setTimeout(() => {
        if (!stopping) slots[index] = fork(index, n);
      }, delayMs);
    });
    return slot;
  };
  const askAll = (question: Question, extra?: Record<string, unknown>): Promise<Reply[]> =>
    Promise.all(slots.map((s) => rpc.ask(s.worker, `worker ${s.index}`, question, extra)));
  const killAll = (): void => {
    for (const s of slots) s.worker.process.kill('SIGKILL');
  };

  const source: AdminSource = {
    log,
    isReady: () => !draining && slots.length > 0 && slots.every((s) => s.ready),
    isDraining: () => draining,
    async metrics() {
      const replies = await askAll('metrics');
      const up = replies.filter((r) => r.ok).length;
      return (
        `# HELP fairway_workers Worker processes configured and answering.\n# TYPE fairway_workers gauge\n` +
        `fairway_workers{state="configured"} ${slots.length}\nfairway_workers{state="answering"} ${up}\n` +
        mergeExpositions(replies.map((r) => (r.ok ? String(r.value) : '')))
      );
    },
    async status() {
      const replies = await askAll('status');
      return {
        version: packageVersion(),
        mode: 'cluster',
        pid: process.pid,
        draining,
        config: { source: current.source },
        // Who sends the heartbeats: this process, once per upstream per interval for all workers.
        healthChecks: { by: 'primary', pid: process.pid },
        // The group's events: config reloads (validated here) and the heartbeats' flips.
        events: health.events.list(),
        workers: replies.map((r, i) => (r.ok ? r.value : { worker: i, error: r.error })),
      };
    },
    async reload() {
      if (opts.reloadSource === null) throw new NoConfigFileError('no config file to reload (started from flags)');
      // Validated here first: an invalid file reaches no worker, and every worker (a restarted
      // one too) gets exactly this text.
      let next: ValidatedConfig;
      try {
        next = opts.reloadSource();
      } catch (err) {
        health.events.record(reloadEvent({ refused: err }));
        throw err;
      }
      text = next.text;
      current = next.config;
      await health.apply(healthOnly(next.config));
      const failed = (await askAll('reload', { text })).find((r) => !r.ok);
      if (failed !== undefined) {
        const err = new Error(`a worker refused the reload: ${failed.error ?? 'unknown error'}`);
        health.events.record(reloadEvent({ refused: err }));
        throw err;
      }
      const restartNeeded = restartOnlyChanges(initial.config, next.config);
      if (restartNeeded.length > 0) log.warn({ keys: restartNeeded }, 'reload: these changes take effect at the next restart');
      health.events.record(reloadEvent({ source: next.config.source, restartNeeded }));
      return next.config;
    },
  };

  // The admin server binds before any worker starts: a start that fails leaves nothing running
  // and prints no listening line.
  let admin: AdminServer | null = null;
  let adminUrl: string | null = null;
  if (current.admin !== null) {
    admin = new AdminServer(source, current.admin);
    try {
      adminUrl = await admin.listen();
    } catch (err) {
      await health.close(0);
      opts.printError(`fairway: cannot start: ${(err as Error).message}`);
      return 1;
    }
  }

  // Start every worker; fail the whole start if one exits before it is ready (e.g. cannot bind).
  for (let i = 0; i < current.workers; i++) slots.push(fork(i));
  if (!(await allReady(slots))) {
    stopping = true;
    killAll();
    await admin?.close();
    await health.close(0);
    opts.printError('fairway: cannot start: a worker failed to start; see the log above');
    return 1;
  }
  started = true;
  for (const url of slots[0]!.urls) opts.print(`fairway listening on ${url}`);
  if (adminUrl !== null) opts.print(`admin listening on ${adminUrl}`);
  log.info({ workers: slots.map((s) => s.worker.process.pid) }, 'workers ready');

  const running = runUntilStopped(
    {
      stop: async () => {
        stopping = true;
        draining = true;
        for (const s of slots) {
          try {
            s.worker.send({ type: 'drain' } satisfies ToWorker);
          } catch {
            // already gone
          }
        }
        const deadline = setTimeout(killAll, current.shutdown.drainTimeoutMs + 5000);
        await Promise.all(slots.map((s) => (s.worker.isDead() ? undefined : new Promise<void>((r) => s.worker.once('exit', () => r())))));
        clearTimeout(deadline);
        await admin?.close();
        await health.close(0);
      },
      forceStop: killAll,
      reload: () => source.reload(),
      reopenLogs: () => {
        for (const s of slots) {
          try {
            s.worker.send({ type: 'reopen' } satisfies ToWorker);
          } catch {
            // a worker restarting opens the file anew anyway
          }
        }
      },
      ...(current.source === null ? {} : { watch: { file: current.source, watchConfig: () => current.watchConfig, lastRead: opts.lastRead ?? (() => null) } }),
    },
    log,
  );
  return running.exited;
}

/** Resolves true once every worker reported ready, false as soon as one exits before that. */
function allReady(slots: readonly Slot[]): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const check = setInterval(() => {
      if (slots.every((s) => s.ready)) {
        clearInterval(check);
        resolve(true);
      }
    }, 10);
    for (const s of slots) {
      s.worker.once('exit', () => {
        if (!s.ready) {
          clearInterval(check);
          resolve(false);
        }
      });
    }
  });
}
