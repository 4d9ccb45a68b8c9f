// "What each balancer does": 3 upstreams at a fixed request rate, one of them slow (+50 ms),
// failing (20 % 503) or killed mid-run, run once per balancer through Fairway; and "hot key":
// consistent-hash with half the requests on one key, with and without bounded loads. Shares
// come from the upstreams' own counters (GET /__count), retries and EWMA estimates from
// Fairway's admin GET /status.

import type { Profile, ScenarioName } from '../lib/options.ts';
import type { KeySpec, LoadResult } from './load-types.ts';
import { runLoad, type Progress } from './throughput.ts';
import {
  BALANCERS,
  BENCH_KEY_HEADER,
  startFairway,
  startUpstream,
  type BalancerName,
  type FairwayOptions,
  type Target,
  type Upstream,
  type UpstreamOptions,
} from './targets.ts';

export interface Share {
  upstream: string;
  requests: number;
  failed: number;
  share: number;
}

export interface ScenarioRow {
  scenario: ScenarioName;
  /** The balancer, or a variant of it ("consistent-hash, loadFactor off"). */
  balancer: string;
  result: LoadResult | null;
  error: string | null;
  /** Per upstream, over the measured run only; null if the counters could not be read. */
  shares: Share[] | null;
  /** Retries Fairway made during the measured run (admin /status), or null. */
  retries: number | null;
  /** Client-visible failures: non-2xx responses + socket errors + timeouts. */
  failed: number | null;
  /** Upstream c as Fairway's /status saw it after the run: "up", "ejected (ejections: 1)", … */
  cState: string | null;
  /** Each upstream's EWMA estimate (ms) in /status after the run (null: never measured or unread). */
  ewmaMs: (number | null)[] | null;
}

export const SCENARIO_TEXT: Record<ScenarioName, string> = {
  'slow-upstream': 'upstream c answers 50 ms late',
  'failing-upstream': 'upstream c answers 503 to 20 % of requests',
  'killed-upstream': 'upstream c is SIGKILLed during the measured run',
  'hot-key': 'consistent-hash, half of the requests carry one key, every upstream answers in 20 ms',
};

/** The hot-key scenario's load: half the requests on key "hot", the rest over 10 000 keys. */
export const HOT_KEY: KeySpec = { header: BENCH_KEY_HEADER, hotShare: 0.5, count: 10_000 };
/** consistent-hash in the other scenarios: many keys, none hot. */
const SPREAD_KEYS: KeySpec = { header: BENCH_KEY_HEADER, hotShare: 0, count: 10_000 };

/** A Fairway variant a scenario runs. */
interface Variant {
  label: string;
  balancer: BalancerName;
  opts: FairwayOptions;
}

/** What each scenario runs: every balancer, or (hot-key) consistent-hash with and without bounded loads. */
function variantsFor(s: ScenarioName, balancers: readonly BalancerName[]): Variant[] {
  if (s !== 'hot-key') return balancers.map((b) => ({ label: b, balancer: b, opts: {} }));
  return [
    { label: 'consistent-hash, loadFactor 125%', balancer: 'consistent-hash', opts: { loadFactor: '125%' } },
    { label: 'consistent-hash, loadFactor off', balancer: 'consistent-hash', opts: { loadFactor: 'off' } },
  ];
}

interface StatusJson {
  pools?: { retries?: number; upstreams?: { origin?: string; state?: string; ejections?: number; ewmaMs?: number | null }[] }[];
}
interface CountJson {
  name?: string;
  requests?: number;
  failed?: number;
}

function upstreamOptions(s: ScenarioName): UpstreamOptions {
  if (s === 'slow-upstream') return { delayMs: 50 };
  if (s === 'failing-upstream') return { failRate: 0.2 };
  if (s === 'hot-key') return { delayMs: 20 };
  return {};
}

async function startSet(s: ScenarioName): Promise<Upstream[]> {
  const all = s === 'hot-key' ? upstreamOptions(s) : {};
  return [await startUpstream('a', all), await startUpstream('b', all), await startUpstream('c', upstreamOptions(s))];
}

export function countScenarioRuns(scenarios: readonly ScenarioName[], balancers: readonly BalancerName[] = BALANCERS): number {
  let n = 0;
  for (const s of scenarios) n += variantsFor(s, balancers).length;
  return n;
}

/** Runs each scenario for each balancer; never throws for a failed run (it becomes a row error). */
export async function runScenarios(profile: Profile, scenarios: readonly ScenarioName[], balancers: readonly BalancerName[], progress: Progress, step: () => string): Promise<ScenarioRow[]> {
  const rows: ScenarioRow[] = [];
  for (const s of scenarios) {
    const killed = s === 'killed-upstream';
    // Killed-upstream needs a fresh set per balancer; the others share one set.
    let shared: Upstream[] | null = null;
    try {
      for (const v of variantsFor(s, balancers)) {
        const b = v.label;
        const ups = killed ? await startSet(s) : (shared ??= await startSet(s));
        let fw: Target | null = null;
        try {
          fw = await startFairway(v.balancer, ups, v.opts);
          const row = await measure(profile, s, v, fw, ups);
          rows.push(row);
          progress(`${step()} scenario ${s} ${b.padEnd(18)} ${describe(row)}`);
        } catch (err) {
          rows.push({ scenario: s, balancer: b, result: null, error: (err as Error).message, shares: null, retries: null, failed: null, cState: null, ewmaMs: null });
          progress(`${step()} scenario ${s} ${b.padEnd(18)} FAILED ${(err as Error).message.split('\n')[0]}`);
        } finally {
          await fw?.stop();
          if (killed) await Promise.all(ups.map((u) => u.child.stop()));
        }
      }
    } finally {
      if (shared !== null) await Promise.all(shared.map((u) => u.child.stop()));
    }
  }
  return rows;
}

