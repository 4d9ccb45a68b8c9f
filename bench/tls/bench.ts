// The TLS/HTTP/2 part of `npm run bench`: Fairway's TLS listener against HAProxy and nginx with
// TLS and the bare Node floors, in one run: requests per second and CPU µs per request over
// HTTPS/1.1 and HTTP/2 (h2load), and CPU per new connection with a full and a resumed handshake
// (openssl s_time). Runs are interleaved (every target on every workload, per repeat) and CPU
// ratios are taken against HAProxy in the same repeat. Rendering is report.ts.

import { findBinary, startUpstream, type Target, type Upstream } from '../e2e/targets.ts';
import { median } from '../lib/stats.ts';
import { runH2load, runHandshakes } from './load.ts';
import { makeBenchCert } from './pki.ts';
import { TLS_TARGETS, servesProtocol, startTlsTarget, tlsTargetMissing, type TlsTargetName } from './targets.ts';

export interface TlsWorkload {
  readonly name: string;
  readonly protocol: 'h1' | 'h2';
  readonly clients: number;
  readonly streams: number;
}

/** The issue's reference load: 50 connections; HTTP/2 with 10 concurrent streams each (h2load -c50 -m10). */
export const TLS_WORKLOADS: readonly TlsWorkload[] = [
  { name: 'HTTPS/1.1, 50 conns', protocol: 'h1', clients: 50, streams: 1 },
  { name: 'HTTP/2, 50 conns × 10 streams', protocol: 'h2', clients: 50, streams: 10 },
];

export interface TlsBenchSettings {
  readonly repeats: number;
  /** h2load warm-up before a target's first run of a workload (Node's JIT needs it), then before later repeats. */
  readonly warmupFirstS: number;
  readonly warmupS: number;
  readonly measureS: number;
  /** Seconds of new connections per target and handshake kind. */
  readonly handshakeS: number;
  /** Targets to run (default all); HAProxy is always added as the baseline when available. */
  readonly targets?: readonly TlsTargetName[];
}

export interface TlsSample {
  readonly target: string;
  readonly workload: string;
  readonly repeat: number;
  readonly rps: number | null;
  readonly ok: number;
  readonly failed: number;
  readonly cpuUsPerReq: number | null;
  /** Target CPU as % of one core over the measured part. */
  readonly cpuPct: number | null;
  /** The three upstreams' CPU per request, µs. */
  readonly upstreamCpuUsPerReq: number | null;
  readonly error: string | null;
}

export interface HandshakeSample {
  readonly target: string;
  readonly kind: 'full' | 'resumed';
  readonly repeat: number;
  readonly connections: number | null;
  readonly cpuUsPerConnection: number | null;
  readonly error: string | null;
}

export interface TlsBenchResult {
  readonly settings: TlsBenchSettings;
  readonly samples: TlsSample[];
  readonly handshakes: HandshakeSample[];
  readonly skipped: { target: string; reason: string }[];
  /** Why the whole part did not run (h2load or openssl missing), or null. */
  readonly notRun: string | null;
}

/** Load runs the part makes (for progress and estimates). */
export function countTlsRuns(s: TlsBenchSettings): number {
  const targets = s.targets ?? TLS_TARGETS;
  let runs = 0;
  for (const w of TLS_WORKLOADS) runs += targets.filter((t) => servesProtocol(t, w.protocol)).length;
  return s.repeats * runs + targets.filter((t) => t !== 'undici-h2').length * 2;
}

/** Rough wall time, seconds. */
export function estimateTlsS(s: TlsBenchSettings): number {
  const targets = s.targets ?? TLS_TARGETS;
  const runs = targets.length * 2 - 1;
  return 5 + runs * (s.warmupFirstS - s.warmupS) + s.repeats * runs * (s.warmupS + s.measureS + 0.5) + (targets.length - 1) * 2 * (s.handshakeS + 0.5);
}

