// Merges the Prometheus expositions of several worker processes into one: every family once
// (HELP and TYPE once), every sample with a `worker` label so series never collide.

/** Adds `name="value"` as the first label of a sample line. */
function withLabel(line: string, label: string): string {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace !== -1 && (space === -1 || brace < space)) {
    const rest = line.slice(brace + 1);
    return `${line.slice(0, brace)}{${label}${rest.startsWith('}') ? '' : ','}${rest}`;
  }
  return `${line.slice(0, space)}{${label}}${line.slice(space)}`;
}

/**
 * Merges expositions (index i = worker i). Families keep the order in which they first appear;
 * samples of a family from every worker follow its HELP and TYPE. Pure.
 */
export function mergeExpositions(texts: readonly string[], labelName = 'worker'): string {
  interface Family {
    help: string | null;
    type: string | null;
    samples: string[];
  }
  const families = new Map<string, Family>();
  const familyOf = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { help: null, type: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  texts.forEach((text, i) => {
    const label = `${labelName}="${i}"`;
    let current: Family | null = null;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta !== null) {
        current = familyOf(meta[2]!);
        if (meta[1] === 'HELP') current.help ??= line;
        else current.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      (current ?? familyOf(line.split(/[{ ]/, 1)[0]!)).samples.push(withLabel(line, label));
    }
  });
  let out = '';
  for (const f of families.values()) {
    if (f.help !== null) out += `${f.help}\n`;
    if (f.type !== null) out += `${f.type}\n`;
    for (const s of f.samples) out += `${s}\n`;
  }
  return out;
}
