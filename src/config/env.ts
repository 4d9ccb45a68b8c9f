// ${VAR} and ${VAR:-default} expansion in every string value of a parsed config (keys are left
// alone). Pure: the environment is passed in, and problems come back as PathIssues for
// load.ts to locate. Type conversion after expansion is the schema's job.

import type { KeyPath, PathIssue } from './errors.ts';

/** An environment: `process.env` or a test's own record. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Result of expanding one string: the value, or an operator-facing reason it cannot be expanded. */
export type Expansion = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

/**
 * Expands one string. `${VAR}` is the variable's value (set but empty gives ''); `${VAR:-def}`
 * falls back to `def` when VAR is unset or empty, as in POSIX shells; `$${` is a literal `${`.
 * A `$` not followed by `{` is kept. Defaults are not expanded again.
 */
export function expandString(s: string, env: Env): Expansion {
  let out = '';
  const unset: string[] = [];
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf('$', i);
    if (dollar === -1) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, dollar);
    if (s.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (s[dollar + 1] !== '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = s.indexOf('}', dollar + 2);
    if (close === -1) return { ok: false, message: `unterminated '\${' in '${s}' (write $\${ for a literal \${)` };
    const ref = REFERENCE.exec(s.slice(dollar + 2, close));
    if (!ref) {
      return {
        ok: false,
        message: `invalid variable reference '${s.slice(dollar, close + 1)}' (use \${NAME} or \${NAME:-default}; write $\${ for a literal \${)`,
      };
    }
    const name = ref[1] ?? '';
    const fallback = ref[2];
    const value = env[name];
    if (fallback !== undefined && (value === undefined || value === '')) out += fallback;
    else if (value !== undefined) out += value;
    else if (!unset.includes(name)) unset.push(name);
    i = close + 1;
  }
  if (unset.length === 1) {
    const name = unset[0] ?? '';
    return { ok: false, message: `environment variable ${name} is not set (write \${${name}:-} for an empty default)` };
  }
  if (unset.length > 1) {
    return { ok: false, message: `environment variables ${unset.join(', ')} are not set (write \${NAME:-} for an empty default)` };
  }
  return { ok: true, value: out };
}

/**
 * Expands every string value in a plain JSON-like tree, returning a new tree (the input is
 * not modified). Each string that cannot be expanded becomes an issue at its path and is
 * kept as written.
 */
export function expandEnv(value: unknown, env: Env, issues: PathIssue[], path: KeyPath = []): unknown {
  if (typeof value === 'string') {
    const result = expandString(value, env);
    if (result.ok) return result.value;
    issues.push({ path, message: result.message });
    return value;
  }
  if (Array.isArray(value)) return value.map((item: unknown, i) => expandEnv(item, env, issues, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: a '__proto__' key stays a plain key (and is then reported as unknown).
      Object.defineProperty(out, key, { value: expandEnv(item, env, issues, [...path, key]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
