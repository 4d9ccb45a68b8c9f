// `npm run bench`: micro benches, the throughput/cost matrix (direct vs Fairway per balancer vs
// peers), the balancer scenarios and, when Fairway looks expensive, a CPU profile. Progress goes to
// stderr; the Markdown report to stdout and bench/results/<stamp>.{md,json,svg}. Flags: --help.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aggregate, renderMarkdown, type BenchResults } from './e2e/report.ts';
import { runConnScale, type ConnScaleRow } from './e2e/conn-scale.ts';
import { floorCost, floorPlan, profilePass, stracePass } from './e2e/floor.ts';
import type { ProfileResult } from './e2e/profile.ts';
import type { SyscallRow } from './e2e/syscalls.ts';
import { countScenarioRuns, runScenarios, type ScenarioRow } from './e2e/scenarios.ts';
import { renderSvg } from './e2e/svg.ts';
import { BALANCERS, REPO_DIR } from './e2e/targets.ts';
import { countRuns, runThroughput, type ThroughputResult } from './e2e/throughput.ts';
import { describeMachine } from './lib/machine.ts';
import { parsePickFigures, runMicro, type MicroRun } from './lib/micro.ts';
import { materializeBaseline, resolveRef, type BaselineTree } from './lib/baseline.ts';
import { USAGE, parseBenchArgs, type BenchOptions, type Profile } from './lib/options.ts';
import { killAllNow, stopAll } from './lib/procs.ts';
import { select, type Selection } from './lib/select.ts';
import { clock } from './lib/stats.ts';
import { describeVersions } from './lib/versions.ts';
import { countTlsRuns, estimateTlsS, runTlsBench, tlsSettings, type TlsBenchResult } from './tls/bench.ts';
import { renderTlsMarkdown } from './tls/report.ts';

const RESULTS_DIR = path.join(REPO_DIR, 'bench', 'results');
/** Temp directories (generated configs, the --baseline tree) removed on exit even after SIGINT. */
const tempDirs = new Set<string>();
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
  if (sel.tls) s += estimateTlsS(tlsSettings(p.mode === 'default' ? 'default' : 'quick', p.repeats));
  return s;
}

