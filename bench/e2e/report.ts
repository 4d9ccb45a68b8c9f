// Turns one run's raw results into the report: medians over repeats, ratios to baselines
// measured in the same run (direct upstream; HAProxy for CPU), scenario tables, the targets
// checklist, and the Markdown text. Pure: no I/O.

import type { Machine } from '../lib/machine.ts';
import type { MicroRun, PickFigure } from '../lib/micro.ts';
import type { Profile, ScenarioName } from '../lib/options.ts';
import { fix, int, median, minMax, ratio, usAsMs } from '../lib/stats.ts';
import type { ConnScaleRow } from './conn-scale.ts';
import type { ProfileResult } from './profile.ts';
import { connScaleChecks, connScaleSection, cpuWhereSection, nodeProfilesSection, pairedRatio, variantsSection } from './report-floor.ts';
import type { SyscallRow } from './syscalls.ts';
import { HOT_KEY, SCENARIO_TEXT, survivorSplit, type ScenarioRow } from './scenarios.ts';
import type { Sample, ThroughputResult } from './throughput.ts';

export interface BenchResults {
  machine: Machine;
  mode: string;
  profile: Profile;
  only: string[];
  wallS: number;
  loadavg: { before: number[]; after: number[] };
  micro: MicroRun[];
  pick: PickFigure[];
  throughput: ThroughputResult | null;
  scenarios: ScenarioRow[];
  cpuProfile: ProfileResult | null;
  /** CPU profiles of every Node target (the floor comparison); absent in older results. */
  nodeProfiles?: ProfileResult[];
  /** Syscalls per request (strace pass). */
  syscalls?: SyscallRow[];
  /** The conn-scale part, when run. */
  connScale?: { rows: ConnScaleRow[]; skipped: { target: string; reason: string }[] } | null;
  /** `--baseline REF`: what target fairway-baseline ran; absent/null when not asked. */
  baseline?: { ref: string; commit: string } | null;
  notes: string[];
}

/** Medians of one target on one workload, with ratios to the same run's baselines. */
export interface Row {
  target: string;
  workload: string;
  runs: number;
  rps: number | null;
  rpsRange: [number, number] | null;
  rpsVsDirect: number | null;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  p99VsDirect: number | null;
  autocannonP99Ms: number | null;
  failed: number;
  cpuUsPerReq: number | null;
  cpuVsHaproxy: number | null;
  cpuPct: number | null;
  loadCpuPct: number | null;
  othersCpuPct: number | null;
  peakRssMiB: number | null;
}

export interface Check {
  target: string;
  measured: string;
  met: boolean | null;
}

export function aggregate(t: ThroughputResult): Row[] {
  const rows: Row[] = [];
  const workloads = [...new Set(t.samples.map((s) => s.workload))];
  const targets = [...new Set(t.samples.map((s) => s.target))];
  for (const w of workloads) {
    for (const target of targets) {
      const ss = t.samples.filter((s) => s.workload === w && s.target === target);
      const ok = ss.filter((s) => s.result !== null);
      const rss = t.peakRssKiB[target];
      rows.push({
        target,
        workload: w,
        runs: ok.length,
        rps: median(ok.map((s) => s.result!.rps)),
        rpsRange: minMax(ok.map((s) => s.result!.rps)),
        rpsVsDirect: target === 'direct' ? 1 : pairedRatio(t.samples, target, 'direct', w, (s) => s.result?.rps ?? null),
        p50Us: median(ok.map((s) => s.result!.latencyUs.p50)),
        p99Us: median(ok.map((s) => s.result!.latencyUs.p99)),
        p999Us: median(ok.map((s) => s.result!.latencyUs.p99_9)),
        p99VsDirect: target === 'direct' ? 1 : pairedRatio(t.samples, target, 'direct', w, (s) => s.result?.latencyUs.p99 ?? null),
        autocannonP99Ms: median(ok.map((s) => s.result!.autocannonMs?.p99 ?? null)),
        failed: ss.reduce((a, s) => a + (s.result === null ? 0 : s.result.non2xx + s.result.errors), 0),
        cpuUsPerReq: median(ok.map((s) => s.cpuUsPerReq)),
        cpuVsHaproxy: target === 'direct' ? null : pairedRatio(t.samples, target, 'haproxy', w, (s) => s.cpuUsPerReq),
        cpuPct: median(ok.map((s) => s.cpuPct)),
        loadCpuPct: median(ok.map((s) => s.loadCpuPct)),
        othersCpuPct: median(ok.map((s) => s.othersCpuPct)),
        peakRssMiB: rss == null ? null : rss / 1024,
      });
    }
  }
  return rows;
}

