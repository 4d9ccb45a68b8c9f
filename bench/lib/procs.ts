// Child processes for the bench: start one and wait for its "listening on URL" line, run one to
// completion with a hard timeout, and kill every child still alive (finally blocks, SIGINT).
// Owns no measuring; every spawn is bounded in time.

import { spawn, type ChildProcess } from 'node:child_process';

/** A long-running child (upstream, proxy, peer) started by `startChild`. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Last few KiB of stderr and stdout, for error messages. */
  tail(): string;
  isAlive(): boolean;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<Child>();
const TAIL_BYTES = 4096;

function keepTail(prev: string, chunk: Buffer): string {
  const s = prev + chunk.toString('utf8');
  return s.length > TAIL_BYTES ? s.slice(s.length - TAIL_BYTES) : s;
}

export interface StartOptions {
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve once stdout matches this; group 1 is returned. Absent = resolve once spawned. */
  ready?: RegExp;
  /** Resolve once stderr matches this instead (strace announces attaching there). */
  readyStderr?: RegExp;
  timeoutMs?: number;
}

/** Spawns `cmd` and waits for `ready` on stdout (or exit/timeout, which reject after killing it). */
export async function startChild(name: string, cmd: string, opts: StartOptions = {}): Promise<{ child: Child; match: string }> {
  const proc = spawn(cmd, opts.args ?? [], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let exited = proc.exitCode !== null;
  const exitedP = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      exited = true;
      resolve();
    });
    proc.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    proc,
    tail: () => tail,
    isAlive: () => !exited,
    stop: async (signal = 'SIGTERM', graceMs = 5000) => {
      if (!exited) {
        try {
          proc.kill(signal);
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          if (!exited) proc.kill('SIGKILL');
        }, graceMs);
        await exitedP;
        clearTimeout(timer);
      }
      live.delete(child);
    },
  };
  live.add(child);
  proc.stderr!.on('data', (c: Buffer) => (tail = keepTail(tail, c)));

  let stdout = '';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    const match = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${timeoutMs} ms`)), timeoutMs);
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        fn();
      };
      proc.once('error', (err) => done(() => reject(new Error(`${name}: cannot start ${cmd}: ${err.message}`))));
      proc.once('exit', (code, sig) => done(() => reject(new Error(`${name}: exited (${code ?? sig}) before ready`))));
      proc.stdout!.on('data', (c: Buffer) => {
        tail = keepTail(tail, c);
        if (opts.ready === undefined) return;
        stdout += c.toString('utf8');
        const m = opts.ready.exec(stdout);
        if (m !== null) done(() => resolve(m[1] ?? m[0]));
      });
      if (opts.readyStderr !== undefined) {
        const re = opts.readyStderr;
        let stderr = '';
        const onErr = (c: Buffer): void => {
          stderr += c.toString('utf8');
          const m = re.exec(stderr);
          if (m === null) return;
          proc.stderr!.off('data', onErr);
          done(() => resolve(m[1] ?? m[0]));
        };
        proc.stderr!.on('data', onErr);
      } else if (opts.ready === undefined) proc.once('spawn', () => done(() => resolve('')));
    });
    return { child, match };
  } catch (err) {
    await child.stop('SIGKILL');
    const t = tail.trim();
    throw new Error(`${(err as Error).message}${t === '' ? '' : `\n--- ${name} output ---\n${t}`}`);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `cmd` to completion; SIGKILL after `timeoutMs`. Never rejects for a non-zero exit. */
export function runToEnd(cmd: string, args: readonly string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult> {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child: Child = {
      name: cmd,
      pid: proc.pid ?? -1,
      proc,
      tail: () => stderr,
      isAlive: () => proc.exitCode === null && proc.signalCode === null,
      stop: async () => {
        proc.kill('SIGKILL');
      },
    };
    live.add(child);
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, opts.timeoutMs);
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    };
    proc.once('error', (err) => {
      stderr += `${err.message}\n`;
      finish(null, null);
    });
    proc.once('close', finish);
  });
}

/** Stops every child still running (SIGTERM, SIGKILL after `graceMs`). */
export async function stopAll(graceMs = 2000): Promise<void> {
  await Promise.all([...live].map((c) => c.stop('SIGTERM', graceMs)));
}

/** Last resort on process exit: SIGKILL whatever is left, synchronously. */
export function killAllNow(): void {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
