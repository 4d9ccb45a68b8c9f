// The conn-scale part: per target (fresh process, same 3 upstreams), memory per idle keep-alive
// client connection and what holding them costs the active clients. Per round: 50 clients (A),
// RSS, N idle connections opened by bench/e2e/idle-holder.ts (one GET each, then silent), RSS,
// 50 clients again (B, idle held), idle released; a last A closes the rounds; then 1 000 active
// clients. Each B is compared with the A before and after it (the machine drifts).
// For Node targets a second pass diffs two heap snapshots around M idle connections: what the
// JS heap keeps per socket. Raw rows only; report-floor.ts renders them.

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffPerUnit, type HeapGroup } from '../lib/heapsnapshot.ts';
import { rssKiB } from '../lib/proc-stats.ts';
import { median } from '../lib/stats.ts';
import { startChild, type Child } from '../lib/procs.ts';
import type { LoadResult } from './load-types.ts';
import { peerMissing, startUpstream, type PeerName, type Target, type Upstream } from './targets.ts';
import { isNodeTarget, runLoad, startTarget, type Progress } from './throughput.ts';

const HOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'idle-holder.ts');

/** Targets of the conn-scale part, in run order (fairway-baseline only with --baseline). */
export const CONN_SCALE_TARGETS = ['fairway-round-robin', 'fairway-baseline', 'haproxy', 'nginx', 'undici-dispatch', 'relay'] as const;

export interface ConnScaleSpec {
  /** Idle connections held (HAProxy needs 2 fds per connection: 9 900 fits a 20 000 fd limit). */
  idle: number;
  /** Clients of the req/s runs A, B, A'. */
  clients: number;
  /** Clients of the many-active run. */
  active: number;
  measureS: number;
  /** Hold/release rounds (each one B between two As). */
  rounds: number;
  /** Idle connections between the two heap snapshots (0 = no heap pass). */
  heapIdle: number;
}

/** One closed-loop run, reduced. */
export interface RunFigures {
  rps: number;
  p50Us: number | null;
  p99Us: number | null;
  failed: number;
  cpuUsPerReq: number | null;
}

export interface ConnScaleRow {
  target: string;
  idleOpen: number;
  idleFailed: number;
  /** Idle connections the target closed while held (timeouts would show here). */
  idleClosedByTarget: number | null;
  /** First round: RSS before and with the idle connections held. */
  rssBeforeKiB: number | null;
  rssIdleKiB: number | null;
  /**
   * First round only: (RSS with idle held − RSS before) ÷ idle connections, KiB. Later rounds
   * reuse memory the allocator kept after the first release (RSS rarely shrinks), so they read low.
   */
  perIdleKiB: number | null;
  /** The same for later rounds (for the record: how much of it is reused). */
  perIdleLaterKiB: number[];
  /** Runs without idle connections (rounds + 1) and with them held (rounds). */
  without: RunFigures[];
  withIdle: RunFigures[];
  /** Median over rounds of 1 − B ÷ mean(A before, A after), %. */
  rpsLossPct: number | null;
  activeRun: RunFigures | null;
  /** (highest RSS during the active run − RSS before) ÷ active clients, KiB. */
  perActiveKiB: number | null;
  heap: { idle: number; bytesPerConn: number; rows: HeapGroup[] } | null;
  error: string | null;
}

function figures(r: LoadResult): RunFigures {
  const n = r.ok + r.non2xx;
  const cpu = r.cpuS[0];
  return { rps: r.rps, p50Us: r.latencyUs.p50, p99Us: r.latencyUs.p99, failed: r.non2xx + r.errors, cpuUsPerReq: n > 0 && cpu != null ? (cpu * 1e6) / n : null };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RSS once it stops moving (two reads 300 ms apart within 0.5 %), or the last read after 6 s. */
async function settledRss(pid: number): Promise<number | null> {
  const deadline = Date.now() + 6000;
  let prev = rssKiB(pid);
  while (Date.now() < deadline) {
    await sleep(300);
    const cur = rssKiB(pid);
    if (prev !== null && cur !== null && Math.abs(cur - prev) <= prev * 0.005) return cur;
    prev = cur;
  }
  return prev;
}

/** Runs `fn` while sampling `pid`'s RSS every 200 ms; returns its result and the highest RSS seen. */
async function withRssPeak<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; peakKiB: number | null }> {
  let peak: number | null = null;
  const timer = setInterval(() => {
    const r = rssKiB(pid);
    if (r !== null && (peak === null || r > peak)) peak = r;
  }, 200);
  try {
    return { value: await fn(), peakKiB: peak };
  } finally {
    clearInterval(timer);
  }
}