/** Runs the part; never throws for a peer that cannot start (it is skipped with the reason). */
export async function runTlsBench(s: TlsBenchSettings, tmpDir: string, progress: (line: string) => void, step: () => string): Promise<TlsBenchResult> {
  const result: TlsBenchResult = { settings: s, samples: [], handshakes: [], skipped: [], notRun: null };
  if (findBinary('h2load') === null) return { ...result, notRun: 'h2load not found (apt-get install -y nghttp2-client)' };
  if (findBinary('openssl') === null) return { ...result, notRun: 'openssl not found' };
  const wanted = s.targets === undefined ? [...TLS_TARGETS] : TLS_TARGETS.filter((t) => t === 'haproxy' || s.targets!.includes(t));
  const ups: Upstream[] = [];
  const targets: Target[] = [];
  try {
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(n));
    const cert = await makeBenchCert(tmpDir);
    for (const name of wanted) {
      const missing = tlsTargetMissing(name);
      if (missing !== null) {
        result.skipped.push({ target: name, reason: missing });
        progress(`${step()} tls skip ${name}: ${missing}`);
        continue;
      }
      try {
        targets.push(await startTlsTarget(name, ups, cert, tmpDir));
      } catch (err) {
        const reason = `failed to start: ${(err as Error).message.split('\n').slice(0, 3).join(' | ')}`;
        result.skipped.push({ target: name, reason });
        progress(`${step()} tls skip ${name}: ${reason}`);
      }
    }
    const upPids = ups.map((u) => u.child.pid);
    for (let repeat = 1; repeat <= s.repeats; repeat++) {
      for (const w of TLS_WORKLOADS) {
        for (const t of targets) {
          if (!servesProtocol(t.name as TlsTargetName, w.protocol)) continue;
          const warmupS = repeat === 1 ? s.warmupFirstS : s.warmupS;
          const run = await runH2load({ url: t.url, h1: w.protocol === 'h1', clients: w.clients, streams: w.streams, warmupS, durationS: s.measureS, pids: [t.pids[0]!, ...upPids] });
          // A run without a single 2xx (a target that stalled) is a failed run, not 0 req/s.
          const f = run.figures !== null && run.figures.status2xx > 0 ? run.figures : null;
          const ok = f?.status2xx ?? 0;
          const own = run.cpuS[0] ?? null;
          const upCpu = run.cpuS.slice(1).every((c) => c !== null) ? run.cpuS.slice(1).reduce<number>((a, c) => a + (c ?? 0), 0) : null;
          const sample: TlsSample = {
            target: t.name,
            workload: w.name,
            repeat,
            rps: f?.rps ?? null,
            ok,
            failed: f === null ? 0 : f.requests - f.status2xx,
            cpuUsPerReq: own !== null && ok > 0 ? (own * 1e6) / ok : null,
            cpuPct: own !== null ? (own / s.measureS) * 100 : null,
            upstreamCpuUsPerReq: upCpu !== null && ok > 0 ? (upCpu * 1e6) / ok : null,
            error: run.error ?? (f === null ? 'no 2xx response in the measured part' : null),
          };
          result.samples.push(sample);
          progress(`${step()} tls ${w.name} r${repeat}/${s.repeats} ${t.name.padEnd(16)} ${describe(sample)}`);
        }
      }
    }
    for (const t of targets) {
      if (t.name === 'undici-h2') continue;
      const hostPort = new URL(t.url).host;
      for (const kind of ['full', 'resumed'] as const) {
        const run = await runHandshakes(hostPort, kind === 'resumed', s.handshakeS, t.pids[0]!);
        const n = run.figures?.connections ?? null;
        const hs: HandshakeSample = {
          target: t.name,
          kind,
          repeat: 1,
          connections: n,
          cpuUsPerConnection: run.cpuS !== null && n !== null && n > 0 ? (run.cpuS * 1e6) / n : null,
          error: run.error,
        };
        result.handshakes.push(hs);
        progress(`${step()} tls handshakes ${kind.padEnd(7)} ${t.name.padEnd(16)} ${n ?? '–'} connections, CPU ${hs.cpuUsPerConnection?.toFixed(0) ?? '–'} µs/connection${hs.error === null ? '' : ` (${hs.error})`}`);
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
    await Promise.all(ups.map((u) => u.child.stop()));
  }
  return result;
}

function describe(s: TlsSample): string {
  if (s.rps === null) return `FAILED ${s.error ?? ''}`;
  return `${Math.round(s.rps).toLocaleString('en-US').padStart(7)} req/s  CPU ${s.cpuUsPerReq?.toFixed(1) ?? '–'} µs/req (${s.cpuPct?.toFixed(0) ?? '–'}%)${s.failed > 0 ? `  ${s.failed} failed` : ''}${s.error === null ? '' : `  (${s.error})`}`;
}

/** Median over repeats of target/HAProxy for `f`, paired by repeat. */
export function ratioToHaproxy(samples: readonly TlsSample[], target: string, workload: string, f: (s: TlsSample) => number | null): number | null {
  const ratios: number[] = [];
  for (const s of samples) {
    if (s.target !== target || s.workload !== workload) continue;
    const b = samples.find((x) => x.target === 'haproxy' && x.workload === workload && x.repeat === s.repeat);
    const va = f(s);
    const vb = b === undefined ? null : f(b);
    if (va !== null && vb !== null && vb > 0) ratios.push(va / vb);
  }
  return median(ratios);
}

/** Durations per bench mode: the default run measures properly, --quick just shows the shape. */
export function tlsSettings(mode: 'quick' | 'default', repeats = 3): TlsBenchSettings {
  return mode === 'quick'
    ? { repeats: 1, warmupFirstS: 2, warmupS: 1, measureS: 2, handshakeS: 2 }
    : { repeats, warmupFirstS: 3, warmupS: 1, measureS: 4, handshakeS: 3 };
}
