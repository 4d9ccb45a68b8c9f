// What the numbers were measured on: cores, CPU model, memory, Node version, commit, date.
// Printed with every report, because on a 2-core box only ratios from one run mean anything.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  node: string;
  commit: string;
  date: string;
  platform: string;
}

function sh(cmd: string, args: string[], cwd: string): string | null {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Describes this machine and the checkout at `repoDir`. */
export function describeMachine(repoDir: string): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m !== null) cpuModel = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  const nproc = Number(sh('nproc', [], repoDir) ?? os.availableParallelism());
  const commit = sh('git', ['rev-parse', '--short', 'HEAD'], repoDir) ?? 'unknown';
  const dirty = (sh('git', ['status', '--porcelain', '--untracked-files=no'], repoDir) ?? '') !== '';
  return {
    nproc,
    cpuModel,
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    commit: dirty ? `${commit} (+uncommitted changes)` : commit,
    date: new Date().toISOString(),
    platform: `${os.platform()} ${os.release()}`,
  };
}
