// `--variant BASE+TAG=ARGS`: a copy of a Node target started with extra node flags or environment,
// measured interleaved right after its base so the delta of one change (a V8 flag, an undici
// option) is read from the same run. Pure parsing; targets.ts/throughput.ts start them.

/** One variant target. */
export interface Variant {
  /** "undici-dispatch+semi64" */
  readonly name: string;
  /** "undici-dispatch" */
  readonly base: string;
  /** ARGS starting with "--": node flags for the process. */
  readonly nodeArgs: readonly string[];
  /** ARGS of the form KEY=VALUE: environment for the process. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Parses `BASE+TAG=ARGS` (ARGS space-separated; "--flag[=v]" goes to node, "KEY=VALUE" to the
 * environment). Throws with the expected form on anything else.
 */
export function parseVariant(spec: string): Variant {
  const m = /^([a-z0-9-]+)\+([A-Za-z0-9_.-]+)=(.*)$/.exec(spec.trim());
  if (m === null) throw new Error(`--variant '${spec}': expected BASE+TAG=ARGS, e.g. undici-dispatch+semi64=--max-semi-space-size=64`);
  const nodeArgs: string[] = [];
  const env: Record<string, string> = {};
  for (const a of m[3]!.split(/\s+/).filter((x) => x !== '')) {
    if (a.startsWith('--')) nodeArgs.push(a);
    else {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new Error(`--variant '${spec}': '${a}' is neither --node-flag nor KEY=VALUE`);
      env[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return { name: `${m[1]}+${m[2]}`, base: m[1]!, nodeArgs, env };
}
