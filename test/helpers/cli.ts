// Spawns the real CLI (bin/fairway.js under the pinned Node) and collects its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { waitFor } from './wait.ts';

export const BIN = fileURLToPath(new URL('../../bin/fairway.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `fairway args…` to completion (killed after timeoutMs). */
export function runCli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts a long-running `fairway` process; killed after the test if still alive. */
export function startCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; script?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [opts.script ?? BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for a `<label> listening on http://…` line and returns the URL. */
export async function listeningUrl(cli: RunningCli, label = 'fairway', timeoutMs = 30_000): Promise<string> {
  const re = new RegExp(`^${label} listening on (http://\\S+)$`, 'm');
  const m = await waitFor(() => re.exec(cli.stdout()), {
    timeoutMs,
    message: `'${label} listening on' (stdout: ${JSON.stringify(cli.stdout())}, stderr: ${JSON.stringify(cli.stderr())})`,
  });
  return m[1]!;
}
