// CPU time and peak memory of another process, read from Linux /proc (utime+stime ticks from
// /proc/<pid>/stat, VmHWM/VmRSS from /proc/<pid>/status). Returns null where /proc is missing.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks: number | null = null;

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100). */
export function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of `pid` in clock ticks, or null if it cannot be read. */
export function cpuTicks(pid: number): number | null {
  const t = cpuTicksSplit(pid);
  return t === null ? null : t.user + t.sys;
}

/** utime and stime (kernel time: syscalls, page faults) of `pid` in clock ticks, and its minor page faults so far, or null. */
export function cpuTicksSplit(pid: number): { user: number; sys: number; minflt: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); minflt is field 10, utime field 14, stime field 15.
    return { user: Number(rest[11]), sys: Number(rest[12]), minflt: Number(rest[7]) };
  } catch {
    return null;
  }
}


/** Peak resident set (VmHWM) of `pid` in KiB, or null. */
export function peakRssKiB(pid: number): number | null {
  return statusKiB(pid, 'VmHWM');
}

/** Current resident set (VmRSS) of `pid` in KiB, or null. */
export function rssKiB(pid: number): number | null {
  return statusKiB(pid, 'VmRSS');
}

/** A "<field>: N kB" line of /proc/<pid>/status, or null. */
function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * CPU ticks the whole machine spent in processes (user + nice + system) or stolen by the
 * hypervisor (steal), summed over cores, from /proc/stat. Interrupt and softirq time are left
 * out: loopback networking is largely softirq, which no process's utime/stime includes.
 */
export function systemBusyTicks(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return f[0]! + f[1]! + f[2]! + f[7]!;
  } catch {
    return null;
  }
}
