// Report sections of the floor passes: where each target's CPU goes (user vs kernel time from
// /proc, syscalls per request from strace, kinds of work from each Node process's CPU profile)
// and the conn-scale part (memory per idle connection, req/s lost while they are held, 1 000
// active clients), with the targets they are held to. Pure: Markdown text from raw rows.

import { fix, int, median, ratio, usAsMs } from '../lib/stats.ts';
import type { ConnScaleRow } from './conn-scale.ts';
import type { ProfileResult } from './profile.ts';
import type { SyscallRow } from './syscalls.ts';
import { KIND } from '../lib/cpuprofile.ts';
import type { Sample } from './throughput.ts';

/** The workload the profiles run (profile.ts: 13 B, 50 connections). */
const PROFILED_WORKLOAD = '13 B × 50 conns';

/** A line of the report's targets table. */
export interface FloorCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

/** Median over repeats of a/b, where a and b come from the same repeat (measured close in time). */
export function pairedRatio(samples: readonly Sample[], target: string, base: string, workload: string, f: (s: Sample) => number | null): number | null {
  const ratios: number[] = [];
  for (const s of samples) {
    if (s.target !== target || s.workload !== workload) continue;
    const b = samples.find((x) => x.target === base && x.workload === workload && x.repeat === s.repeat);
    if (b === undefined) continue;
    const va = f(s);
    const vb = f(b);
    if (va !== null && vb !== null && vb > 0) ratios.push(va / vb);
  }
  return median(ratios);
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? ':--' : '--:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Median user and kernel µs/req of `target` on `workload` from the matrix. */
function cpuSplit(samples: readonly Sample[], target: string, workload: string): { cpu: number | null; sys: number | null; faults: number | null } {
  const ss = samples.filter((s) => s.target === target && s.workload === workload && s.result !== null);
  return { cpu: median(ss.map((s) => s.cpuUsPerReq)), sys: median(ss.map((s) => s.sysCpuUsPerReq)), faults: median(ss.map((s) => s.faultsPerReq ?? null)) };
}

/** User/kernel split per target and workload, and syscalls per request from strace. */
export function cpuWhereSection(samples: readonly Sample[], syscalls: readonly SyscallRow[]): string {
  const out: string[] = [];
  const workloads = [...new Set(samples.map((s) => s.workload))];
  const targets = [...new Set(samples.map((s) => s.target))].filter((t) => t !== 'direct');
  if (targets.length === 0) return '';
  out.push('## Where the CPU goes: user vs kernel, syscalls per request', '');
  out.push(
    'From the measured matrix (medians): the target process\'s utime and stime per response from /proc. Kernel time is syscalls (on loopback a send also runs much of the receiver\'s TCP path) and page faults (minor faults per request: fresh pages, e.g. a GC semi-space being re-touched); softirq time is in neither. "× relay" compares with the node:net + llhttp relay in the same run.',
    '',
  );
  const body: string[][] = [];
  for (const w of workloads) {
    const relay = cpuSplit(samples, 'relay', w).cpu;
    for (const t of targets) {
      const { cpu, sys, faults } = cpuSplit(samples, t, w);
      if (cpu === null) continue;
      body.push([w, t, fix(cpu), fix(cpu - (sys ?? 0)), fix(sys), sys === null ? '–' : `${((sys / cpu) * 100).toFixed(0)} %`, fix(faults, 2), relay === null ? '–' : ratio(cpu / relay)]);
    }
  }
  out.push(table(['workload', 'target', 'CPU µs/req', 'user µs/req', 'kernel µs/req', 'kernel share', 'minor faults/req', '× relay'], body), '');
  if (syscalls.length > 0) {
    // Columns: every syscall that reaches 0.05 per request for some target, most frequent first.
    const sums = new Map<string, number>();
    for (const r of syscalls) for (const [k, v] of Object.entries(r.perReq)) sums.set(k, (sums.get(k) ?? 0) + v);
    const cols = [...sums].filter(([k]) => syscalls.some((r) => (r.perReq[k] ?? 0) >= 0.05)).sort((a, b) => b[1] - a[1]).map(([k]) => k);
    out.push('### Syscalls per request (strace -c -f, all threads)', '');
    out.push(
      'Counted in a separate run after the matrix, with `strace -c -f -p PID` attached to the running target; ptrace slows the target several-fold, so "req/s under strace" is not a measurement, and batching per event-loop turn rises when a process is slowed (counts may read a little low). Per response; "failed" is mostly EAGAIN on reads that found nothing.',
      '',
    );
    const rows = syscalls.map((r) => [
      r.workload,
      r.target,
      r.error === null ? fix(r.total, 2) : `failed: ${r.error}`,
      fix(r.errorsPerReq, 2),
      int(r.rps),
      ...cols.map((c) => (r.error === null ? fix(r.perReq[c] ?? 0, 2) : '–')),
    ]);
    out.push(table(['workload', 'target', 'syscalls/req', 'failed/req', 'req/s under strace', ...cols], rows), '');
  }
  return out.join('\n');
}

/** Kinds of work per Node process (profile shares), and µs/req estimated from the matrix's user time. */
export function nodeProfilesSection(profiles: readonly ProfileResult[], samples: readonly Sample[]): string {
  const ok = profiles.filter((p) => p.summary !== null);
  const failed = profiles.filter((p) => p.summary === null);
  if (profiles.length === 0) return '';
  const out: string[] = ['## Where the CPU goes: kinds of work per Node process (CPU profiles, 13 B × 50 conns)', ''];
  out.push(
    'Each Node target run alone with `--cpu-prof` under 13 B × 50 load; only the samples of the measured run count (start-up and warm-up cut off). Shares are of the main thread\'s busy samples. V8 samples wall time: a thread descheduled inside a syscall (likely on 2 shared cores) is counted as socket syscalls, so that share overstates kernel CPU; and on a busy 2-core machine a loopback write often wakes its peer, which then preempts the writer, so the thread waits for a CPU "inside" the write. That share is therefore mostly waiting, not CPU. "µs/req" therefore takes the socket row from /proc (the kernel µs/req above) and splits the matrix\'s *user* µs/req (13 B × 50) over the other kinds in proportion to their shares: an estimate (the user-space part of the write calls, such as encoding a header string, is spread over the rest).',
    '',
  );
  const kinds = [...new Set(ok.flatMap((p) => p.summary!.byKind.map((k) => k.name)))];
  const totals = new Map<string, number>();
  for (const p of ok) for (const k of p.summary!.byKind) totals.set(k.name, (totals.get(k.name) ?? 0) + k.pct);
  kinds.sort((a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0));
  const head = ['kind of work', ...ok.flatMap((p) => [`${p.target} %`, `${p.target} µs/req`])];
  const rows = kinds.map((k) => [
    k,
    ...ok.flatMap((p) => {
      const sm = p.summary!;
      const pct = sm.byKind.find((x) => x.name === k)?.pct ?? 0;
      const socket = sm.byKind.find((x) => x.name === KIND.socketIo)?.pct ?? 0;
      const { cpu, sys } = cpuSplit(samples, p.target, PROFILED_WORKLOAD);
      const user = cpu === null || sys === null ? null : cpu - sys;
      const est = k === KIND.socketIo ? sys : user === null || socket >= 100 ? null : (user * pct) / (100 - socket);
      return [fix(pct), fix(est)];
    }),
  ]);
  out.push(table(head, rows), '');
  for (const p of ok) {
    out.push(`- ${p.target}: ${fix(p.cpuUsPerReq)} µs/req while profiled; ${fix(p.summary!.busyMs, 0)} ms busy of ${fix(p.summary!.windowMs, 0)} ms measured; top self time: ${p.summary!.top.slice(0, 6).map((f) => `\`${f.name}\` ${fix(f.pct)} %`).join(', ')}; profile \`${p.file}\``);
  }
  for (const p of failed) out.push(`- ${p.target}: profile failed: ${p.error}`);
  return `${out.join('\n')}\n`;
}

