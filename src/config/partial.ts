// Reading parts of a config that has not passed the schema as a whole: one sub-schema or a
// few keys of a mapping at a time, so a cross-field rule (checks.ts, tls-files.ts) is judged
// as soon as the keys it reads are valid, whatever their siblings are. Owns no rule itself.

import type * as z from 'zod';

/** True for a plain mapping (not null, not a list). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses `input` with a part of the config schema; undefined when that part is invalid. */
export function parsePart<T extends z.ZodType>(part: T, input: unknown): z.output<T> | undefined {
  const result = part.safeParse(input);
  return result.success ? result.data : undefined;
}

/**
 * Some keys of a mapping, each parsed by `schema`'s own rule for it, defaults filled in.
 * Undefined when `input` is not a mapping, when one of the keys has an invalid value, or when
 * one is absent while the mapping has an unknown key: that may be the key misspelled, and its
 * default would be a guess.
 */
export function parseFields<S extends z.ZodObject, K extends keyof S['shape'] & string>(
  schema: S,
  input: unknown,
  keys: readonly K[],
): { [P in K]: z.output<S['shape'][P]> } | undefined {
  if (!isRecord(input)) return undefined;
  const shape = schema.shape as Record<string, z.ZodType>;
  const hasUnknownKey = Object.keys(input).some((k) => !Object.hasOwn(shape, k));
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!Object.hasOwn(input, key) && hasUnknownKey) return undefined;
    const field = shape[key];
    const result = field?.safeParse(Object.hasOwn(input, key) ? input[key] : undefined);
    if (!result?.success) return undefined;
    out[key] = result.data;
  }
  return out as { [P in K]: z.output<S['shape'][P]> };
}