async function measure(profile: Profile, s: ScenarioName, v: Variant, fw: Target, ups: readonly Upstream[]): Promise<ScenarioRow> {
  const sc = profile.scenario;
  const killed = s === 'killed-upstream';
  const keys = s === 'hot-key' ? HOT_KEY : v.balancer === 'consistent-hash' ? SPREAD_KEYS : undefined;
  const { result, error } = await runLoad({
    url: `${fw.url}/`,
    connections: sc.connections,
    rate: sc.rate,
    open: true,
    durationS: killed ? sc.killMeasureS : sc.measureS,
    warmupS: sc.warmS,
    timeoutS: 10,
    pids: [...fw.pids],
    probes: [`${fw.adminUrl}/status`, ...ups.map((u) => `${u.url}/__count`)],
    ...(killed ? { kill: { pid: ups[2]!.child.pid, atS: sc.killAtS } } : {}),
    ...(keys === undefined ? {} : { keys }),
  });
  const row: ScenarioRow = { scenario: s, balancer: v.label, result, error, shares: null, retries: null, failed: null, cState: null, ewmaMs: null };
  if (result === null) return row;
  row.failed = result.non2xx + result.errors;
  const st0 = result.probesBefore[0] as StatusJson | null;
  const st1 = result.probesAfter[0] as StatusJson | null;
  const r0 = st0?.pools?.[0]?.retries;
  const r1 = st1?.pools?.[0]?.retries;
  if (typeof r0 === 'number' && typeof r1 === 'number') row.retries = r1 - r0;
  const statusOf = (u: Upstream) => st1?.pools?.[0]?.upstreams?.find((x) => x.origin === u.url);
  const c = statusOf(ups[2]!);
  if (c?.state !== undefined) row.cState = `${c.state}${(c.ejections ?? 0) > 0 ? ` (ejections: ${c.ejections})` : ''}`;
  if (st1 !== null) row.ewmaMs = ups.map((u) => statusOf(u)?.ewmaMs ?? null);
  // A killed upstream cannot answer the after-probe: its share counts up to the kill (unknown
  // exactly), so it is reported from the before-probe as 0 more requests; the survivors' counts are exact.
  const counts: Share[] = [];
  let ok = true;
  for (let i = 0; i < ups.length; i++) {
    const c0 = result.probesBefore[i + 1] as CountJson | null;
    const c1 = result.probesAfter[i + 1] as CountJson | null;
    if (c0 === null || typeof c0.requests !== 'number') {
      ok = false;
      break;
    }
    const after = c1 !== null && typeof c1.requests === 'number' ? c1 : null;
    counts.push({
      upstream: ups[i]!.name,
      requests: after === null ? Number.NaN : after.requests! - c0.requests,
      failed: after === null ? Number.NaN : (after.failed ?? 0) - (c0.failed ?? 0),
      share: 0,
    });
  }
  if (ok) {
    const total = counts.reduce((a, c) => a + (Number.isNaN(c.requests) ? 0 : c.requests), 0);
    for (const c of counts) c.share = total === 0 || Number.isNaN(c.requests) ? Number.NaN : c.requests / total;
    row.shares = counts;
  }
  return row;
}

/** Share of a (0–1) among the two survivors a and b of killed-upstream; null when unknown. */
export function survivorSplit(row: ScenarioRow): number | null {
  const a = row.shares?.[0]?.requests;
  const b = row.shares?.[1]?.requests;
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || a + b === 0) return null;
  return a / (a + b);
}

function describe(row: ScenarioRow): string {
  if (row.result === null) return `FAILED ${row.error ?? ''}`;
  const r = row.result;
  const shares = row.shares === null ? 'shares –' : row.shares.map((c) => `${c.upstream} ${Number.isNaN(c.share) ? '–' : `${(c.share * 100).toFixed(0)}%`}`).join(' ');
  const split = row.scenario === 'killed-upstream' ? survivorSplit(row) : null;
  const est = row.ewmaMs?.some((x) => x !== null) ? `  ewma ${row.ewmaMs.map((x) => (x === null ? '–' : x.toFixed(2))).join('/')} ms` : '';
  return (
    `${Math.round(r.rps)} req/s  p99 ${((r.latencyUs.p99 ?? 0) / 1000).toFixed(2)} ms  ${shares}` +
    `${split === null ? '' : `  survivors a:b ${(split * 100).toFixed(0)}:${((1 - split) * 100).toFixed(0)}`}  failed ${row.failed}  retries ${row.retries ?? '–'}  c ${row.cState ?? '–'}${est}`
  );
}
