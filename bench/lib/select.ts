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
}

const FAIRWAY = BALANCERS.map((b) => `fairway-${b}`);
export const TARGET_NAMES: readonly string[] = ['direct', ...FAIRWAY, ...PEERS];

/** Decides the run's contents. `only` names are lower-case. */
export function select(mode: Mode, only: readonly string[]): Selection {
  if (only.length === 0) {
    if (mode === 'smoke') return { micro: true, tls: false, targets: ['direct', 'fairway-round-robin'], scenarios: ['killed-upstream'] };
    return { micro: true, tls: mode === 'default', targets: [...TARGET_NAMES], scenarios: [...SCENARIOS] };
  }
  let micro = false;
  let tls = false;
  const targets = new Set<string>();
  const scenarios = new Set<ScenarioName>();
  for (const name of only) {
    if (name === 'micro') micro = true;
    else if (name === 'tls') tls = true;
    else if (name === 'e2e' || name === 'fairway') for (const t of FAIRWAY) targets.add(t);
    else if (name === 'peers') {
      targets.add('fairway-round-robin');
      for (const p of PEERS) targets.add(p);
    } else if (name === 'scenarios') for (const s of SCENARIOS) scenarios.add(s);
    else if ((SCENARIOS as readonly string[]).includes(name)) scenarios.add(name as ScenarioName);
    else if (TARGET_NAMES.includes(name)) targets.add(name);
    else {
      throw new Error(
        `--only: unknown name '${name}'. Valid: micro, tls, e2e, peers, scenarios, fairway, ${TARGET_NAMES.join(', ')}, ${SCENARIOS.join(', ')}`,
      );
    }
  }
  // Keep the canonical order (interleaving A B A B in a stable order); direct is every table's baseline.
  const ordered = targets.size === 0 ? [] : TARGET_NAMES.filter((t) => t === 'direct' || targets.has(t));
  return { micro, tls, targets: ordered, scenarios: SCENARIOS.filter((s) => scenarios.has(s)) };
}
