// Entry points of the config module: file or text → YAML document (with node ranges) →
// ${VAR} expansion → schema → cross-field checks and PEM file checks → normalized Config. Every problem is
// collected, located at file:line:col when it comes from the file (a problem with no node of
// its own, like a missing key, at its parent; line 1 column 1 for an empty file), and thrown
// as one ConfigError.

import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, visit, type Document } from 'yaml';
import { crossCheck } from './checks.ts';
import { expandEnv, type Env } from './env.ts';
import { ConfigError, formatKeyPath, type ConfigIssue, type KeyPath, type PathIssue } from './errors.ts';
import { validateRaw } from './issues.ts';
import { normalize } from './normalize.ts';
import { isRecord } from './partial.ts';
import { configDir } from './paths.ts';
import { tlsFileIssues } from './tls-files.ts';
import type { Config } from './types.ts';

export type { Env } from './env.ts';

/** Command-line values that replace the file's: flags beat the file. */
export interface ConfigOverrides {
  /** Replaces the top-level `listen` (an empty list means "no override"). */
  readonly listen?: readonly string[] | undefined;
  /** Replaces `admin.listen`, turning the admin server on if the file has no `admin`. */
  readonly admin?: string | undefined;
}

/** Options of {@link loadConfigFile} and {@link parseConfigText}. */
export interface LoadOptions {
  /** Variables for `${VAR}` expansion; defaults to `process.env`. */
  readonly env?: Env | undefined;
  readonly overrides?: ConfigOverrides | undefined;
}

/** Options of {@link buildConfig}. */
export interface BuildOptions {
  /** Variables for `${VAR}` expansion; defaults to `process.env`. */
  readonly env?: Env | undefined;
  /** Always null: a config built from an object has no file (kept for symmetry with Config.source). */
  readonly source?: null | undefined;
}

/**
 * Reads, validates and normalizes a config file.
 * @throws ConfigError with every problem (a missing or unreadable file is one too). Never
 *   returns a partial config.
 */
export function loadConfigFile(path: string, opts: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, line: null, column: null, path: '', message: readFailure(err) }]);
  }
  return parseConfigText(text, path, opts);
}

/**
 * Validates and normalizes config text as if read from `file` (the name used in issues and
 * as Config.source).
 * @throws ConfigError with every problem.
 */
export function parseConfigText(text: string, file: string, opts: LoadOptions = {}): Config {
  const lineCounter = new LineCounter();
  // uniqueKeys off: duplicates are reported below with their key path, and yaml's own message lacks it.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(line, 1), column: col };
  };
  const issues: ConfigIssue[] = [];
  for (const e of doc.errors) issues.push({ file, ...at(e.pos[0]), path: '', message: `invalid YAML: ${e.message}` });
  // After a syntax error the document is a guess: judging its keys would only add noise.
  if (issues.length > 0) throw new ConfigError(issues);
  for (const w of doc.warnings) issues.push({ file, ...at(w.pos[0]), path: '', message: `YAML: ${w.message}` });
  for (const d of duplicateKeys(doc, (offset) => at(offset).line)) issues.push({ file, ...at(d.offset), path: formatKeyPath(d.path), message: d.message });

  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    const offset = unresolvedAlias(doc) ?? 0;
    throw new ConfigError(sortIssues([...issues, { file, ...at(offset), path: '', message: `invalid YAML: ${(err as Error).message}` }]));
  }
  const { value, fromFlags } = applyOverrides(raw, opts.overrides);
  const result = check(value, opts.env ?? process.env, file);
  if (result.ok && issues.length === 0) return result.config;

  for (const issue of result.ok ? [] : result.issues) {
    const flagged = fromFlags.some((p) => startsWith(issue.path, p));
    issues.push({
      file: flagged ? null : file,
      ...(flagged ? { line: null, column: null } : at(locate(doc, issue))),
      path: formatKeyPath(issue.path),
      message: issue.message,
    });
  }
  throw new ConfigError(sortIssues(issues));
}

/**
 * Validates and normalizes a config given as a plain object in the YAML shape (the CLI's
 * sidecar form). `${VAR}` references in its strings are expanded too. Issues have no file.
 * @throws ConfigError with every problem.
 */
export function buildConfig(raw: unknown, opts: BuildOptions = {}): Config {
  const result = check(raw, opts.env ?? process.env, null);
  if (result.ok) return result.config;
  throw new ConfigError(
    result.issues.map((i) => ({ file: null, line: null, column: null, path: formatKeyPath(i.path), message: i.message })),
  );
}

type Checked = { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly issues: PathIssue[] };

