// Config problems as the operator sees them: ConfigIssue (file:line:col + key path + message),
// ConfigError carrying all of them at once, key-path formatting and "did you mean" hints.
// Finding line and column in a YAML file is load.ts's job; this module only formats.

/** A key path as segments: object keys and array indexes, e.g. ['pools', 'api', 'upstreams', 1, 'url']. */
export type KeyPath = readonly (string | number)[];

/** A problem found before its position in a file is known. `at: 'key'` points at the key itself rather than its value. */
export interface PathIssue {
  readonly path: KeyPath;
  readonly message: string;
  readonly at?: 'key' | 'value';
}

/** One problem in a config, located as precisely as possible. */
export interface ConfigIssue {
  /** The file as the caller named it; null when the value came from flags or a plain object. */
  readonly file: string | null;
  /** 1-based; null only without a position in a file (flags, a plain object, an unreadable file). A missing key is at its parent. */
  readonly line: number | null;
  /** 1-based; null exactly when `line` is. */
  readonly column: number | null;
  /** Key path, dots for keys and [i] for indexes: `pools.api.upstreams[1].url`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** Renders one issue: `fairway.yaml:14:7 pools.api.balancer: must be one of …`, `<flags> listen[0]: …`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file === null ? '<flags>' : issue.line === null ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/**
 * Every problem of a config, thrown together so the operator fixes them in one pass and the
 * process never starts half-configured. `message` holds the full listing too, so an uncaught
 * ConfigError is still readable.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const list = Object.freeze([...issues]);
    super(`invalid configuration (${list.length} ${list.length === 1 ? 'problem' : 'problems'}):\n${list.map(formatIssue).join('\n')}`);
    this.issues = list;
  }

  /** Same as the module's {@link formatIssue}, for callers that only import the class. */
  static formatIssue(issue: ConfigIssue): string {
    return formatIssue(issue);
  }

  /** One line per issue, in order, without a trailing newline. */
  format(): string {
    return this.issues.map(formatIssue).join('\n');
  }
}

/** Formats a key path: `['pools', 'api', 'upstreams', 1, 'url']` → `pools.api.upstreams[1].url`. Odd keys are quoted: `a["b.c"]`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so `balnacer` is one
 * edit from `balancer`. O(a × b) time, O(b) memory.
 */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The candidate closest to `input` (case-insensitive), or undefined when none is close enough
 * to be a plausible typo: at most 1 edit for inputs up to 3 characters, 2 up to 7, 3 beyond.
 * Ties go to the earlier candidate. Without a typo, a candidate that contains an input of 4 or
 * more characters (`path` → `pathPrefix`).
 */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  const limit = needle.length <= 3 ? 1 : needle.length <= 7 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  let containing: string | undefined;
  for (const c of candidates) {
    const lower = c.toLowerCase();
    const d = editDistance(needle, lower);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
    if (containing === undefined && needle.length >= 4 && lower.includes(needle)) containing = c;
  }
  return best ?? containing;
}

/** ` (did you mean 'x'?)` when a candidate is close to `input`, else ''. Ready to append to a message. */
export function suggestion(input: string, candidates: Iterable<string>): string {
  const best = didYouMean(input, candidates);
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}
