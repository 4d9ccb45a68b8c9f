// Builders for the config's value types (durations, sizes, percentages, bounded numbers,
// booleans, checked strings): each is a zod schema whose messages come from units.ts, so the
// schema, the JSON Schema and the parsers never disagree. The config's shape is schema.ts's.

import * as z from 'zod';
import {
  DURATION_PATTERN,
  PERCENT_PATTERN,
  SIZE_PATTERN,
  UnitError,
  parseDuration,
  parsePercent,
  parseSize,
  showValue,
} from './units.ts';

/** A zod error map: the operator-facing message for an issue, or undefined to fall through. */
export type ErrorFn = (issue: z.core.$ZodRawIssue) => string | undefined;

/** "is required" for a missing key, else `must be <what> (got …)`. */
export function expected(what: string): ErrorFn {
  return (issue) => (issue.input === undefined ? 'is required' : `must be ${what} (got ${showValue(issue.input)})`);
}

interface ScalarSpec<T> {
  /** Noun phrase for the type-mismatch message: "a duration like 250ms, 5s or 1m". */
  readonly what: string;
  /** Extra JSON Schema keywords for the numeric form, e.g. `{ type: 'integer', minimum: 0 }`. */
  readonly number: Record<string, unknown>;
  /** JSON Schema pattern for the string form (the check itself is `parse`). */
  readonly pattern: RegExp;
  /** Returns the output value or throws a UnitError with the operator-facing message. */
  readonly parse: (v: number | string) => T;
}

/** Pushes `parse`'s UnitError as an issue instead of throwing it. */
export function parsed<I, T>(parse: (v: I) => T) {
  return (v: I, ctx: z.core.$RefinementCtx<I>): T => {
    try {
      return parse(v);
    } catch (err) {
      if (!(err instanceof UnitError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: v });
      return z.NEVER;
    }
  };
}

/**
 * A scalar written as a number or a string. Strings matter even for numeric keys, because
 * `${VAR}` expansion yields strings (`attempts: ${RETRIES:-3}`). Every message about the value
 * comes from `parse`, so the schema and units.ts never disagree.
 */
export function scalar<T>(spec: ScalarSpec<T>) {
  const error = expected(spec.what);
  return z
    .union([z.number({ error }).meta(spec.number), z.string({ error }).meta({ pattern: spec.pattern.source })], { error })
    .transform(parsed(spec.parse));
}

/** A string checked by a units.ts parser and kept as written; `pattern` only informs the JSON Schema. */
export function checkedString(what: string, pattern: RegExp, check: (s: string) => unknown) {
  return z
    .string({ error: expected(what) })
    .meta({ pattern: pattern.source })
    .transform(parsed((s: string) => (check(s), s)));
}

/** Options of {@link duration} and {@link size}. */
export interface QuantityOptions {
  /** Reject 0 (for values where 0 does not mean "off"). */
  readonly positive?: boolean;
}

/** A duration, kept as written (string or ms number). */
export function duration(opts: QuantityOptions = {}) {
  const positive = opts.positive === true;
  return scalar({
    what: 'a duration like 250ms, 5s or 1m',
    number: positive ? { exclusiveMinimum: 0 } : { minimum: 0 },
    pattern: DURATION_PATTERN,
    parse: (v) => {
      if (parseDuration(v) === 0 && positive) throw new UnitError('must be greater than 0');
      return v;
    },
  });
}

/** A size, kept as written (string or byte count). */
export function size(opts: QuantityOptions = {}) {
  const positive = opts.positive === true;
  return scalar({
    what: 'a size like 512b, 16kb or 10mb',
    number: { type: 'integer', minimum: positive ? 1 : 0 },
    pattern: SIZE_PATTERN,
    parse: (v) => {
      if (parseSize(v) === 0 && positive) throw new UnitError('must be greater than 0');
      return v;
    },
  });
}

/** A percentage 0-100, kept as written (`20%` or a number). */
export function percent() {
  return scalar({
    what: 'a percentage like 20%',
    number: { minimum: 0, maximum: 100 },
    pattern: PERCENT_PATTERN,
    parse: (v) => (parsePercent(v), v),
  });
}

/** Options of {@link numeric}. */
export interface NumericOptions {
  readonly min: number;
  /** Inclusive; absent = no upper bound. */
  readonly max?: number;
  /** Accept fractions (default: integers only). */
  readonly fraction?: boolean;
}

/** A number (integer unless `fraction`) in [min, max]; numeric strings are converted. */
export function numeric(opts: NumericOptions) {
  const { min, max } = opts;
  const fraction = opts.fraction === true;
  const range = max === undefined ? `${min} or more` : `from ${min} to ${max}`;
  const what = `${fraction ? 'a number' : 'an integer'} ${range}`;
  return scalar({
    what,
    number: { type: fraction ? 'number' : 'integer', minimum: min, ...(max === undefined ? {} : { maximum: max }) },
    pattern: fraction ? /^\d+(?:\.\d+)?$/ : /^\d+$/,
    parse: (v): number => {
      const n = typeof v === 'number' ? v : /^\s*-?\d+(?:\.\d+)?\s*$/.test(v) ? Number(v) : Number.NaN;
      if ((!fraction && !Number.isInteger(n)) || !(n >= min) || (max !== undefined && n > max)) {
        throw new UnitError(`must be ${what} (got ${showValue(v)})`);
      }
      return n;
    },
  });
}

/**
 * true or false; the strings "true" and "false" are accepted too, because `${VAR}` expansion
 * yields strings (`watchConfig: ${WATCH:-false}`).
 */
export function flag() {
  const error = expected('true or false');
  return z
    .union([z.boolean({ error }), z.string({ error }).meta({ pattern: '^(?:true|false)$' })], { error })
    .transform(
      parsed((v: boolean | string): boolean => {
        if (typeof v === 'boolean') return v;
        const s = v.trim();
        if (s === 'true' || s === 'false') return s === 'true';
        throw new UnitError(`must be true or false (got ${showValue(v)})`);
      }),
    );
}

/** A string matching `pattern`, else `message`. */
export function matching(pattern: RegExp, message: (s: string) => string) {
  return checkedString('a string', pattern, (s) => {
    if (!pattern.test(s)) throw new UnitError(message(s));
  });
}

/**
 * A file path as written: absolute, or relative to the config file's directory (paths.ts
 * resolves it). Whether the file exists and holds what it should is tls-files.ts's check.
 */
export function filePath(what: string) {
  return z.string({ error: expected(`the path of ${what}`) }).min(1).describe(`Path of ${what}; relative paths start at the config file's directory`);
}