/** Expansion, schema and cross-field checks on a JS value; all issues, or the normalized config. */
function check(raw: unknown, env: Env, source: string | null): Checked {
  const issues: PathIssue[] = [];
  const expanded = expandEnv(raw, env, issues);
  // A value that could not be expanded is kept as written; its other complaints would be noise.
  const unexpanded = issues.map((i) => i.path);
  const result = validateRaw(expanded);
  const more = [...(result.ok ? [] : result.issues), ...crossCheck(expanded), ...tlsFileIssues(expanded, configDir(source))];
  issues.push(...more.filter((i) => !unexpanded.some((p) => startsWith(i.path, p))));
  if (!result.ok || issues.length > 0) return { ok: false, issues };
  return { ok: true, config: normalize(result.config, source) };
}

function startsWith(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => seg === path[i]);
}

/** Puts flag values in place of the file's; returns the paths they now own (issues there are `<flags>`). */
function applyOverrides(raw: unknown, overrides: ConfigOverrides | undefined): { value: unknown; fromFlags: KeyPath[] } {
  const listen = overrides?.listen !== undefined && overrides.listen.length > 0 ? [...overrides.listen] : undefined;
  const admin = overrides?.admin;
  const base = raw === null || raw === undefined ? {} : raw;
  if ((listen === undefined && admin === undefined) || !isRecord(base)) return { value: raw, fromFlags: [] };
  const value: Record<string, unknown> = { ...base };
  const fromFlags: KeyPath[] = [];
  if (listen !== undefined) {
    value['listen'] = listen;
    fromFlags.push(['listen']);
  }
  if (admin !== undefined) {
    const section = value['admin'];
    if (section === null || section === undefined) value['admin'] = { listen: admin };
    else if (isRecord(section)) value['admin'] = { ...section, listen: admin };
    fromFlags.push(['admin', 'listen']);
  }
  return { value, fromFlags };
}

/** The text of a YAML map key as it appears in the JS object. */
function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function startOf(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** A `key:` with nothing after it: its value node is an empty null scalar, best shown at the key. */
function isEmptyValue(node: unknown): boolean {
  return node === null || (isScalar(node) && node.value === null && (node.range?.[0] ?? 0) === (node.range?.[1] ?? 0));
}

/**
 * Offset of the YAML node an issue is about: the value at its path, or the key for `at: 'key'`
 * and empty values. For a missing key, the key of its parent, or for a missing top-level key
 * the start of the top-level mapping (its first key). 0 (line 1, column 1) for an empty file.
 */
function locate(doc: Document, issue: PathIssue): number {
  if (isEmptyValue(doc.contents)) return 0;
  return locateIn(doc, issue) ?? startOf(doc.contents) ?? 0;
}

function locateIn(doc: Document, issue: PathIssue): number | undefined {
  let node: unknown = doc.contents;
  let key: unknown = null;
  for (const seg of issue.path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: { key: unknown; value: unknown } | undefined;
    if (isMap(node)) {
      const pair = node.items.findLast((p) => keyText(p.key) === String(seg));
      if (pair) next = { key: pair.key, value: pair.value };
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      next = { key: null, value: node.items[seg] };
    } else if (node !== doc.contents) {
      // The path goes deeper than the YAML (e.g. `url` of an upstream written as a plain string).
      return startOf(node) ?? startOf(key);
    }
    if (next === undefined) return startOf(key) ?? startOf(node);
    ({ key, value: node } = next);
  }
  if ((issue.at === 'key' || isEmptyValue(node)) && startOf(key) !== undefined) return startOf(key);
  return startOf(node) ?? startOf(key);
}

/** Offset of the first alias whose anchor is not defined before it (yaml reports those only on toJS). */
function unresolvedAlias(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      found = startOf(node);
      return visit.BREAK;
    },
  });
  return found;
}

/** Keys defined twice in one mapping, at the second definition. */
function duplicateKeys(doc: Document, lineOf: (offset: number) => number): { offset: number; path: KeyPath; message: string }[] {
  const found: { offset: number; path: KeyPath; message: string }[] = [];
  const walk = (node: unknown, path: KeyPath): void => {
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const name = keyText(pair.key);
        const offset = startOf(pair.key) ?? 0;
        const first = seen.get(name);
        if (first === undefined) seen.set(name, offset);
        else found.push({ offset, path: [...path, name], message: `duplicate key (first defined on line ${lineOf(first)})` });
        walk(pair.value, [...path, name]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return found;
}

/** `<flags>` issues first, then file order; issues without a line keep their order at the end. */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const rank = (i: ConfigIssue): [number, number, number] => [i.file === null ? 0 : 1, i.line ?? Infinity, i.column ?? 0];
  return issues
    .map((issue, index) => ({ issue, index, key: rank(issue) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2] || a.index - b.index)
    .map((x) => x.issue);
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'cannot read the config file: no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read the config file: permission denied';
  if (code === 'EISDIR') return 'cannot read the config file: it is a directory';
  return `cannot read the config file: ${(err as Error).message}`;
}
