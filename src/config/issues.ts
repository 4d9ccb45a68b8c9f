// zod issues → operator-facing PathIssues: plain-word messages for zod's codes, one issue per
// unknown key with a "did you mean" hint, unions reported by the branch that fits, and pools
// with invalid names still judged. validateRaw is the schema's entry point for load.ts.

import * as z from 'zod';
import { suggestion, type KeyPath, type PathIssue } from './errors.ts';
import type { ErrorFn } from './fields.ts';
import { isRecord } from './partial.ts';
import { POOL_NAME_PATTERN } from './defaults.ts';
import { poolSchema } from './pool-schema.ts';
import { configSchema, type RawConfig } from './schema.ts';
import { showValue } from './units.ts';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

/** Messages for issues no schema-level `error` handled: the operator-facing wording of zod's codes. */
const issueMessage: ErrorFn = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const name = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (issue.input === null && (issue.expected === 'object' || issue.expected === 'record')) {
        return 'is empty (write {} to use the defaults, or remove the key)';
      }
      return `must be ${name} (got ${showValue(issue.input)})`;
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const hint = typeof issue.input === 'string' ? suggestion(issue.input, values) : '';
      return `must be one of ${values.join(', ')}${hint}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return `must have at least ${min} ${min === 1 ? 'item' : 'items'}`;
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${min} characters long`;
      return `must be at least ${min}`;
    }
    case 'too_big':
      return `must be at most ${Number(issue.maximum)}`;
    case 'unrecognized_keys':
      return `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    default:
      return undefined;
  }
};

/**
 * The keys of the object schema at `path` (through optional, default, array, record, union and
 * pipe wrappers), for "did you mean" hints on unknown keys. Undefined when no object is there.
 */
export function knownKeysAt(schema: z.ZodType, path: KeyPath): readonly string[] | undefined {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return knownKeysAt(schema.unwrap() as z.ZodType, path);
  }
  if (schema instanceof z.ZodPipe) return knownKeysAt(schema.in as z.ZodType, path);
  if (schema instanceof z.ZodUnion) {
    for (const option of schema.options as readonly z.ZodType[]) {
      const keys = knownKeysAt(option, path);
      if (keys !== undefined) return keys;
    }
    return undefined;
  }
  const [head, ...rest] = path;
  if (schema instanceof z.ZodObject) {
    if (head === undefined) return Object.keys(schema.shape);
    const child = typeof head === 'string' ? (schema.shape as Record<string, z.ZodType | undefined>)[head] : undefined;
    return child === undefined ? undefined : knownKeysAt(child, rest);
  }
  if (head === undefined) return undefined;
  if (schema instanceof z.ZodArray && typeof head === 'number') return knownKeysAt(schema.element as z.ZodType, rest);
  if (schema instanceof z.ZodRecord) return knownKeysAt(schema.valueType as z.ZodType, rest);
  return undefined;
}

/** True when a union branch failed only because the value has another type altogether. */
function isTypeMismatch(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.length === 1 && branch[0]?.path.length === 0 && branch[0].code === 'invalid_type';
}

/**
 * zod issues → PathIssues. A union whose branches all but one failed on the value's type is
 * replaced by that branch's own issues (so `{ url: 1 }` reports `url`, not "invalid input").
 * Unknown keys become one issue per key, located at the key, with a "did you mean" hint.
 */
export function schemaIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix: KeyPath = []): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'invalid_union') {
      const relevant = issue.errors.filter((branch) => !isTypeMismatch(branch));
      const only = relevant.length === 1 ? relevant[0] : undefined;
      if (only !== undefined) {
        out.push(...schemaIssues(schema, only, path));
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, path) ?? [];
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key '${key}'${suggestion(key, known)}`, at: 'key' });
      continue;
    }
    if (path.length === 0 && issue.code === 'invalid_type') {
      const input = (issue as { input?: unknown }).input;
      const message =
        input === null || input === undefined
          ? 'the config is empty (it needs at least listen and pools)'
          : `the config must be a mapping of keys (got ${showValue(input)})`;
      out.push({ path, message });
      continue;
    }
    out.push(issue.code === 'invalid_key' ? { path, message: issue.message, at: 'key' } : { path, message: issue.message });
  }
  return out;
}

/** Result of {@link validateRaw}: the typed config, or every schema issue. */
export type RawResult = { readonly ok: true; readonly config: RawConfig } | { readonly ok: false; readonly issues: PathIssue[] };

const PARSE_OPTIONS = { error: issueMessage, reportInput: true } as const;

/** Validates an expanded config object against {@link configSchema}, collecting every issue. */
export function validateRaw(input: unknown): RawResult {
  const result = configSchema.safeParse(input, PARSE_OPTIONS);
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, issues: [...schemaIssues(configSchema, result.error.issues), ...misnamedPoolIssues(input)] };
}

/**
 * zod does not look at the value of a record entry whose key is invalid, so a pool with a bad
 * name would hide its own problems until the name is fixed: judge those pools here.
 */
function misnamedPoolIssues(input: unknown): PathIssue[] {
  const pools = isRecord(input) ? input['pools'] : undefined;
  if (!isRecord(pools)) return [];
  const out: PathIssue[] = [];
  for (const [name, pool] of Object.entries(pools)) {
    if (POOL_NAME_PATTERN.test(name)) continue;
    const result = poolSchema.safeParse(pool, PARSE_OPTIONS);
    if (!result.success) out.push(...schemaIssues(configSchema, result.error.issues, ['pools', name]));
  }
  return out;
}
