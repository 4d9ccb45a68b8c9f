// Syscalls per request: `strace -c -f -p PID` attached to a running target (all its threads) for
// one closed-loop run, detached with SIGINT, its summary table parsed and divided by the
// responses. A diagnostic pass after the measured matrix: ptrace slows the target several-fold,
// so its req/s is not a measurement; the counts per request are (batching per event-loop turn
// rises as the target slows, so they are if anything a little low). Debian package: strace.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Workload } from '../lib/options.ts';
import { startChild } from '../lib/procs.ts';
import type { Target } from './targets.ts';
import { findBinary } from './targets.ts';
import { runLoad } from './throughput.ts';

/** One target's syscalls over one straced run. */
export interface SyscallRow {
  target: string;
  workload: string;
  /** Responses during the straced run, and their rate (slowed by ptrace: not a measurement). */
  responses: number;
  rps: number;
  /** Syscalls per response, all threads, by syscall name; `total` is their sum. */
  perReq: Record<string, number>;
  total: number;
  /** Failed syscalls per response (EAGAIN on non-blocking reads, mostly). */
  errorsPerReq: number;
  error: string | null;
}

/** Why strace cannot run here, or null. */
export function straceMissing(): string | null {
  return findBinary('strace') === null ? 'strace not found (apt-get install -y strace)' : null;
}

/** Parses `strace -c` summary text into calls and errors per syscall (the `total` line is skipped). */
export function parseStraceSummary(text: string): { calls: Record<string, number>; errors: number } {
  const calls: Record<string, number> = {};
  let errors = 0;
  // "% time  seconds  usecs/call  calls  errors  syscall"; errors is blank when zero.
  const re = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?([a-z_0-9]+)\s*$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m === null || m[3] === 'total') continue;
    calls[m[3]!] = (calls[m[3]!] ?? 0) + Number(m[1]);
    errors += Number(m[2] ?? 0);
  }
  return { calls, errors };
}

/** Straces `t` (its first pid) during one `seconds`-long run of `w`. Never throws. */
export async function straceRun(t: Target, w: Workload, seconds: number): Promise<SyscallRow> {
  const row: SyscallRow = { target: t.name, workload: w.name, responses: 0, rps: 0, perReq: {}, total: 0, errorsPerReq: 0, error: null };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fairway-strace-'));
  const file = path.join(dir, 'summary.txt');
  try {
    // Without -q strace says "Process N attached" on stderr per thread: the readiness signal.
    const { child } = await startChild(`strace ${t.name}`, findBinary('strace')!, {
      args: ['-c', '-f', '-o', file, '-p', String(t.pids[0])],
      readyStderr: /Process \d+ attached/,
      timeoutMs: 5000,
    });
    const { result, error } = await runLoad({ url: `${t.url}${w.path}`, connections: w.connections, durationS: seconds, warmupS: 0, timeoutS: 10, pids: [...t.pids], probes: [] });
    await child.stop('SIGINT', 5000);
    if (result === null) {
      row.error = error;
      return row;
    }
    const n = result.ok + result.non2xx;
    row.responses = n;
    row.rps = result.rps;
    const { calls, errors } = parseStraceSummary(readFileSync(file, 'utf8'));
    if (n === 0 || Object.keys(calls).length === 0) {
      row.error = n === 0 ? 'no responses' : 'strace wrote no summary';
      return row;
    }
    for (const [k, v] of Object.entries(calls)) {
      row.perReq[k] = v / n;
      row.total += v / n;
    }
    row.errorsPerReq = errors / n;
  } catch (err) {
    row.error = (err as Error).message.split('\n')[0] ?? 'failed';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}
