// `npm run bench`: micro benches, the throughput/cost matrix (direct vs Fairway per balancer vs
// peers), the balancer scenarios and, when Fairway looks expensive, a CPU profile. Progress goes to
// stderr; the Markdown report to stdout and bench/results/<stamp>.{md,json,svg}. Flags: --help.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aggregate, renderMarkdown, type BenchResults } from './e2e/report.ts';
import { profileFairway } from './e2e/profile.ts';
import { countScenarioRuns, runScenarios, type ScenarioRow } from './e2e/scenarios.ts';
import { renderSvg } from './e2e/svg.ts';
import { BALANCERS, REPO_DIR } from './e2e/targets.ts';
import { countRuns, runThroughput, type ThroughputResult } from './e2e/throughput.ts';
import { describeMachine } from './lib/machine.ts';
import { parsePickFigures, runMicro, type MicroRun } from './lib/micro.ts';
import { USAGE, parseBenchArgs, type BenchOptions, type Profile } from './lib/options.ts';
import { killAllNow, stopAll } from './lib/procs.ts';
import { select, type Selection } from './lib/select.ts';
import { clock } from './lib/stats.ts';
import { describeVersions } from './lib/versions.ts';

const RESULTS_DIR = path.join(REPO_DIR, 'bench', 'results');
const MICRO_TIMEOUT_MS = 180_000;
/** Rough wall time of each micro script (for the estimate only). */
const MICRO_EST_S: Record<string, number> = { 'pick.bench.ts': 55, 'pick-alloc.ts': 16, 'hash-ring.bench.ts': 25, 'hash-key.bench.ts': 10 };

function estimateS(p: Profile, sel: Selection, scenarioBalancers: number): number {
  let s = 0;
  if (sel.micro) for (const m of p.micro) s += m.args.length > 0 ? 5 : (MICRO_EST_S[m.script] ?? 20);
  if (sel.targets.length > 0) {
    const runs = countRuns(p, sel.targets);
    const firsts = p.workloads.length * sel.targets.length;
    s += 3 + runs * (p.measureS + 0.4) + firsts * p.warmFirstS + (runs - firsts) * p.warmNextS;
  }
  for (const name of sel.scenarios) {
    const measure = name === 'killed-upstream' ? p.scenario.killMeasureS : p.scenario.measureS;
    s += scenarioBalancers * (1 + p.scenario.warmS + measure + 0.4);
  }
  if (p.alwaysProfile && sel.targets.length > 0) s += p.profileS + 4;
  return s;
}

