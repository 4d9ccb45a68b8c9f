// Load generator process: warm-up, then one measured run (autocannon closed loop, or open-loop.ts),
// reading the given pids' CPU ticks and peak RSS around it, µs percentiles from its own histogram.
// Prints one JSON line (LoadResult). Run: node bench/e2e/load.ts '<LoadSpec JSON>'

import { createRequire } from 'node:module';
import * as hdr from 'hdr-histogram-js';
import { getJson } from '../lib/http.ts';
import { clockTicks, cpuTicksSplit, peakRssKiB, systemBusyTicks } from '../lib/proc-stats.ts';
import type { LoadResult, LoadSpec } from './load-types.ts';
import { openLoop } from './open-loop.ts';

/** The part of autocannon's API used here (it ships no types). */
interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number; p99_9: number; max: number };
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'reqError', fn: (err: Error) => void): void;
  stop(): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, r: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function run(spec: LoadSpec, seconds: number, onResponse?: (status: number, ms: number) => void, onError?: (e: Error) => void): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        pipelining: 1,
        timeout: spec.timeoutS,
        sampleInt: 250,
        ...(spec.rate === undefined ? {} : { overallRate: spec.rate }),
        ...(spec.headers === undefined ? {} : { headers: spec.headers }),
      },
      (err, r) => (err === null ? resolve(r) : reject(err)),
    );
    if (onResponse !== undefined) inst.on('response', (_c, status, _b, ms) => onResponse(status, ms));
    if (onError !== undefined) inst.on('reqError', onError);
  });
}

/** What one measured run reports, whichever driver ran it. */
interface Driven {
  errors: number;
  timeouts: number;
  resets: number;
  statusCodes: Record<string, number>;
  errorKinds: Record<string, number>;
  autocannonMs: LoadResult['autocannonMs'];
}

/** The closed-loop (autocannon) or open-loop driver for `spec`, with its warm-up. */
async function driver(spec: LoadSpec): Promise<{ run: (s: number, onResponse: (status: number, ms: number) => void) => Promise<Driven>; close: () => Promise<void> }> {
  if (spec.open === true) {
    if (spec.rate === undefined) throw new Error('open loop needs a rate');
    const ol = openLoop(spec.url, spec.rate, spec.connections, spec.timeoutS, { headers: spec.headers, keys: spec.keys });
    if (spec.warmupS > 0) await ol.run(spec.warmupS);
    return {
      run: async (seconds, onResponse) => {
        const c = await ol.run(seconds, onResponse);
        return { errors: c.errors, timeouts: c.timeouts, resets: 0, statusCodes: c.statusCodes, errorKinds: c.errorKinds, autocannonMs: null };
      },
      close: () => ol.close(),
    };
  }
  if (spec.warmupS > 0) await run(spec, spec.warmupS);
  return {
    run: async (seconds, onResponse) => {
      const errorKinds: Record<string, number> = {};
      const r = await run(spec, seconds, onResponse, (e) => {
        const k = (e as NodeJS.ErrnoException).code ?? e.message.slice(0, 40);
        errorKinds[k] = (errorKinds[k] ?? 0) + 1;
      });
      return {
        errors: r.errors,
        timeouts: r.timeouts,
        resets: r.resets,
        statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
        errorKinds,
        autocannonMs: { p50: r.latency.p50, p99: r.latency.p99, p99_9: r.latency.p99_9, max: r.latency.max },
      };
    },
    close: async () => {},
  };
}

async function main(): Promise<LoadResult> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const d = await driver(spec);

  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 32 });
  let ok = 0;
  let other = 0;
  const onResponse = (status: number, ms: number): void => {
    if (status >= 200 && status < 300) {
      ok++;
      hist.recordValue(Math.max(1, Math.round(ms * 1000)));
    } else other++;
  };

  const probesBefore = await Promise.all(spec.probes.map((u) => getJson(u)));
  let killedAtMs: number | null = null;
  const t0 = performance.now();
  const killTimer =
    spec.kill === undefined
      ? null
      : setTimeout(() => {
          try {
            process.kill(spec.kill!.pid, 'SIGKILL');
            killedAtMs = performance.now() - t0;
          } catch {
            // already gone
          }
        }, spec.kill.atS * 1000);
  const cpu0 = spec.pids.map(cpuTicksSplit);
  const sys0 = systemBusyTicks();
  const self0 = process.cpuUsage();
  const r = await d.run(spec.durationS, onResponse);
  const elapsedS = (performance.now() - t0) / 1000;
  const self1 = process.cpuUsage(self0);
  const cpu1 = spec.pids.map(cpuTicksSplit);
  const sys1 = systemBusyTicks();
  if (killTimer !== null) clearTimeout(killTimer);
  const probesAfter = await Promise.all(spec.probes.map((u) => getJson(u)));
  await d.close();
  const tck = clockTicks();

  const pct = (p: number): number | null => (hist.totalCount === 0 ? null : hist.getValueAtPercentile(p));
  return {
    url: spec.url,
    elapsedS,
    ok,
    non2xx: other,
    errors: r.errors,
    timeouts: r.timeouts,
    resets: r.resets,
    errorKinds: r.errorKinds,
    statusCodes: r.statusCodes,
    rps: (ok + other) / elapsedS,
    latencyUs: { p50: pct(50), p99: pct(99), p99_9: pct(99.9), max: hist.totalCount === 0 ? null : hist.maxValue },
    autocannonMs: r.autocannonMs,
    cpuS: spec.pids.map((_, i) => {
      const a = cpu0[i];
      const b = cpu1[i];
      return a == null || b == null ? null : (b.user + b.sys - a.user - a.sys) / tck;
    }),
    minorFaults: spec.pids.map((_, i) => {
      const a = cpu0[i];
      const b = cpu1[i];
      return a == null || b == null ? null : b.minflt - a.minflt;
    }),
    cpuSysS: spec.pids.map((_, i) => {
      const a = cpu0[i];
      const b = cpu1[i];
      return a == null || b == null ? null : (b.sys - a.sys) / tck;
    }),
    peakRssKiB: spec.pids.map(peakRssKiB),
    loadCpuS: (self1.user + self1.system) / 1e6,
    systemBusyS: sys0 === null || sys1 === null ? null : (sys1 - sys0) / tck,
    probesBefore,
    probesAfter,
    killedAtS: killedAtMs === null ? null : killedAtMs / 1000,
  };
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`load: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