/** The conn-scale tables. */
export function connScaleSection(rows: readonly ConnScaleRow[], skipped: readonly { target: string; reason: string }[], spec: { idle: number; clients: number; active: number; measureS: number; rounds: number }): string {
  if (rows.length === 0 && skipped.length === 0) return '';
  const hap = rows.find((r) => r.target === 'haproxy');
  const out: string[] = ['## Connection scale: idle keep-alive connections and many active clients', ''];
  out.push(
    `Per target, a fresh process; ${spec.rounds} round(s) of: ${spec.clients} clients closed-loop for ${spec.measureS} s (A), ${spec.idle} idle keep-alive connections opened by a separate process (one GET each, then silent), RSS once it settles, ${spec.clients} clients again (B, idle held), idle released; a last A; then ${spec.active} active clients for ${spec.measureS} s. KiB/idle conn = (RSS with idle − RSS before) ÷ idle connections in the first round, on a fresh process (later rounds reuse memory the allocator kept, and read low: "later rounds"); req/s lost = 1 − B ÷ mean(A before, A after) (median over rounds). HAProxy needs two fds per connection and the hard open-files limit here is 20 000, so ${spec.idle} idle + ${spec.clients} active is what fits it (maxconn ${spec.idle + spec.clients + 40}); nginx gets worker_connections ${spec.idle + Math.max(spec.clients, spec.active) + 1000} (they count its upstream connections too, and when they run out nginx closes idle clients; it preallocates a few hundred bytes per slot at start, which is in "RSS before"). "closed by target" counts held connections the target closed while they were held.`,
    '',
  );
  const body = rows.map((r) => [
    r.target,
    r.error !== null ? `failed: ${r.error}` : `${r.idleOpen}${r.idleFailed > 0 ? ` (${r.idleFailed} failed)` : ''}`,
    r.idleClosedByTarget === null ? '–' : String(r.idleClosedByTarget),
    fix(r.rssBeforeKiB === null ? null : r.rssBeforeKiB / 1024),
    fix(r.rssIdleKiB === null ? null : r.rssIdleKiB / 1024),
    fix(r.perIdleKiB, 2),
    (r.perIdleLaterKiB ?? []).map((x) => fix(x, 2)).join(' / ') || '–',
    hap?.perIdleKiB == null || r.perIdleKiB === null ? '–' : ratio(r.perIdleKiB / hap.perIdleKiB),
    r.without.map((x) => int(x.rps)).join(' / '),
    r.withIdle.map((x) => int(x.rps)).join(' / '),
    r.rpsLossPct === null ? '–' : `${r.rpsLossPct.toFixed(1)} %`,
    int(r.activeRun?.rps ?? null),
    usAsMs(r.activeRun?.p50Us ?? null),
    usAsMs(r.activeRun?.p99Us ?? null),
    String(r.activeRun?.failed ?? '–'),
    fix(r.perActiveKiB, 1),
  ]);
  out.push(
    table(['target', 'idle conns', 'closed by target', 'RSS before MiB', 'RSS idle MiB', 'KiB/idle conn', 'later rounds', '× HAProxy', `req/s A (${spec.clients})`, 'req/s B (idle held)', 'req/s lost', `req/s ${spec.active} active`, 'p50 ms', 'p99 ms', 'failed', 'KiB/active conn'], body),
    '',
  );
  for (const s of skipped) out.push(`- skipped ${s.target}: ${s.reason}`);
  for (const r of rows) {
    if (r.heap === null) continue;
    out.push(
      '',
      `### What ${r.target} keeps per idle connection (JS heap, ${r.heap.idle} idle connections between two heap snapshots)`,
      '',
      `${fix(r.heap.bytesPerConn / 1024, 2)} KiB of JS heap per idle connection${r.perIdleKiB === null ? '' : ` of ${fix(r.perIdleKiB, 2)} KiB RSS (the rest is native: kernel socket buffers are not in RSS; libuv handles, malloc'd parser state, V8 pages not yet reused)`}. Per connection, by constructor or V8 type (self sizes):`,
      '',
      table(['constructor / type', 'objects per conn', 'bytes per conn'], r.heap.rows.map((g) => [`\`${g.name}\``, fix(g.count, 2), fix(g.bytes, 0)])),
    );
  }
  return `${out.join('\n')}\n`;
}

/** Targets from the issue: idle memory ≤ 2× HAProxy's per connection, ≤ 3 % req/s lost while idle are held. */
export function connScaleChecks(rows: readonly ConnScaleRow[]): FloorCheck[] {
  const fw = rows.find((r) => r.target === 'fairway-round-robin');
  const hap = rows.find((r) => r.target === 'haproxy');
  if (fw === undefined) return [];
  const mem: FloorCheck =
    fw.perIdleKiB === null || hap?.perIdleKiB == null
      ? { target: 'Fairway memory per idle connection ≤ 2× HAProxy\'s', measured: 'not measured (Fairway or HAProxy missing)', met: null }
      : {
          target: 'Fairway memory per idle connection ≤ 2× HAProxy\'s',
          measured: `${fix(fw.perIdleKiB, 2)} KiB vs ${fix(hap.perIdleKiB, 2)} KiB = ${ratio(fw.perIdleKiB / hap.perIdleKiB)} (${fw.idleOpen} idle)`,
          met: fw.perIdleKiB <= 2 * hap.perIdleKiB,
        };
  const loss: FloorCheck = {
    target: 'Fairway loses ≤ 3 % req/s while the idle connections are held',
    measured: fw.rpsLossPct === null ? 'not measured' : `${fw.rpsLossPct.toFixed(1)} % (${fw.idleOpen} idle; HAProxy ${hap?.rpsLossPct?.toFixed(1) ?? '–'} %)`,
    met: fw.rpsLossPct === null ? null : fw.rpsLossPct <= 3,
  };
  return [mem, loss];
}

/** --variant rows: each variant against its base, paired per repeat. Empty when there are none. */
export function variantsSection(samples: readonly Sample[]): string {
  const variants = [...new Set(samples.map((s) => s.target))].filter((t) => t.includes('+'));
  if (variants.length === 0) return '';
  const cpu = (s: Sample): number | null => s.cpuUsPerReq;
  const rps = (s: Sample): number | null => s.result?.rps ?? null;
  const body: string[][] = [];
  for (const w of [...new Set(samples.map((s) => s.workload))]) {
    for (const v of variants) {
      const base = v.slice(0, v.indexOf('+'));
      const vc = cpuSplit(samples, v, w).cpu;
      const bc = cpuSplit(samples, base, w).cpu;
      if (vc === null || bc === null) continue;
      const r = pairedRatio(samples, v, base, w, cpu);
      body.push([w, v, fix(bc), fix(vc), ratio(r), r === null ? '–' : `${((r - 1) * 100).toFixed(1)} %`, ratio(pairedRatio(samples, v, base, w, rps))]);
    }
  }
  return [
    '## Variants: one change at a time against its base',
    '',
    'Each `--variant` runs right after its base in every repeat; ratios are medians of per-repeat ratios (variant ÷ base). A CPU delta smaller than the spread between repeats of the base (see its min–max req/s) is noise.',
    '',
    table(['workload', 'variant', 'base CPU µs/req', 'variant CPU µs/req', 'CPU × base', 'CPU Δ', 'req/s × base'], body),
  ].join('\n');
}
