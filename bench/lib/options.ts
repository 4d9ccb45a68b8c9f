// Command-line flags of `npm run bench` and the three run profiles (smoke, quick, default):
// every duration, repeat count and the subset to run are decided here, nowhere else. Pure.

import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseVariant, type Variant } from './variants.ts';

/** Where the access-log variant writes (a file, as in production; removed when the run ends). */
export const ACCESS_LOG_FILE = path.join(os.tmpdir(), `fairway-bench-access-${process.pid}.log`);

export const MODES = ['smoke', 'quick', 'default'] as const;
export type Mode = (typeof MODES)[number];

export interface Workload {
  /** "13 B × 50" */
  readonly name: string;
  readonly bytes: number;
  readonly connections: number;
  /** Path on the bench upstream that returns `bytes` bytes. */
  readonly path: string;
}

export const WORKLOADS: readonly Workload[] = [
  { name: '13 B × 50 conns', bytes: 13, connections: 50, path: '/' },
  { name: '13 B × 256 conns', bytes: 13, connections: 256, path: '/' },
  { name: '16 KiB × 50 conns', bytes: 16384, connections: 50, path: '/bytes/16384' },
  { name: '16 KiB × 256 conns', bytes: 16384, connections: 256, path: '/bytes/16384' },
];

export const SCENARIOS = ['slow-upstream', 'failing-upstream', 'killed-upstream', 'hot-key'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Profile {
  mode: Mode;
  /** Micro bench scripts to run, with their arguments. */
  micro: { script: string; args: string[] }[];
  workloads: Workload[];
  repeats: number;
  /** Warm-up before a target's first measurement of a workload, then before each later repeat. */
  warmFirstS: number;
  warmNextS: number;
  measureS: number;
  scenario: {
    /** Fixed request rate (autocannon overallRate) and connections for every scenario. */
    rate: number;
    connections: number;
    warmS: number;
    measureS: number;
    /** Killed-upstream: measured seconds, and when the upstream is killed. */
    killMeasureS: number;
    killAtS: number;
  };
  /** Always CPU-profile Fairway after the matrix (the report then lists where its CPU goes). */
  alwaysProfile: boolean;
  profileS: number;
  /** Seconds of each straced run (syscalls per request), and the workloads straced. */
  straceS: number;
  straceWorkloads: string[];
  /** The conn-scale part's sizes (see e2e/conn-scale.ts). */
  connScale: { idle: number; clients: number; active: number; measureS: number; rounds: number; heapIdle: number };
}

const PROFILES: Record<Mode, Profile> = {
  default: {
    mode: 'default',
    micro: [
      { script: 'pick.bench.ts', args: [] },
      { script: 'pick-alloc.ts', args: [] },
      { script: 'hash-ring.bench.ts', args: [] },
      { script: 'hash-key.bench.ts', args: [] },
    ],
    workloads: [...WORKLOADS],
    repeats: 3,
    warmFirstS: 2,
    warmNextS: 0.5,
    measureS: 1.5,
    scenario: { rate: 1000, connections: 32, warmS: 1.5, measureS: 3, killMeasureS: 3, killAtS: 1 },
    alwaysProfile: true,
    profileS: 6,
    straceS: 3,
    straceWorkloads: ['13 B × 50 conns', '16 KiB × 50 conns'],
    connScale: { idle: 9900, clients: 50, active: 1000, measureS: 3, rounds: 3, heapIdle: 2000 },
  },
  quick: {
    mode: 'quick',
    micro: [{ script: 'pick-alloc.ts', args: [] }],
    workloads: [WORKLOADS[0]!],
    repeats: 1,
    warmFirstS: 0.5,
    warmNextS: 0.25,
    measureS: 1,
    scenario: { rate: 1000, connections: 32, warmS: 1, measureS: 1.5, killMeasureS: 2, killAtS: 0.5 },
    alwaysProfile: false,
    profileS: 4,
    straceS: 2,
    straceWorkloads: ['13 B × 50 conns'],
    connScale: { idle: 2000, clients: 50, active: 300, measureS: 1, rounds: 1, heapIdle: 500 },
  },
  smoke: {
    mode: 'smoke',
    micro: [{ script: 'pick-alloc.ts', args: ['round-robin'] }],
    workloads: [WORKLOADS[0]!],
    repeats: 1,
    warmFirstS: 1,
    warmNextS: 0.5,
    measureS: 2,
    scenario: { rate: 500, connections: 16, warmS: 1, measureS: 3, killMeasureS: 3, killAtS: 1 },
    alwaysProfile: false,
    profileS: 3,
    straceS: 2,
    straceWorkloads: ['13 B × 50 conns'],
    connScale: { idle: 500, clients: 20, active: 100, measureS: 1, rounds: 1, heapIdle: 0 },
  },
};

export interface BenchOptions {
  profile: Profile;
  /** Lower-case names from --only; empty = everything the mode includes. */
  only: string[];
  /** --profile: CPU-profile Fairway round-robin regardless of its CPU/request. */
  cpuProfile: boolean;
  /** --baseline REF: also run Fairway from git ref REF as target `fairway-baseline`; null = not asked. */
  baseline: string | null;
  /** --variant BASE+TAG=ARGS (repeatable): copies of Node targets with extra node flags / env. */
  variants: Variant[];
  /** --strace: count syscalls per request of every target (also on with `peers` or a full run when strace exists). */
  strace: boolean;
  help: boolean;
}

export const USAGE = `npm run bench [-- FLAGS]

  --quick           ≈3 minutes: one workload (13 B × 50), 1 repeat, short runs, pick-alloc only
  --smoke           ≈15 s, for CI: direct vs Fairway round-robin + the killed-upstream scenario;
                    exits 1 if the harness breaks or Fairway answers anything but 2xx with healthy upstreams
  --only LIST       comma-separated (or repeated): micro | tls | e2e | peers | scenarios | conn-scale | accesslog,
                    a target (direct, fairway, fairway-ewma, fairway-consistent-hash, haproxy, nginx,
                    undici-dispatch, relay, http-proxy-3, fastify-http-proxy) or a scenario
                    (slow-upstream, failing-upstream, killed-upstream, hot-key)
  --repeats N       interleaved repeats of the throughput matrix
  --duration S      measured seconds per throughput run
  --profile         also CPU-profile Fairway (round-robin, 13 B × 50) and list where its CPU goes
                    (always on in the default run)
  --strace          after the matrix, count syscalls per request of every target with
                    strace -c -f (on by default in a full run and with --only peers)
  --idle N          conn-scale: idle connections to hold (default 9900: HAProxy needs 2 fds per
                    connection and the hard open-files limit here is 20000)
  --variant B+T=A   also run a copy of Node target B named B+T, started with A (space-separated:
                    --node-flags and KEY=VALUE env), right after B in every repeat; repeatable.
                    e.g. --variant 'undici-dispatch+semi64=--max-semi-space-size=64'
  --baseline REF    also run Fairway from git ref REF (tag, branch, commit) as target
                    fairway-baseline, round-robin, interleaved with the others; adds
                    fairway-round-robin and undici-dispatch so its ratios to both are reported
  -h, --help
`;

/** Parses `npm run bench` flags (argv without node and script). Throws on unknown flags. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      only: { type: 'string', multiple: true },
      repeats: { type: 'string' },
      duration: { type: 'string' },
      profile: { type: 'boolean' },
      baseline: { type: 'string' },
      strace: { type: 'boolean' },
      variant: { type: 'string', multiple: true },
      idle: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const mode: Mode = values.smoke === true ? 'smoke' : values.quick === true ? 'quick' : 'default';
  const base = PROFILES[mode];
  const profile: Profile = { ...base, micro: [...base.micro], workloads: [...base.workloads], scenario: { ...base.scenario }, straceWorkloads: [...base.straceWorkloads], connScale: { ...base.connScale } };
  if (values.idle !== undefined) {
    const n = Number(values.idle);
    if (!Number.isInteger(n) || n < 1 || n > 50_000) throw new Error(`--idle must be an integer 1-50000, got ${values.idle}`);
    profile.connScale.idle = n;
  }
  if (values.repeats !== undefined) {
    const n = Number(values.repeats);
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--repeats must be an integer 1-20, got ${values.repeats}`);
    profile.repeats = n;
  }
  if (values.duration !== undefined) {
    const s = Number(values.duration);
    if (!(s > 0 && s <= 120)) throw new Error(`--duration must be 0-120 seconds, got ${values.duration}`);
    profile.measureS = s;
  }
  const only = (values.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const baseline = values.baseline === undefined ? null : values.baseline.trim();
  if (baseline === '') throw new Error('--baseline needs a git ref (tag, branch or commit)');
  const variants = (values.variant ?? []).map(parseVariant);
  // The access log's cost (spec: "on, its cost is measured by npm run bench"): Fairway with the log
  // written to a file, run right after fairway-round-robin in every repeat (a variant). In a full
  // run, or with --only accesslog.
  const accessLog = only.includes('accesslog');
  if (accessLog) only.splice(only.indexOf('accesslog'), 1, 'fairway-round-robin');
  if (accessLog || (only.length === 0 && mode === 'default')) {
    variants.push(parseVariant(`fairway-round-robin+accesslog=FAIRWAY_ACCESS_LOG=${ACCESS_LOG_FILE}`));
    process.once('exit', () => rmSync(ACCESS_LOG_FILE, { force: true }));
  }
  return { profile, only, cpuProfile: values.profile === true, baseline, strace: values.strace === true, variants, help: values.help === true };
}
