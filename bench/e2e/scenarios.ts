// "What each balancer does": 3 upstreams at a fixed request rate, one of them slow (+50 ms),
// failing (20 % 503) or killed mid-run, run once per balancer through Fairway. Shares come from
// the upstreams' own counters (GET /__count), retries from Fairway's admin GET /status.

import type { Profile, ScenarioName } from '../lib/options.ts';
import type { LoadResult } from './load-types.ts';
import { runLoad, type Progress } from './throughput.ts';
import { BALANCERS, startFairway, startUpstream, type BalancerName, type Target, type Upstream, type UpstreamOptions } from './targets.ts';

export interface Share {
  upstream: string;
  requests: number;
  failed: number;
  share: number;
}

export interface ScenarioRow {
  scenario: ScenarioName;
  balancer: BalancerName;
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
}

export const SCENARIO_TEXT: Record<ScenarioName, string> = {
  'slow-upstream': 'upstream c answers 50 ms late',
  'failing-upstream': 'upstream c answers 503 to 20 % of requests',
  'killed-upstream': 'upstream c is SIGKILLed during the measured run',
};

interface StatusJson {
  pools?: { retries?: number; upstreams?: { origin?: string; state?: string; ejections?: number }[] }[];
}
interface CountJson {
  name?: string;
  requests?: number;
  failed?: number;
}

function upstreamOptions(s: ScenarioName): UpstreamOptions {
  if (s === 'slow-upstream') return { delayMs: 50 };
  if (s === 'failing-upstream') return { failRate: 0.2 };
  return {};
}

async function startSet(s: ScenarioName): Promise<Upstream[]> {
  return [await startUpstream('a'), await startUpstream('b'), await startUpstream('c', upstreamOptions(s))];
}

export function countScenarioRuns(scenarios: readonly ScenarioName[]): number {
  return scenarios.length * BALANCERS.length;
}

/** Runs each scenario for each balancer; never throws for a failed run (it becomes a row error). */
export async function runScenarios(profile: Profile, scenarios: readonly ScenarioName[], balancers: readonly BalancerName[], progress: Progress, step: () => string): Promise<ScenarioRow[]> {
  const rows: ScenarioRow[] = [];
  for (const s of scenarios) {
    const killed = s === 'killed-upstream';
    // Killed-upstream needs a fresh set per balancer; the others share one set.
    let shared: Upstream[] | null = null;
    try {
      for (const b of balancers) {
        const ups = killed ? await startSet(s) : (shared ??= await startSet(s));
        let fw: Target | null = null;
        try {
          fw = await startFairway(b, ups);
          const row = await measure(profile, s, b, fw, ups);
          rows.push(row);
          progress(`${step()} scenario ${s} ${b.padEnd(18)} ${describe(row)}`);
        } catch (err) {
          rows.push({ scenario: s, balancer: b, result: null, error: (err as Error).message, shares: null, retries: null, failed: null, cState: null });
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

async function measure(profile: Profile, s: ScenarioName, b: BalancerName, fw: Target, ups: readonly Upstream[]): Promise<ScenarioRow> {
  const sc = profile.scenario;
  const killed = s === 'killed-upstream';
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
  });
  const row: ScenarioRow = { scenario: s, balancer: b, result, error, shares: null, retries: null, failed: null, cState: null };
  if (result === null) return row;
  row.failed = result.non2xx + result.errors;
  const st0 = result.probesBefore[0] as StatusJson | null;
  const st1 = result.probesAfter[0] as StatusJson | null;
  const r0 = st0?.pools?.[0]?.retries;
  const r1 = st1?.pools?.[0]?.retries;
  if (typeof r0 === 'number' && typeof r1 === 'number') row.retries = r1 - r0;
  const c = st1?.pools?.[0]?.upstreams?.find((u) => u.origin === ups[2]!.url);
  if (c?.state !== undefined) row.cState = `${c.state}${(c.ejections ?? 0) > 0 ? ` (ejections: ${c.ejections})` : ''}`;
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

function describe(row: ScenarioRow): string {
  if (row.result === null) return `FAILED ${row.error ?? ''}`;
  const r = row.result;
  const shares = row.shares === null ? 'shares –' : row.shares.map((c) => `${c.upstream} ${Number.isNaN(c.share) ? '–' : `${(c.share * 100).toFixed(0)}%`}`).join(' ');
  return `${Math.round(r.rps)} req/s  p99 ${((r.latencyUs.p99 ?? 0) / 1000).toFixed(2)} ms  ${shares}  failed ${row.failed}  retries ${row.retries ?? '–'}  c ${row.cState ?? '–'}`;
}
