// Test-only: a strict parser for the Prometheus text format 0.0.4, used by the unit and
// integration tests to check that /metrics is well-formed. Never imported by runtime code.

/** One sample line. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  type: string | null;
  help: string | null;
  readonly samples: PromSample[];
}

export interface PromText {
  readonly families: ReadonlyMap<string, PromFamily>;
  /** The value of the one sample with exactly these labels (extra labels not allowed); undefined if absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of `name` whose labels include `labels`. */
  samples(name: string, labels?: Record<string, string>): PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;

function parseValue(s: string, line: number): number {
  if (!VALUE.test(s)) throw new Error(`line ${line}: bad value ${JSON.stringify(s)}`);
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(text: string, i: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq === -1) throw new Error(`line ${line}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    i = eq + 1;
    if (text[i] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    i++;
    let v = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n') throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') v += '\\';
        else if (e === '"') v += '"';
        else if (e === 'n') v += '\n';
        else throw new Error(`line ${line}: bad escape \\${e ?? ''}`);
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
    labels[name] = v;
    i++; // closing quote
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected ',' or '}' after label ${name}`);
  }
}

/** The family a sample name belongs to, given the TYPE lines seen. */
function familyOf(name: string, families: Map<string, PromFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const f = families.get(base);
    if (f !== undefined && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return name;
}

function key(labels: Record<string, string>, skip?: string): string {
  return Object.keys(labels)
    .filter((k) => k !== skip)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

/**
 * Parses and validates exposition text. Throws with the line number on: a line outside the
 * grammar, a sample before its family's TYPE, a family without HELP or TYPE, a family split by
 * another, a repeated series, a histogram whose buckets are not cumulative, do not end with
 * le="+Inf", or whose +Inf bucket differs from _count (or lacks _sum/_count).
 */
export function parsePromText(text: string): PromText {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  const closed = new Set<string>();
  let currentFamily: string | null = null;
  const seenSeries = new Set<string>();
  const lines = text.split('\n');
  lines.pop();
  const enter = (fam: string): void => {
    if (currentFamily === fam) return;
    if (closed.has(fam)) throw new Error(`family ${fam} is split (its lines are not contiguous)`);
    if (currentFamily !== null) closed.add(currentFamily);
    currentFamily = fam;
  };
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === '') throw new Error(`line ${line}: empty line`);
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (m === null) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      enter(name);
      let f = families.get(name);
      if (f === undefined) {
        f = { name, type: null, help: null, samples: [] };
        families.set(name, f);
      }
      if (kind === 'TYPE') {
        if (f.type !== null) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type ${rest}`);
        f.type = rest;
      } else {
        if (f.help !== null) throw new Error(`line ${line}: second HELP for ${name}`);
        if (/\\(?![\\n])/.test(rest)) throw new Error(`line ${line}: bad escape in HELP`);
        f.help = rest;
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (nameMatch === null) throw new Error(`line ${line}: no metric name: ${raw}`);
    const name = nameMatch[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') {
      const parsed = parseLabels(raw, i, line);
      labels = parsed.labels;
      i = parsed.end;
    }
    if (raw[i] !== ' ') throw new Error(`line ${line}: expected a space before the value: ${raw}`);
    const fields = raw.slice(i + 1).split(' ');
    if (fields.length < 1 || fields.length > 2) throw new Error(`line ${line}: expected value [timestamp]: ${raw}`);
    const value = parseValue(fields[0]!, line);
    if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) throw new Error(`line ${line}: bad timestamp`);
    const fam = familyOf(name, families);
    const f = families.get(fam);
    if (f === undefined || f.type === null) throw new Error(`line ${line}: sample ${name} before its # TYPE`);
    enter(fam);
    const series = `${name}{${key(labels)}}`;
    if (seenSeries.has(series)) throw new Error(`line ${line}: repeated series ${series}`);
    seenSeries.add(series);
    if (f.type === 'histogram' && name === fam) throw new Error(`line ${line}: bare sample in histogram ${fam}`);
    f.samples.push({ name, labels, value });
  });

  for (const f of families.values()) {
    if (f.help === null) throw new Error(`family ${f.name} has no # HELP`);
    if (f.type === null) throw new Error(`family ${f.name} has no # TYPE`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`counter ${f.name} should end with _total`);
    for (const s of f.samples) {
      if (f.type === 'counter' && !(s.value >= 0)) throw new Error(`counter ${s.name} is negative or NaN`);
    }
    if (f.type === 'histogram') checkHistogram(f);
  }

  const matches = (s: PromSample, want: Record<string, string>): boolean => Object.entries(want).every(([k, v]) => s.labels[k] === v);
  return {
    families,
    samples(name, labels = {}) {
      const f = families.get(familyOf(name, families));
      return (f?.samples ?? []).filter((s) => s.name === name && matches(s, labels));
    },
    value(name, labels = {}) {
      const f = families.get(familyOf(name, families));
      const want = key(labels);
      const s = (f?.samples ?? []).find((x) => x.name === name && key(x.labels) === want);
      return s?.value;
    },
  };
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  const group = (labels: Record<string, string>): { buckets: [number, number][]; sum?: number; count?: number } => {
    const k = key(labels, 'le');
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { buckets: [] }));
    return g;
  };
  for (const s of f.samples) {
    if (s.name.endsWith('_bucket')) {
      const le = s.labels['le'];
      if (le === undefined) throw new Error(`${s.name} without le`);
      group(s.labels).buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name.endsWith('_sum')) group(s.labels).sum = s.value;
    else if (s.name.endsWith('_count')) group(s.labels).count = s.value;
  }
  for (const [k, g] of groups) {
    const where = `${f.name}{${k}}`;
    if (g.buckets.length === 0) throw new Error(`${where}: no buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${where}: le not ascending`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1]!;
    if (last[0] !== Infinity) throw new Error(`${where}: last bucket is not le="+Inf"`);
    if (g.sum === undefined || g.count === undefined) throw new Error(`${where}: missing _sum or _count`);
    if (last[1] !== g.count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${g.count}`);
  }
}