/** Paired CPU/request ratio of Fairway round-robin to `peer`, per workload. */
function cpuRatios(t: ThroughputResult, peer: string): { workload: string; ratio: number | null }[] {
  const workloads = [...new Set(t.samples.map((s) => s.workload))];
  return workloads.map((w) => ({ workload: w, ratio: pairedRatio(t.samples, 'fairway-round-robin', peer, w, (s) => s.cpuUsPerReq) }));
}

export function checks(r: BenchResults): Check[] {
  const out: Check[] = [];
  // 1. pick ≤ 50 ns at all sizes (consistent-hash ≤ 100 ns).
  const limitNs = (balancer: string): number => (balancer === 'consistent-hash' ? 100 : 50);
  if (r.pick.length === 0) out.push({ target: 'pick ≤ 50 ns at all sizes (consistent-hash ≤ 100 ns)', measured: 'no micro figures (micro not run, absent, or output not recognised)', met: null });
  else {
    const worst = r.pick.map((p) => `${p.balancer} ≤ ${fix(p.worstNs)} ns`).join(', ');
    // The target is about pick() alone; a figure that includes onStart + onFinish (pick-alloc,
    // or an older pick.bench) is shown but cannot decide it.
    const alone = r.pick[0]!.source.includes('pick() alone');
    out.push({
      target: 'pick ≤ 50 ns at all sizes (consistent-hash ≤ 100 ns)',
      measured: `worst per balancer (${r.pick[0]!.source}): ${worst}${alone ? '' : '; pick() alone is timed by pick.bench.ts (default run or --only micro)'}`,
      met: alone ? r.pick.every((p) => p.worstNs <= limitNs(p.balancer)) : null,
    });
  }
  // 2. Fairway CPU µs/req against peers.
  const t = r.throughput;
  for (const [peer, limit] of [
    ['haproxy', 2],
    ['fastify-http-proxy', 0.6],
    ['http-proxy-3', 0.5],
  ] as const) {
    const name = `Fairway CPU µs/req ≤ ${limit}× ${peer}'s`;
    const ran = t !== null && t.samples.some((s) => s.target === peer && s.result !== null) && t.samples.some((s) => s.target === 'fairway-round-robin' && s.result !== null);
    if (!ran) {
      const why = t?.skipped.find((s) => s.target === peer)?.reason ?? 'not in this run';
      out.push({ target: name, measured: `not measured: ${why}`, met: null });
      continue;
    }
    const rs = cpuRatios(t, peer).filter((x) => x.ratio !== null);
    out.push({
      target: name,
      measured: `round-robin, paired median per workload: ${rs.map((x) => `${x.workload} ${ratio(x.ratio)}`).join('; ')}`,
      met: rs.length > 0 && rs.every((x) => x.ratio! <= limit),
    });
  }
  // Not a target, a yardstick: Fairway against the bare design it is built on (same process model).
  if (t !== null && t.samples.some((s) => s.target === 'undici-dispatch' && s.result !== null) && t.samples.some((s) => s.target === 'fairway-round-robin' && s.result !== null)) {
    const rs = cpuRatios(t, 'undici-dispatch').filter((x) => x.ratio !== null);
    out.push({ target: '(yardstick, no target) Fairway CPU µs/req vs bare undici dispatch', measured: rs.map((x) => `${x.workload} ${ratio(x.ratio)}`).join('; '), met: null });
  }
  // The floor of a Node L7 proxy: node:net + llhttp relay (no node:http, no undici dispatcher).
  if (t !== null && t.samples.some((s) => s.target === 'relay' && s.result !== null) && t.samples.some((s) => s.target === 'fairway-round-robin' && s.result !== null)) {
    const rs = cpuRatios(t, 'relay').filter((x) => x.ratio !== null);
    out.push({ target: '(yardstick, no target) Fairway CPU µs/req vs net + llhttp relay', measured: rs.map((x) => `${x.workload} ${ratio(x.ratio)}`).join('; '), met: null });
  }
  // Not a target: the current tree against the --baseline ref, same run, same repeat.
  if (t !== null && r.baseline != null && t.samples.some((s) => s.target === 'fairway-baseline' && s.result !== null)) {
    const rs = cpuRatios(t, 'fairway-baseline').filter((x) => x.ratio !== null);
    out.push({ target: `(comparison, no target) Fairway CPU µs/req vs ${r.baseline.ref} (fairway-baseline)`, measured: rs.map((x) => `${x.workload} ${ratio(x.ratio)}`).join('; '), met: null });
  }
  // Connection-scale targets (conn-scale part only).
  if (r.connScale != null) out.push(...connScaleChecks(r.connScale.rows));
  // 3. ewma p99 ≤ 1/5 round-robin p99 with one slow upstream.
  const slow = (b: string) => r.scenarios.find((s) => s.scenario === 'slow-upstream' && s.balancer === b)?.result?.latencyUs.p99 ?? null;
  const rr = slow('round-robin');
  const ew = slow('ewma');
  out.push({
    target: 'ewma p99 ≤ 1/5 of round-robin p99, one slow upstream',
    measured: rr === null || ew === null ? 'not measured' : `ewma ${usAsMs(ew)} ms vs round-robin ${usAsMs(rr)} ms = ${(ew / rr).toFixed(3)}×`,
    met: rr === null || ew === null ? null : ew * 5 <= rr,
  });
  // 4. Zero failed requests when an upstream is killed.
  const killed = r.scenarios.filter((s) => s.scenario === 'killed-upstream');
  out.push({
    target: 'zero failed requests, upstream killed mid-run',
    measured: killed.length === 0 ? 'not measured' : killed.map((s) => `${s.balancer} ${s.failed ?? 'n/a'}`).join(', '),
    met: killed.length === 0 || killed.some((s) => s.failed === null) ? null : killed.every((s) => s.failed === 0),
  });
  return out;
}

