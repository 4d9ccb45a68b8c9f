// The TLS bench's load generators, both C programs so the load costs little of the two cores:
// nghttp2's h2load for requests (HTTP/2, and HTTP/1.1 over TLS with --h1) and `openssl s_time`
// for new connections (full or resumed handshakes). Each run reads the target's CPU time from
// /proc around the measured part only (after h2load's warm-up). Parsing is pure and exported.

import { spawn } from 'node:child_process';
import { clockTicks, cpuTicks } from '../lib/proc-stats.ts';

/** What h2load prints, as numbers. */
export interface H2loadFigures {
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
  readonly status2xx: number;
  /** req/s over the measured part. */
  readonly rps: number;
  /** Mean request time, µs ("time for request" line). */
  readonly meanUs: number | null;
  readonly protocol: string | null;
}

const unitUs: Record<string, number> = { us: 1, ms: 1000, s: 1e6 };

/** Parses h2load's summary; throws when the essential lines are missing. */
export function parseH2load(out: string): H2loadFigures {
  const fin = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx/.exec(out);
  if (fin === null || req === null || codes === null) throw new Error(`no summary in h2load's output (last line: ${out.trim().split('\n').pop() ?? ''})`);
  const t = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b/.exec(out);
  return {
    rps: Number(fin[1]),
    requests: Number(req[1]),
    succeeded: Number(req[2]),
    failed: Number(req[3]),
    errored: Number(req[4]),
    timeout: Number(req[5]),
    status2xx: Number(codes[1]),
    meanUs: t === null ? null : Number(t[1]) * unitUs[t[2]!]!,
    protocol: /Application protocol: (\S+)/.exec(out)?.[1] ?? null,
  };
}

export interface H2loadSpec {
  readonly url: string;
  /** HTTP/1.1 over TLS (`--h1`) instead of h2. */
  readonly h1: boolean;
  readonly clients: number;
  /** Concurrent streams per client (h2); 1 for HTTP/1.1 (no pipelining). */
  readonly streams: number;
  readonly warmupS: number;
  readonly durationS: number;
  /** Processes whose CPU is read around the measured part: the target first. */
  readonly pids: readonly number[];
}

export interface H2loadRun {
  readonly figures: H2loadFigures | null;
  readonly error: string | null;
  /** CPU seconds of each pid over the measured part (null where unreadable). */
  readonly cpuS: readonly (number | null)[];
}

/** Runs h2load once; never rejects (a failure becomes `error`). Bounded by duration + 30 s. */
export function runH2load(spec: H2loadSpec): Promise<H2loadRun> {
  const args = ['-c', String(spec.clients), '-m', String(spec.streams), '-D', String(spec.durationS), '--warm-up-time', String(spec.warmupS), '-t', '1'];
  if (spec.h1) args.push('--h1');
  args.push(`${spec.url}/`);
  return new Promise((resolve) => {
    const proc = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let before: (number | null)[] | null = null;
    const timer = setTimeout(() => proc.kill('SIGKILL'), (spec.warmupS + spec.durationS + 30) * 1000);
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      // Printed when the measured part starts: connections (and their handshakes) are up by then.
      if (before === null && out.includes('Warm-up phase is over')) before = spec.pids.map(cpuTicks);
    });
    proc.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.once('error', (err) => {
      clearTimeout(timer);
      resolve({ figures: null, error: `h2load: ${err.message}`, cpuS: [] });
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      const after = spec.pids.map(cpuTicks);
      const tck = clockTicks();
      const b = before ?? [];
      const cpuS = after.map((a, i) => (a === null || b[i] == null ? null : (a - b[i]!) / tck));
      let figures: H2loadFigures | null = null;
      let error: string | null = null;
      try {
        figures = parseH2load(out);
        if (before === null) error = 'h2load never reported the end of its warm-up';
      } catch (err) {
        error = `h2load ${code === null ? 'killed at its time limit' : `exited ${code}`}: ${(err as Error).message}`;
      }
      resolve({ figures, error, cpuS });
    });
  });
}

/** What `openssl s_time` reports. */
export interface STimeFigures {
  readonly connections: number;
  readonly realS: number;
}

/** Parses s_time's "N connections in T real seconds" line. */
export function parseSTime(out: string): STimeFigures {
  const m = /(\d+) connections in (\d+) real seconds/.exec(out);
  if (m === null) throw new Error(`unexpected s_time output:\n${out.slice(-400)}`);
  return { connections: Number(m[1]), realS: Number(m[2]) };
}

export interface HandshakeRun {
  readonly figures: STimeFigures | null;
  readonly error: string | null;
  /** Target CPU seconds over the run. */
  readonly cpuS: number | null;
}

/**
 * New connections for `seconds`, one at a time (openssl s_time): each a TLS handshake, full
 * (`-new`) or resumed from the previous session (`-reuse`, TLS 1.3 tickets), then `GET /`
 * (HTTP/1.0) and close. `-www` makes s_time read the response, and with it the tickets.
 */
export function runHandshakes(hostPort: string, resumed: boolean, seconds: number, pid: number): Promise<HandshakeRun> {
  return new Promise((resolve) => {
    const before = cpuTicks(pid);
    const proc = spawn('openssl', ['s_time', '-connect', hostPort, resumed ? '-reuse' : '-new', '-time', String(seconds), '-www', '/'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), (seconds + 20) * 1000);
    proc.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.once('error', (err) => {
      clearTimeout(timer);
      resolve({ figures: null, error: `openssl: ${err.message}`, cpuS: null });
    });
    proc.once('close', () => {
      clearTimeout(timer);
      const after = cpuTicks(pid);
      const cpuS = before === null || after === null ? null : (after - before) / clockTicks();
      try {
        resolve({ figures: parseSTime(out), error: null, cpuS });
      } catch (err) {
        resolve({ figures: null, error: (err as Error).message, cpuS });
      }
    });
  });
}