async function main(opts: BenchOptions): Promise<number> {
  const p = opts.profile;
  const sel = select(p.mode, opts.only);
  const scenarioBalancers = p.mode === 'smoke' ? (['round-robin'] as const) : BALANCERS;
  const started = performance.now();
  const loadBefore = os.loadavg();
  const machine = describeMachine(REPO_DIR);
  const micro: MicroRun[] = [];
  let throughput: ThroughputResult | null = null;
  let scenarios: ScenarioRow[] = [];
  let cpuProfile: BenchResults['cpuProfile'] = null;
  const notes: string[] = [`compared: ${describeVersions(REPO_DIR)}`];

  const total =
    (sel.micro ? p.micro.length : 0) +
    (sel.targets.length > 0 ? countRuns(p, sel.targets) : 0) +
    (sel.scenarios.length > 0 ? countScenarioRuns(sel.scenarios, scenarioBalancers) : 0);
  let done = 0;
  const width = String(total).length;
  const elapsed = (): number => (performance.now() - started) / 1000;
  const stamp = (): string => `[${String(done).padStart(width)}/${total} ${clock(elapsed())}]`;
  const step = (): string => {
    done++;
    return stamp();
  };
  const progress = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  progress(
    `fairway bench: mode ${p.mode}${opts.only.length > 0 ? `, --only ${opts.only.join(',')}` : ''}; ${machine.nproc} CPU ${machine.cpuModel}; node ${machine.node}; commit ${machine.commit}; ` +
      `${total} steps, about ${Math.round(estimateS(p, sel, scenarioBalancers.length))} s`,
  );
  mkdirSync(RESULTS_DIR, { recursive: true });
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'fairway-bench-'));
  try {
    if (sel.micro) {
      for (const m of p.micro) {
        progress(`${stamp()} micro ${m.script} ${m.args.join(' ')} …`);
        const r = await runMicro(m.script, m.args, MICRO_TIMEOUT_MS);
        micro.push(r);
        progress(`${step()} micro ${m.script}: ${r.status} in ${r.wallS.toFixed(1)} s${r.status === 'missing' ? ` (${r.output})` : ''}`);
      }
    }
    if (sel.targets.length > 0) throughput = await runThroughput(p, sel.targets, tmpDir, progress, step);
    if (sel.scenarios.length > 0) scenarios = await runScenarios(p, sel.scenarios, scenarioBalancers, progress, step);

    // Profile Fairway when asked, and in a full default run: where does its CPU per request go?
    if (opts.cpuProfile || (p.alwaysProfile && opts.only.length === 0)) {
      progress(`${stamp()} profiling Fairway round-robin (13 B × 50 conns) for ${p.profileS} s …`);
      cpuProfile = await profileFairway(p, RESULTS_DIR);
      progress(`${stamp()} profile: ${cpuProfile.error ?? cpuProfile.file}`);
    }
  } finally {
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }

  const results: BenchResults = {
    machine,
    mode: p.mode,
    profile: p,
    only: opts.only,
    wallS: elapsed(),
    loadavg: { before: loadBefore, after: os.loadavg() },
    micro,
    pick: parsePickFigures(micro),
    throughput,
    scenarios,
    cpuProfile,
    notes,
  };
  const name = `${machine.date.slice(0, 19).replace(/:/g, '-')}Z-${p.mode}`;
  const rows = throughput === null ? [] : aggregate(throughput);
  const hasChart = rows.length > 0 || scenarios.some((s) => s.scenario === 'slow-upstream');
  const svgName = hasChart ? `${name}.svg` : null;
  const md = renderMarkdown(results, svgName);
  writeFileSync(path.join(RESULTS_DIR, `${name}.md`), md);
  writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  if (svgName !== null) writeFileSync(path.join(RESULTS_DIR, svgName), renderSvg(rows, scenarios, `Fairway bench ${machine.date.slice(0, 16)}Z, ${machine.nproc} CPU, node ${machine.node}, ${machine.commit}, mode ${p.mode}`));
  process.stdout.write(md);
  progress(`wrote bench/results/${name}.{md,json${svgName === null ? '' : ',svg'}} in ${Math.round(elapsed())} s`);

  // --smoke is a CI check of the harness and of Fairway's basic health under load, not of speed.
  if (p.mode === 'smoke') {
    const problems: string[] = [];
    for (const m of micro) if (m.status === 'failed' || m.status === 'timeout') problems.push(`micro ${m.script} ${m.status}`);
    for (const s of throughput?.samples ?? []) {
      if (s.result === null) problems.push(`${s.target} ${s.workload}: load run failed: ${s.error}`);
      else if (s.result.ok === 0 || s.result.non2xx + s.result.errors > 0) problems.push(`${s.target} ${s.workload}: ${s.result.ok} ok, ${s.result.non2xx} non-2xx, ${s.result.errors} errors`);
    }
    for (const sk of throughput?.skipped ?? []) if (sk.target.startsWith('fairway-') || sk.target === 'direct') problems.push(`${sk.target}: ${sk.reason}`);
    for (const s of scenarios) if (s.result === null) problems.push(`scenario ${s.scenario} ${s.balancer}: ${s.error}`);
    if (problems.length > 0) {
      progress(`smoke FAILED:\n  ${problems.join('\n  ')}`);
      return 1;
    }
    progress('smoke OK');
  }
  return 0;
}

let opts: BenchOptions;
try {
  opts = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
try {
  select(opts.profile.mode, opts.only);
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
}

// Children never outlive the bench: SIGINT/SIGTERM stop them, and exit kills any left.
let interrupted = false;
const onSignal = (sig: NodeJS.Signals): void => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\nbench: ${sig}, stopping children …\n`);
  void stopAll(1000).finally(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', killAllNow);

main(opts).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    void stopAll(1000).finally(() => process.exit(1));
  },
);