const yesNo = (m: boolean | null): string => (m === null ? 'n/a' : m ? '**yes**' : '**NO**');

function table(head: string[], rows: string[][], align?: string[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [`| ${head.join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function pct(x: number): string {
  return Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)} %`;
}

function scenarioSection(name: ScenarioName, rows: readonly ScenarioRow[], p: Profile): string {
  const rs = rows.filter((r) => r.scenario === name);
  if (rs.length === 0) return '';
  const sc = p.scenario;
  const killed = name === 'killed-upstream';
  const hot = name === 'hot-key';
  const dur = killed ? sc.killMeasureS : sc.measureS;
  const lines = [
    `### ${name}: ${SCENARIO_TEXT[name]}`,
    '',
    `Open loop: ${sc.rate} req/s at a constant rate (one request every ${(1000 / sc.rate).toFixed(2)} ms, latency counted from the scheduled send time) over up to ${sc.connections} connections, ${sc.warmS} s warm-up, ${dur} s measured${killed ? `, upstream c SIGKILLed at t = ${sc.killAtS} s` : ''}; one run per balancer, each on a fresh Fairway. Shares are from the upstreams' own counters over the measured run.${name === 'failing-upstream' ? ' The upstream set is shared across balancers; whether Fairway ejects c (5 consecutive failures) during warm-up is a matter of chance at 20 %, and decides its share.' : ''}${killed ? ' "Survivors a : b" is how a and b split the measured run; "EWMA at the end" is each survivor\'s estimate in /status after it (the ewma row).' : ''}${hot ? ` Key header \`${HOT_KEY.header}\`: "hot" on ${HOT_KEY.hotShare * 100} % of requests, else one of ${HOT_KEY.count.toLocaleString('en-US')} keys. Without bounded loads the hot key's upstream takes its half plus a third of the rest (≈ 67 %); with loadFactor 125 % its in-flight stays within 1.25 × the mean, so the overflow goes to the key's next upstream.` : ''} Fairway's consistent-hash targets key on \`${HOT_KEY.header}\`; in the other scenarios its requests carry one of ${HOT_KEY.count.toLocaleString('en-US')} keys.`,
    '',
  ];
  const rrP99 = rs.find((r) => r.balancer === 'round-robin')?.result?.latencyUs.p99 ?? null;
  const head = ['balancer', 'req/s', 'share a', 'share b', 'share c', 'p50 ms', 'p99 ms', 'p99 × round-robin', 'p99.9 ms', 'client-visible failures', 'Fairway retries', 'c answered 503', 'c at the end (Fairway /status)'];
  if (killed) head.push('survivors a : b', 'EWMA at the end a / b ms');
  if (hot) head.push('largest share');
  const body = rs.map((r) => {
    const res = r.result;
    const sh = (i: number): string => {
      const s = r.shares?.[i];
      if (s === undefined) return '–';
      if (killed && i === 2) return 'killed';
      return pct(s.share);
    };
    const c = r.shares?.[2];
    const row = [
      r.balancer,
      res === null ? `failed: ${r.error?.split('\n')[0] ?? ''}` : int(res.rps),
      sh(0),
      sh(1),
      sh(2),
      usAsMs(res?.latencyUs.p50 ?? null),
      usAsMs(res?.latencyUs.p99 ?? null),
      rrP99 === null || res?.latencyUs.p99 == null ? '–' : ratio(res.latencyUs.p99 / rrP99),
      usAsMs(res?.latencyUs.p99_9 ?? null),
      r.failed === null ? '–' : `${r.failed}${res !== null && r.failed > 0 ? ` of ${int(res.ok + res.non2xx + res.errors)}` : ''}`,
      r.retries === null ? '–' : String(r.retries),
      name === 'failing-upstream' && c !== undefined && !Number.isNaN(c.failed) ? String(c.failed) : '–',
      r.cState ?? '–',
    ];
    if (killed) {
      const split = survivorSplit(r);
      const e = r.ewmaMs;
      row.push(
        split === null ? '–' : `${(split * 100).toFixed(0)} : ${((1 - split) * 100).toFixed(0)}`,
        e === null || (e[0] == null && e[1] == null) ? '–' : `${e[0]?.toFixed(2) ?? '–'} / ${e[1]?.toFixed(2) ?? '–'}`,
      );
    }
    if (hot) row.push(r.shares === null ? '–' : pct(Math.max(...r.shares.map((x) => x.share))));
    return row;
  });
  lines.push(table(head, body));
  return lines.join('\n');
}

/** `--baseline`: the baseline, the current tree and undici-dispatch side by side, paired ratios per workload. */
function baselineSection(r: BenchResults): string {
  const t = r.throughput;
  if (t === null || r.baseline == null) return '';
  const names = ['fairway-baseline', 'fairway-round-robin', 'undici-dispatch'];
  const label = (n: string): string => (n === 'fairway-baseline' ? `fairway-baseline (${r.baseline!.ref}, ${r.baseline!.commit.slice(0, 9)})` : n === 'fairway-round-robin' ? `fairway-round-robin (this tree, ${r.machine.commit})` : n);
  const cpu = (s: Sample): number | null => s.cpuUsPerReq;
  const rps = (s: Sample): number | null => s.result?.rps ?? null;
  const body: string[][] = [];
  for (const w of [...new Set(t.samples.map((s) => s.workload))]) {
    for (const n of names) {
      const ok = t.samples.filter((s) => s.workload === w && s.target === n && s.result !== null);
      if (ok.length === 0) continue;
      const vs = (base: string, f: (s: Sample) => number | null): string => (base === n ? '1.00×' : ratio(pairedRatio(t.samples, n, base, w, f)));
      body.push([
        w,
        label(n),
        fix(median(ok.map(cpu))),
        int(median(ok.map(rps))),
        vs('undici-dispatch', cpu),
        vs('fairway-round-robin', cpu),
        vs('undici-dispatch', rps),
        vs('fairway-round-robin', rps),
      ]);
    }
  }
  if (body.length === 0) return '';
  return [
    `## Baseline: ${r.baseline.ref} against this tree`,
    '',
    'Same run, same upstreams, interleaved (fairway-baseline runs right after fairway-round-robin in every repeat). Medians over repeats; ratios are medians of per-repeat ratios. CPU × fairway-round-robin above 1 means the baseline costs more than this tree.',
    '',
    table(['workload', 'target', 'CPU µs/req', 'req/s', 'CPU × undici-dispatch', 'CPU × fairway-round-robin', 'req/s × undici-dispatch', 'req/s × fairway-round-robin'], body),
  ].join('\n');
}

/** The whole report as Markdown. */
export function renderMarkdown(r: BenchResults, svgName: string | null): string {
  const m = r.machine;
  const p = r.profile;
  const out: string[] = [];
  out.push(`# Fairway benchmark, ${m.date.slice(0, 19).replace('T', ' ')} UTC`);
  out.push('');
  out.push(
    `- machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memTotalGiB} GiB RAM, ${m.platform}; load average before ${r.loadavg.before.map((x) => x.toFixed(2)).join(' ')}, after ${r.loadavg.after.map((x) => x.toFixed(2)).join(' ')}`,
  );
  out.push(`- node ${m.node}; commit ${m.commit}; mode \`${r.mode}\`${r.only.length > 0 ? ` --only ${r.only.join(',')}` : ''}; wall time ${Math.round(r.wallS)} s`);
  out.push(
    `- throughput runs: ${p.repeats === 1 ? '1 repeat' : `${p.repeats} repeats, interleaved (each repeat runs every target on every workload, A B A B)`}, ${p.measureS} s measured per run; warm-up ${p.warmFirstS} s before a target's first run of a workload${p.repeats > 1 ? ` and ${p.warmNextS} s before later repeats (processes stay up, so JIT and upstream pools stay warm)` : ''}; figures are medians over repeats, ratios are medians of per-repeat ratios to the baseline measured in the same repeat`,
  );
  out.push('- upstreams, proxy and load generator (autocannon, own process) are separate processes on 127.0.0.1, unpinned; with 2 cores they compete for CPU, so only the ratios of one run mean much');
  for (const n of r.notes) out.push(`- ${n}`);
  out.push('');

  // Targets first: what the reader wants.
  out.push('## Targets');
  out.push('');
  out.push(table(['target', 'measured', 'met'], checks(r).map((c) => [c.target, c.measured, yesNo(c.met)]), [':--', ':--', ':-:']));
  out.push('');

  if (r.throughput !== null) {
    const rows = aggregate(r.throughput);
    out.push('## Throughput and cost');
    out.push('');
    out.push(
      'Closed loop, keep-alive, pipelining 1. Latency in ms from the load generator\'s own µs histogram (2xx only, no coordinated-omission correction); "ac p99" is autocannon\'s own p99, which has 1 ms resolution. "CPU µs/req" is the target process\'s utime+stime from /proc over the run ÷ responses (10 ms tick resolution); for `direct` it is the upstream\'s own cost. "CPU %" is of one core; "load gen %" is autocannon\'s process; "others %" is CPU used by processes outside the bench during the run (noise). × HAProxy compares CPU/request with HAProxy in the same repeat.',
    );
    out.push('');
    for (const w of [...new Set(rows.map((x) => x.workload))]) {
      out.push(`### ${w}`);
      out.push('');
      const head = ['target', 'req/s (min–max)', '× direct', 'p50 ms', 'p99 ms', 'p99.9 ms', 'p99 × direct', 'ac p99 ms', 'failed', 'CPU µs/req', '× HAProxy', 'CPU %', 'load gen %', 'others %', 'peak RSS MiB'];
      const body = rows
        .filter((x) => x.workload === w)
        .map((x) => [
          x.target === 'direct' ? 'direct (baseline)' : x.target,
          x.rps === null ? 'failed' : `${int(x.rps)} (${int(x.rpsRange?.[0] ?? null)}–${int(x.rpsRange?.[1] ?? null)})`,
          ratio(x.rpsVsDirect),
          usAsMs(x.p50Us),
          usAsMs(x.p99Us),
          usAsMs(x.p999Us),
          ratio(x.p99VsDirect),
          fix(x.autocannonP99Ms, 0),
          String(x.failed),
          fix(x.cpuUsPerReq),
          ratio(x.cpuVsHaproxy),
          fix(x.cpuPct, 0),
          fix(x.loadCpuPct, 0),
          fix(x.othersCpuPct, 0),
          fix(x.peakRssMiB, 0),
        ]);
      out.push(table(head, body));
      out.push('');
    }
    for (const s of r.throughput.skipped) out.push(`- skipped ${s.target}: ${s.reason}`);
    if (r.throughput.skipped.length > 0) out.push('');
    const failedRuns = r.throughput.samples.filter((s) => s.result === null);
    for (const s of failedRuns) out.push(`- run failed: ${s.target} ${s.workload} r${s.repeat}: ${s.error}`);
    if (failedRuns.length > 0) out.push('');
  }

  const base = baselineSection(r);
  if (base !== '') out.push(base, '');
  if (r.throughput !== null) {
    const vs = variantsSection(r.throughput.samples);
    if (vs !== '') out.push(vs, '');
  }
  if (r.throughput !== null) {
    const where = cpuWhereSection(r.throughput.samples, r.syscalls ?? []);
    if (where !== '') out.push(where, '');
  }
  // With Fairway alone profiled (--profile), its own section below says it all.
  if ((r.nodeProfiles ?? []).length > 1) out.push(nodeProfilesSection(r.nodeProfiles!, r.throughput?.samples ?? []), '');
  if (r.connScale != null) {
    const cs = connScaleSection(r.connScale.rows, r.connScale.skipped, r.profile.connScale);
    if (cs !== '') out.push(cs, '');
  }

  if (r.scenarios.length > 0) {
    out.push('## Scenarios: what each balancer does');
    out.push('');
    out.push('Three upstreams behind Fairway (sidecar form, defaults: 3 attempts, 20 % retry budget, passive ejection, no active health checks). Latency from the load generator\'s µs histogram, 2xx only.');
    out.push('');
    for (const name of ['slow-upstream', 'failing-upstream', 'killed-upstream', 'hot-key'] as const) {
      const s = scenarioSection(name, r.scenarios, p);
      if (s !== '') out.push(s, '');
    }
  }

  if (svgName !== null) {
    out.push(`Chart: [${svgName}](${svgName}) (latency percentiles per target; request share per balancer with one slow upstream).`);
    out.push('');
  }

  if (r.cpuProfile !== null) {
    const cp = r.cpuProfile;
    out.push('## CPU profile of Fairway (round-robin, 13 B × 50 conns)');
    out.push('');
    if (cp.summary === null) out.push(`Profile failed: ${cp.error}`);
    else {
      const sm = cp.summary;
      out.push(
        `${fix(cp.cpuUsPerReq)} µs CPU per request while profiled (the profiler adds overhead); ${fix(sm.busyMs, 0)} ms busy of ${fix(sm.totalMs, 0)} ms profiled (the measured load run only: start-up and warm-up samples are cut off). Percentages are of busy time. V8 samples the main thread's wall time, so time the thread spends descheduled inside a syscall (likely on 2 shared cores) is counted in \"native calls\"; /proc CPU time above is the cost that counts. Profile: \`${cp.file}\`.`,
      );
      out.push('');
      const fnTable = (rows: { name: string; ms: number; pct: number }[], code = true): string =>
        table(['', 'ms', '% of busy'], rows.map((f) => [code ? `\`${f.name}\`` : f.name, fix(f.ms), fix(f.pct)]));
      out.push('Busy time by area (self time of the function on top of the stack):', '', fnTable(sm.byArea, false), '');
      out.push('Inside src/, inclusive (the function and everything it calls, Node and undici included):', '', fnTable(sm.topInSrcInclusive), '');
      out.push('Inside src/, self time only:', '', fnTable(sm.topInSrc), '');
      out.push('Top self time overall:', '', fnTable(sm.top));
    }
    out.push('');
  }

  if (r.micro.length > 0) {
    out.push('## Micro benches (balancer hot path), output verbatim');
    out.push('');
    for (const mr of r.micro) {
      out.push(`### bench/micro/${mr.script}${mr.args.length > 0 ? ` ${mr.args.join(' ')}` : ''} (${mr.status}, ${fix(mr.wallS)} s)`);
      out.push('');
      out.push('```text');
      out.push(mr.output);
      out.push('```');
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