async function closedLoop(t: Target, connections: number, measureS: number, warmupS: number): Promise<RunFigures> {
  const { result, error } = await runLoad({ url: `${t.url}/`, connections, durationS: measureS, warmupS, timeoutS: 10, pids: [t.pids[0]!], probes: [] });
  if (result === null) throw new Error(`load with ${connections} clients failed: ${error}`);
  return figures(result);
}

/** Starts the holder with `count` idle connections to `url`; resolves once all are idle. */
async function holdIdle(url: string, count: number): Promise<{ child: Child; open: number; failed: number }> {
  const { child, match } = await startChild('idle-holder', process.execPath, {
    args: [HOLDER, '--url', `${url}/`, '--count', String(count)],
    ready: /^(\{"open".*\})$/m,
    timeoutMs: 120_000,
  });
  const r = JSON.parse(match) as { open: number; failed: number };
  return { child, open: r.open, failed: r.failed };
}

/** How many held connections the target has closed so far (the holder answers SIGUSR2). */
async function closedByTarget(holder: Child): Promise<number | null> {
  const before = holder.tail().length;
  holder.proc.kill('SIGUSR2');
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const m = /\{"closedByPeer":(\d+)\}\s*$/.exec(holder.tail().slice(Math.max(0, before - 40)));
    if (m !== null) return Number(m[1]);
    await sleep(50);
  }
  return null;
}

/** Why `name` cannot run here, or null. */
export function connScaleMissing(name: string): string | null {
  return name.startsWith('fairway-') ? null : peerMissing(name as PeerName);
}

/** One target through the whole sequence. Never throws: a failure is the row's `error`. */
async function measureTarget(name: string, ups: readonly Upstream[], spec: ConnScaleSpec, tmpDir: string, baselineDir: string | undefined): Promise<ConnScaleRow> {
  const row: ConnScaleRow = {
    target: name, idleOpen: 0, idleFailed: 0, idleClosedByTarget: null, rssBeforeKiB: null, rssIdleKiB: null, perIdleKiB: null, perIdleLaterKiB: [],
    without: [], withIdle: [], rpsLossPct: null, activeRun: null, perActiveKiB: null, heap: null, error: null,
  };
  let t: Target | null = null;
  let holder: Child | null = null;
  try {
    // HAProxy's maxconn counts client connections (it needs 2 fds each: see ConnScaleSpec.idle);
    // nginx's worker_connections also counts upstream ones, and when they run out nginx closes
    // idle keep-alive clients to make room, so it gets headroom.
    const maxConns = name === 'nginx' ? spec.idle + Math.max(spec.clients, spec.active) + 1000 : Math.max(spec.idle + spec.clients, spec.active) + 40;
    t = await startTarget(name, ups, tmpDir, { maxConns, ...(baselineDir === undefined ? {} : { baselineDir }) });
    const pid = t.pids[0]!;
    const perIdle: number[] = [];
    for (let round = 0; round < spec.rounds; round++) {
      row.without.push(await closedLoop(t, spec.clients, spec.measureS, round === 0 ? 1 : 0.5));
      const rss0 = await settledRss(pid);
      const held = await holdIdle(t.url, spec.idle);
      holder = held.child;
      const rss1 = await settledRss(pid);
      if (round === 0) {
        row.idleOpen = held.open;
        row.idleFailed = held.failed;
        row.rssBeforeKiB = rss0;
        row.rssIdleKiB = rss1;
      }
      if (rss0 !== null && rss1 !== null && held.open > 0) perIdle.push((rss1 - rss0) / held.open);
      row.withIdle.push(await closedLoop(t, spec.clients, spec.measureS, 0.5));
      row.idleClosedByTarget = (row.idleClosedByTarget ?? 0) + ((await closedByTarget(holder)) ?? 0);
      await holder.stop();
      holder = null;
    }
    row.without.push(await closedLoop(t, spec.clients, spec.measureS, 0.5));
    row.perIdleKiB = perIdle[0] ?? null;
    row.perIdleLaterKiB = perIdle.slice(1);
    row.rpsLossPct = median(row.withIdle.map((b, i) => (1 - b.rps / ((row.without[i]!.rps + row.without[i + 1]!.rps) / 2)) * 100));
    const rssActive0 = await settledRss(pid);
    const active = await withRssPeak(pid, () => closedLoop(t!, spec.active, spec.measureS, 1));
    row.activeRun = active.value;
    if (rssActive0 !== null && active.peakKiB !== null) row.perActiveKiB = (active.peakKiB - rssActive0) / spec.active;
  } catch (err) {
    row.error = (err as Error).message.split('\n')[0] ?? 'failed';
  } finally {
    await holder?.stop();
    await t?.stop();
  }
  if (row.error === null && spec.heapIdle > 0 && isNodeTarget(name)) row.heap = await heapPass(name, ups, spec, tmpDir, baselineDir);
  return row;
}