async function main(opts: BenchOptions): Promise<number> {
  const p = opts.profile;
  const sel = select(p.mode, opts.only, { baseline: opts.baseline !== null, variants: opts.variants });
  const scenarioBalancers = p.mode === 'smoke' ? (['round-robin'] as const) : BALANCERS;
  const started = performance.now();
  const loadBefore = os.loadavg();
  const machine = describeMachine(REPO_DIR);
  const micro: MicroRun[] = [];
  let throughput: ThroughputResult | null = null;
  let scenarios: ScenarioRow[] = [];
  let cpuProfile: BenchResults['cpuProfile'] = null;
  let tls: TlsBenchResult | null = null;
  const tlsConfig = tlsSettings(p.mode === 'default' ? 'default' : 'quick', p.repeats);
  const notes: string[] = [`compared: ${describeVersions(REPO_DIR)}`];
  const plan = floorPlan(p, sel, { strace: opts.strace, cpuProfile: opts.cpuProfile, full: opts.only.length === 0, hasBaseline: opts.baseline !== null });
  const floor = floorCost(p, plan, sel.targets);
  if (plan.straceSkipped !== null) notes.push(`syscalls per request not counted: ${plan.straceSkipped}`);
  const syscalls: SyscallRow[] = [];
  let nodeProfiles: ProfileResult[] = [];
  let connScale: { rows: ConnScaleRow[]; skipped: { target: string; reason: string }[] } | null = null;

  const total =
    floor.steps +
    (sel.micro ? p.micro.length : 0) +
    (sel.targets.length > 0 ? countRuns(p, sel.targets) : 0) +
    (sel.scenarios.length > 0 ? countScenarioRuns(sel.scenarios, scenarioBalancers) : 0) +
    (sel.tls ? countTlsRuns(tlsConfig) : 0);
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
      `${total} steps, about ${Math.round(estimateS(p, sel, scenarioBalancers.length) + floor.seconds)} s`,
  );
  mkdirSync(RESULTS_DIR, { recursive: true });
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'fairway-bench-'));
  tempDirs.add(tmpDir);
  let baseline: BaselineTree | null = null;
  try {
    if (opts.baseline !== null && (sel.targets.length > 0 || sel.connScale)) {
      baseline = materializeBaseline(REPO_DIR, opts.baseline, tmpDir);
      notes.push(`fairway-baseline: git ref \`${baseline.ref}\` = commit ${baseline.commit.slice(0, 12)}, exported with git archive, run with this checkout's node_modules; round-robin, same flags as fairway-round-robin`);
      progress(`baseline ${baseline.ref} = ${baseline.commit.slice(0, 12)} in ${baseline.dir}`);
    }
    if (sel.micro) {
      for (const m of p.micro) {
        progress(`${stamp()} micro ${m.script} ${m.args.join(' ')} …`);
        const r = await runMicro(m.script, m.args, MICRO_TIMEOUT_MS);
        micro.push(r);
        progress(`${step()} micro ${m.script}: ${r.status} in ${r.wallS.toFixed(1)} s${r.status === 'missing' ? ` (${r.output})` : ''}`);
      }
    }
    const baselineDir = baseline === null ? undefined : baseline.dir;
    if (sel.targets.length > 0) {
      throughput = await runThroughput(p, sel.targets, tmpDir, progress, step, {
        variants: opts.variants,
        ...(baselineDir === undefined ? {} : { baselineDir }),
        ...(plan.straceWorkloads.length === 0 ? {} : { afterMatrix: stracePass(p, plan, syscalls, progress, step) }),
      });
    }
    if (sel.scenarios.length > 0) scenarios = await runScenarios(p, sel.scenarios, scenarioBalancers, progress, step);
    if (sel.tls) tls = await runTlsBench(tlsConfig, tmpDir, progress, step);

    // Where each Node process's CPU goes (Fairway's own profile also feeds the src/ tables).
    if (plan.profileTargets.length > 0) {
      progress(`${stamp()} CPU-profiling ${plan.profileTargets.join(', ')} (13 B × 50 conns, ${p.profileS} s each) …`);
      nodeProfiles = await profilePass(p, plan, RESULTS_DIR, tmpDir, baselineDir, progress, step);
      cpuProfile = nodeProfiles.find((r) => r.target === 'fairway-round-robin') ?? null;
    }
    if (plan.connScaleTargets.length > 0) {
      const cs = p.connScale;
      progress(`${stamp()} conn-scale: ${cs.idle} idle, ${cs.clients} clients, ${cs.active} active, ${cs.rounds} round(s) per target …`);
      connScale = await runConnScale(plan.connScaleTargets, cs, tmpDir, progress, step, baselineDir);
    }
  } finally {
    await stopAll();
    baseline?.remove();
    rmSync(tmpDir, { recursive: true, force: true });
    tempDirs.delete(tmpDir);
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
    nodeProfiles,
    syscalls,
    connScale,
    baseline: baseline === null ? null : { ref: baseline.ref, commit: baseline.commit },
    notes,
  };
  const name = `${machine.date.slice(0, 19).replace(/:/g, '-')}Z-${p.mode}`;
  const rows = throughput === null ? [] : aggregate(throughput);
  const hasChart = rows.length > 0 || scenarios.some((s) => s.scenario === 'slow-upstream');
  const svgName = hasChart ? `${name}.svg` : null;
  const md = renderMarkdown(results, svgName) + (tls === null ? '' : `\n${renderTlsMarkdown(tls)}`);
  writeFileSync(path.join(RESULTS_DIR, `${name}.md`), md);
  writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(tls === null ? results : { ...results, tls }, null, 2)}\n`);
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
  select(opts.profile.mode, opts.only, { baseline: opts.baseline !== null, variants: opts.variants });
  if (opts.baseline !== null) resolveRef(REPO_DIR, opts.baseline);
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
process.on('exit', () => {
  killAllNow();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

main(opts).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    void stopAll(1000).finally(() => process.exit(1));
  },
);
