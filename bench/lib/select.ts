// What a run includes: turns the mode and --only names into the micro flag, the throughput
// targets and the scenarios. Pure; unknown names are an error listing the valid ones.

import { BALANCERS, PEERS } from '../e2e/targets.ts';
import { SCENARIOS, type Mode, type ScenarioName } from './options.ts';

export interface Selection {
  micro: boolean;
  /** The TLS/HTTP/2 part (bench/tls): in the default run, or with --only tls. */
  tls: boolean;
  /** Throughput targets in run order; empty = no throughput matrix. Always starts with "direct". */
  targets: string[];
  scenarios: ScenarioName[];
  /** The conn-scale part (only when named: it takes minutes). */
  connScale: boolean;
  /** `peers` was named: the floor comparison (strace and per-process profiles follow it). */
  peers: boolean;
}

const FAIRWAY = BALANCERS.map((b) => `fairway-${b}`);
export const TARGET_NAMES: readonly string[] = ['direct', ...FAIRWAY, ...PEERS];
/** Fairway from another git ref (`--baseline REF`); only exists when that flag is given. */
export const BASELINE_TARGET = 'fairway-baseline';
/** What a baseline is compared with in the same run: added along with it. */
const BASELINE_COMPANIONS = ['fairway-round-robin', 'undici-dispatch'] as const;

export interface SelectOptions {
  /** --baseline was given: add `fairway-baseline` and its companions. */
  baseline?: boolean;
  /** --variant names (BASE+TAG): each runs right after its base, which is added if missing. */
  variants?: readonly { name: string; base: string }[];
}

/** Decides the run's contents. `only` names are lower-case. */
export function select(mode: Mode, only: readonly string[], opts: SelectOptions = {}): Selection {
  return withVariants(withBaseline(mode, only, opts), opts.variants ?? []);
}

/** Adds each variant right after its base (and the base, and direct, when missing). */
function withVariants(sel: Selection, variants: readonly { name: string; base: string }[]): Selection {
  if (variants.length === 0) return sel;
  for (const v of variants) {
    if (!TARGET_NAMES.includes(v.base) && v.base !== BASELINE_TARGET) throw new Error(`--variant ${v.name}: unknown base target '${v.base}'`);
    if (v.base === 'direct' || v.base === 'haproxy' || v.base === 'nginx') throw new Error(`--variant ${v.name}: only Node targets take variants`);
  }
  const base = sel.targets.length === 0 ? ['direct'] : [...sel.targets];
  for (const v of variants) if (!base.includes(v.base)) base.push(v.base);
  const targets: string[] = [];
  for (const t of base) {
    targets.push(t);
    for (const v of variants) if (v.base === t) targets.push(v.name);
  }
  return { ...sel, targets };
}

function withBaseline(mode: Mode, only: readonly string[], opts: SelectOptions): Selection {
  const sel = selectNamed(mode, only);
  if (opts.baseline !== true) {
    if (only.includes(BASELINE_TARGET)) throw new Error(`--only ${BASELINE_TARGET}: give --baseline REF to say which ref it runs`);
    return sel;
  }
  // fairway-baseline runs right after fairway-round-robin, so the two are measured back to back.
  const wanted = new Set([...sel.targets, 'direct', ...BASELINE_COMPANIONS]);
  const targets: string[] = [];
  for (const t of TARGET_NAMES) {
    if (!wanted.has(t)) continue;
    targets.push(t);
    if (t === 'fairway-round-robin') targets.push(BASELINE_TARGET);
  }
  return { ...sel, targets };
}

function selectNamed(mode: Mode, only: readonly string[]): Selection {
  if (only.length === 0) {
    if (mode === 'smoke') return { micro: true, tls: false, targets: ['direct', 'fairway-round-robin'], scenarios: ['killed-upstream'], connScale: false, peers: false };
    return { micro: true, tls: mode === 'default', targets: [...TARGET_NAMES], scenarios: [...SCENARIOS], connScale: false, peers: true };
  }
  let micro = false;
  let tls = false;
  let connScale = false;
  let peers = false;
  const targets = new Set<string>();
  const scenarios = new Set<ScenarioName>();
  for (const name of only) {
    if (name === BASELINE_TARGET) continue; // added by select() when --baseline is given
    if (name === 'micro') micro = true;
    else if (name === 'conn-scale') connScale = true;
    else if (name === 'tls') tls = true;
    else if (name === 'e2e' || name === 'fairway') for (const t of FAIRWAY) targets.add(t);
    else if (name === 'peers') {
      peers = true;
      targets.add('fairway-round-robin');
      for (const p of PEERS) targets.add(p);
    } else if (name === 'scenarios') for (const s of SCENARIOS) scenarios.add(s);
    else if ((SCENARIOS as readonly string[]).includes(name)) scenarios.add(name as ScenarioName);
    else if (TARGET_NAMES.includes(name)) targets.add(name);
    else {
      throw new Error(
        `--only: unknown name '${name}'. Valid: micro, tls, e2e, peers, scenarios, conn-scale, fairway, ${TARGET_NAMES.join(', ')}, ${SCENARIOS.join(', ')}`,
      );
    }
  }
  // Keep the canonical order (interleaving A B A B in a stable order); direct is every table's baseline.
  const ordered = targets.size === 0 ? [] : TARGET_NAMES.filter((t) => t === 'direct' || targets.has(t));
  return { micro, tls, targets: ordered, scenarios: SCENARIOS.filter((s) => scenarios.has(s)), connScale, peers };
}