/** Waits for a new, complete .heapsnapshot in `dir` after SIGUSR2 to `pid`. */
async function snapshot(pid: number, dir: string): Promise<string> {
  const known = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  let last = -1;
  let stable = 0;
  while (Date.now() < deadline) {
    await sleep(300);
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !known.has(x));
    if (f === undefined) continue;
    const size = statSync(path.join(dir, f)).size;
    stable = size > 0 && size === last ? stable + 1 : 0;
    last = size;
    if (stable >= 3) return path.join(dir, f);
  }
  throw new Error('no heap snapshot written within 120 s');
}

/** Heap snapshots before and after `spec.heapIdle` idle connections, diffed per connection. */
async function heapPass(name: string, ups: readonly Upstream[], spec: ConnScaleSpec, tmpDir: string, baselineDir: string | undefined): Promise<ConnScaleRow['heap']> {
  const dir = mkdtempSync(path.join(tmpDir, `heap-${name}-`));
  let t: Target | null = null;
  let holder: Child | null = null;
  try {
    t = await startTarget(name, ups, tmpDir, { nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`], ...(baselineDir === undefined ? {} : { baselineDir }) });
    await closedLoop(t, spec.clients, 1, 0.5);
    const before = await snapshot(t.pids[0]!, dir);
    const held = await holdIdle(t.url, spec.heapIdle);
    holder = held.child;
    // Let per-request garbage that is only freed lazily (undici's fast-timer list is swept every
    // 0.5 s) go, so the diff is what the idle sockets keep.
    await sleep(1500);
    const after = await snapshot(t.pids[0]!, dir);
    const d = diffPerUnit(before, after, held.open, 20);
    return { idle: held.open, bytesPerConn: d.bytesPerUnit, rows: d.rows };
  } catch {
    return null;
  } finally {
    await holder?.stop();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The conn-scale part over `names` (missing peers skipped with a reason). */
export async function runConnScale(
  names: readonly string[],
  spec: ConnScaleSpec,
  tmpDir: string,
  progress: Progress,
  step: () => string,
  baselineDir?: string,
): Promise<{ rows: ConnScaleRow[]; skipped: { target: string; reason: string }[] }> {
  const rows: ConnScaleRow[] = [];
  const skipped: { target: string; reason: string }[] = [];
  const ups: Upstream[] = [];
  try {
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(n));
    for (const name of names) {
      const missing = connScaleMissing(name);
      if (missing !== null) {
        skipped.push({ target: name, reason: missing });
        progress(`${step()} conn-scale skip ${name}: ${missing}`);
        continue;
      }
      const r = await measureTarget(name, ups, spec, tmpDir, baselineDir);
      rows.push(r);
      progress(
        `${step()} conn-scale ${name.padEnd(20)} ${r.error !== null ? `FAILED ${r.error}` : `${r.idleOpen} idle: ${r.perIdleKiB?.toFixed(2) ?? '–'} KiB/conn, req/s ${r.without.map((x) => Math.round(x.rps)).join('/')} without, ${r.withIdle.map((x) => Math.round(x.rps)).join('/')} with (loss ${r.rpsLossPct?.toFixed(1) ?? '–'} %); ${spec.active} active: p99 ${((r.activeRun?.p99Us ?? 0) / 1000).toFixed(1)} ms${r.heap === null ? '' : `; heap ${(r.heap.bytesPerConn / 1024).toFixed(2)} KiB/conn`}`}`,
      );
    }
  } finally {
    await Promise.all(ups.map((u) => u.child.stop()));
  }
  return { rows, skipped };
}
