// `workers: N | auto`: a cluster primary forks N worker processes that each run a full Runtime
// on the same listen addresses (the primary shares the listening sockets; Linux hands new
// connections out round-robin). The primary runs the admin server and answers it by asking
// its workers over IPC; it validates reloads before broadcasting them, drains all workers on
// SIGTERM, and re-forks a worker that dies. Health checks and balancer state are per worker,
// like nginx workers without a shared zone.

import cluster, { type Worker } from 'node:cluster';
import { AdminServer } from './admin/server.ts';
import { EventLoopMonitor } from './admin/metrics.ts';
import { mergeExpositions } from './admin/merge.ts';
import { NoConfigFileError, runtimeMetrics, type AdminSource } from './admin/source.ts';
import { buildStatus, packageVersion } from './admin/status.ts';
import { ConfigError, formatIssue } from './config/errors.ts';
import type { Config } from './config/types.ts';
import type { Logger } from './observability/log.ts';
import { Runtime } from './runtime.ts';

/** Messages between primary and workers. Requests carry an id; replies echo it. */
type ToWorker =
  | { type: 'config'; text: string | null }
  | { type: 'metrics'; id: number }
  | { type: 'status'; id: number }
  | { type: 'reload'; id: number; text: string | null }
  | { type: 'drain' };
type FromWorker =
  | { type: 'hello' }
  | { type: 'ready'; urls: string[] }
  | { type: 'reply'; id: number; ok: boolean; value?: unknown; issues?: string[]; error?: string };

const ASK_TIMEOUT_MS = 5000;

// ── worker side ───────────────────────────────────────────────────────────────────────────

export interface WorkerOptions {
  log: Logger;
  /** Validates config text from the primary (null = the flags-only form). Throws ConfigError. */
  parse: (text: string | null) => Config;
}

/**
 * Runs one worker: asks the primary for the config it validated, runs a Runtime without an
 * admin server (the primary has it), and answers the primary's questions. Resolves with the
 * exit code once drained.
 */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const { log } = opts;
  const text = await new Promise<string | null>((resolve) => {
    const onMessage = (m: ToWorker): void => {
      if (m.type !== 'config') return;
      process.off('message', onMessage);
      resolve(m.text);
    };
    process.on('message', onMessage);
    process.send!({ type: 'hello' } satisfies FromWorker);
  });
  const config = opts.parse(text);
  const rt = await Runtime.start({ ...config, admin: null }, { log, reloadSource: null });
  const loop = new EventLoopMonitor();
  loop.start();
  const send = (m: FromWorker): void => {
    if (process.connected) process.send!(m);
  };
  send({ type: 'ready', urls: rt.urls() });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const drain = (): void => {
      if (stopping) return;
      stopping = true;
      loop.stop();
      rt.close(rt.current.config.shutdown.drainTimeoutMs).then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    // A terminal's Ctrl-C reaches the whole process group; SIGHUP is the primary's to handle.
    process.on('SIGTERM', drain);
    process.on('SIGINT', drain);
    process.on('SIGHUP', () => {});
    process.on('disconnect', drain); // the primary is gone
    process.on('message', (m: ToWorker) => {
      switch (m.type) {
        case 'drain':
          drain();
          return;
        case 'status':
          send({ type: 'reply', id: m.id, ok: true, value: { worker: cluster.worker?.id ?? null, ...buildStatus(rt) } });
          return;
        case 'metrics':
          runtimeMetrics(rt, loop.read()).then(
            (text) => send({ type: 'reply', id: m.id, ok: true, value: text }),
            (err: unknown) => send({ type: 'reply', id: m.id, ok: false, error: String(err) }),
          );
          return;
        case 'reload':
          try {
            rt.apply(opts.parse(m.text));
            send({ type: 'reply', id: m.id, ok: true });
          } catch (err) {
            const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : undefined;
            send({ type: 'reply', id: m.id, ok: false, error: (err as Error).message, ...(issues ? { issues } : {}) });
          }
          return;
      }
    });
  });
}

// ── primary side ──────────────────────────────────────────────────────────────────────────

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
}

/**
 * Runs the primary: forks `config.workers` workers, prints the listening lines once all are
 * ready, runs the admin server, handles signals. Resolves with the exit code.
 */
