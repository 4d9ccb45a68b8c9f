// Runs the balancer micro benches (bench/micro/*.ts, owned by the balancer code) as child
// processes with a timeout and keeps their output verbatim; a missing script is reported and
// skipped. Also reads the per-request nanoseconds back out of that output for the targets table.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from './procs.ts';

const MICRO_DIR = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'micro');

export interface MicroRun {
  script: string;
  args: string[];
  /** 'ok' | 'missing' | 'failed' | 'timeout' */
  status: 'ok' | 'missing' | 'failed' | 'timeout';
  wallS: number;
  output: string;
}

/** Runs bench/micro/<script> with process.execPath; never throws. */
export async function runMicro(script: string, args: string[], timeoutMs: number): Promise<MicroRun> {
  const file = path.join(MICRO_DIR, script);
  if (!existsSync(file)) return { script, args, status: 'missing', wallS: 0, output: `bench/micro/${script} does not exist (yet): skipped` };
  const t0 = performance.now();
  const r = await runToEnd(process.execPath, [file, ...args], { timeoutMs, cwd: path.dirname(path.dirname(MICRO_DIR)) });
  const wallS = (performance.now() - t0) / 1000;
  const status = r.timedOut ? 'timeout' : r.code === 0 ? 'ok' : 'failed';
  let output = r.stdout.trimEnd();
  if (status !== 'ok') output += `\n[${status}${r.timedOut ? ` after ${timeoutMs / 1000} s` : `, exit ${r.code ?? r.signal}`}]\n${r.stderr.trimEnd()}`;
  return { script, args, status, wallS, output };
}

/** Worst per-request time of each balancer across sizes and weightings, in ns. */
export interface PickFigure {
  balancer: string;
  worstNs: number;
  /** Which column: pick.bench's p50, or pick-alloc's mean. */
  source: string;
  cells: number;
}

const BALANCER_ROW = /^(round-robin|random|least-connections|ewma|consistent-hash)\s/;

/** Worst p50 per balancer over the rows of one pick.bench table (cells "8.6 ns (12.2 ns)"). */
function worstCells(lines: readonly string[], source: string): PickFigure[] {
  const worst = new Map<string, { ns: number; cells: number }>();
  for (const line of lines) {
    const m = BALANCER_ROW.exec(line);
    if (m === null) continue;
    for (const c of line.matchAll(/([\d.]+) (ns|µs) \(/g)) {
      const ns = Number(c[1]) * (c[2] === 'µs' ? 1000 : 1);
      const w = worst.get(m[1]!) ?? { ns: 0, cells: 0 };
      worst.set(m[1]!, { ns: Math.max(w.ns, ns), cells: w.cells + 1 });
    }
  }
  return [...worst].map(([balancer, w]) => ({ balancer, worstNs: w.ns, cells: w.cells, source }));
}

/**
 * Reads pick.bench.ts's "pick() alone" table (cells "8.6 ns (12.2 ns)": p50, then mean), else its
 * first table (pick + onStart + onFinish), or, failing that,
 * pick-alloc.ts's ns/request column. Returns [] if neither format is recognised.
 */
export function parsePickFigures(runs: readonly MicroRun[]): PickFigure[] {
  const bench = runs.find((r) => r.script === 'pick.bench.ts' && r.status === 'ok');
  if (bench !== undefined) {
    // The target is about pick() alone: read that table when the bench prints one.
    const lines = bench.output.split('\n');
    const aloneAt = lines.findIndex((l) => /^pick\(\) alone, per call/.test(l));
    if (aloneAt !== -1) {
      const alone = worstCells(lines.slice(aloneAt + 1), 'pick.bench.ts p50, pick() alone');
      if (alone.length > 0) return alone;
    }
    // Only the first table (per-request cost); the update() table below reuses balancer names.
    const updateAt = lines.findIndex((l) => /update\(\)/.test(l));
    const combined = worstCells(updateAt === -1 ? lines : lines.slice(0, updateAt), 'pick.bench.ts p50, pick + onStart + onFinish');
    if (combined.length > 0) return combined;
  }
  const alloc = runs.find((r) => r.script === 'pick-alloc.ts' && r.status === 'ok');
  if (alloc !== undefined) {
    const worst = new Map<string, { ns: number; cells: number }>();
    for (const line of alloc.output.split('\n')) {
      const m = BALANCER_ROW.exec(line);
      if (m === null) continue;
      // balancer size minor major heapΔ ns/request | minor major
      const cols = line.split('|')[0]!.trim().split(/\s+/);
      const ns = Number(cols[5]);
      if (!Number.isFinite(ns)) continue;
      const w = worst.get(m[1]!) ?? { ns: 0, cells: 0 };
      worst.set(m[1]!, { ns: Math.max(w.ns, ns), cells: w.cells + 1 });
    }
    return [...worst].map(([balancer, w]) => ({ balancer, worstNs: w.ns, cells: w.cells, source: 'pick-alloc.ts mean, pick + onStart + onFinish' }));
  }
  return [];
}