export async function runPrimary(initial: ValidatedConfig, opts: PrimaryOptions): Promise<number> {
  const { log } = opts;
  const config = initial.config;
  /** The text every worker runs, new ones included: only ever a validated one. */
  let text = initial.text;
  const slots: Slot[] = [];
  const pending = new Map<number, { resolve: (m: FromWorker & { type: 'reply' }) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let stopping = false;
  let draining = false;
  let current = config;

  const fork = (index: number, failures = 0): Slot => {
    const worker = cluster.fork({ FAIRWAY_WORKER_INDEX: String(index) });
    const slot: Slot = { index, worker, ready: false, urls: [] };
    const forkedAt = Date.now();
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'hello') {
        worker.send({ type: 'config', text } satisfies ToWorker);
      } else if (m.type === 'ready') {
        slot.ready = true;
        slot.urls = m.urls;
      } else if (m.type === 'reply') {
        const p = pending.get(m.id);
        if (p !== undefined) {
          pending.delete(m.id);
          clearTimeout(p.timer);
          p.resolve(m);
        }
      }
    });
    worker.on('exit', (code, signal) => {
      slot.ready = false;
      if (stopping) return;
      // A worker that keeps dying soon after its start is restarted with growing delays
      // (0.25 s, 0.5 s, … up to 10 s), never in a tight loop.
      const quick = Date.now() - forkedAt < 5000;
      const n = quick ? failures + 1 : 0;
      const delayMs = n === 0 ? 0 : Math.min(10_000, 250 * 2 ** (n - 1));
      log.error({ worker: index, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited; starting a new one');
      setTimeout(() => {
        if (!stopping) slots[index] = fork(index, n);
      }, delayMs);
    });
    return slot;
  };

  /** Sends a request to one worker; resolves with its reply (or a failed reply on timeout/exit). */
  const ask = (slot: Slot, type: 'metrics' | 'status' | 'reload'): Promise<FromWorker & { type: 'reply' }> =>
    new Promise((resolve) => {
      const id = nextId++;
      if (slot.worker.isDead() || !slot.worker.isConnected()) {
        resolve({ type: 'reply', id, ok: false, error: `worker ${slot.index} is restarting` });
        return;
      }
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ type: 'reply', id, ok: false, error: `worker ${slot.index} did not answer` });
      }, ASK_TIMEOUT_MS);
      pending.set(id, { resolve, timer });
      try {
        slot.worker.send((type === 'reload' ? { type, id, text } : { type, id }) satisfies ToWorker);
      } catch (err) {
        clearTimeout(timer);
        pending.delete(id);
        resolve({ type: 'reply', id, ok: false, error: String(err) });
      }
    });

  // Start every worker; fail the whole start if one exits before it is ready (e.g. cannot bind).
  for (let i = 0; i < config.workers; i++) slots.push(fork(i));
  const started = await new Promise<boolean>((resolve) => {
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
  if (!started) {
    stopping = true;
    for (const s of slots) s.worker.process.kill('SIGKILL');
    opts.print('fairway: a worker failed to start; see the log above');
    return 1;
  }
  for (const url of slots[0]!.urls) opts.print(`fairway listening on ${url}`);
  log.info({ workers: slots.map((s) => s.worker.process.pid) }, 'workers ready');

  const source: AdminSource = {
    log,
    isReady: () => !draining && slots.every((s) => s.ready),
    isDraining: () => draining,
    async metrics() {
      const replies = await Promise.all(slots.map((s) => ask(s, 'metrics')));
      const texts = replies.map((r) => (r.ok ? String(r.value) : ''));
      const up = replies.filter((r) => r.ok).length;
      return (
        `# HELP fairway_workers Worker processes configured and answering.\n# TYPE fairway_workers gauge\n` +
        `fairway_workers{state="configured"} ${slots.length}\nfairway_workers{state="answering"} ${up}\n` +
        mergeExpositions(texts)
      );
    },
    async status() {
      const replies = await Promise.all(slots.map((s) => ask(s, 'status')));
      return {
        version: packageVersion(),
        mode: 'cluster',
        pid: process.pid,
        draining,
        config: { source: current.source },
        workers: replies.map((r, i) => (r.ok ? r.value : { worker: i, error: r.error })),
      };
    },
    async reload() {
      if (opts.reloadSource === null) throw new NoConfigFileError('no config file to reload (started from flags)');
      // Validated here first: an invalid file reaches no worker, and every worker (a restarted
      // one too) gets exactly this text.
      const next = opts.reloadSource();
      text = next.text;
      current = next.config;
      const replies = await Promise.all(slots.map((s) => ask(s, 'reload')));
      const failed = replies.find((r) => !r.ok);
      if (failed !== undefined) throw new Error(`a worker refused the reload: ${failed.error ?? 'unknown error'}`);
      return next.config;
    },
  };

  let admin: AdminServer | null = null;
  if (config.admin !== null) {
    admin = new AdminServer(source, config.admin);
    try {
      opts.print(`admin listening on ${await admin.listen()}`);
    } catch (err) {
      log.error({ err }, 'admin server cannot start');
      stopping = true;
      for (const s of slots) s.worker.process.kill('SIGKILL');
      return 1;
    }
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) {
        for (const s of slots) s.worker.process.kill('SIGKILL');
        resolve(0);
        return;
      }
      stopping = true;
      draining = true;
      log.info({ signal }, 'draining workers');
      for (const s of slots) {
        try {
          s.worker.send({ type: 'drain' } satisfies ToWorker);
        } catch {
          // already gone
        }
      }
      const deadline = setTimeout(() => {
        for (const s of slots) s.worker.process.kill('SIGKILL');
      }, current.shutdown.drainTimeoutMs + 5000);
      Promise.all(
        slots.map((s) =>
          s.worker.isDead() ? Promise.resolve() : new Promise<void>((r) => s.worker.once('exit', () => r())),
        ),
      ).then(async () => {
        clearTimeout(deadline);
        await admin?.close();
        resolve(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      source.reload().then(
        () => log.info('config reloaded in every worker'),
        (err: unknown) => {
          if (err instanceof ConfigError) {
            log.error({ issues: err.issues.map(formatIssue) }, 'reload refused: invalid config; the running config stays');
            process.stderr.write(`fairway: reload refused, the running config stays:\n${err.format()}\n`);
          } else log.error({ err }, 'reload failed');
        },
      );
    });
  });
}
