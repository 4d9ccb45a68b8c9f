import { describe, expect, it } from 'vitest';
import type { PathIssue } from './errors.ts';
import { expandEnv, expandString } from './env.ts';

const env = { HOST: '127.0.0.1', PORT: '3000', EMPTY: '' };

describe('expandString', () => {
  it('replaces ${VAR} and ${VAR:-default}', () => {
    expect(expandString('http://${HOST}:${PORT}', env)).toEqual({ ok: true, value: 'http://127.0.0.1:3000' });
    expect(expandString('${MISSING:-5s}', env)).toEqual({ ok: true, value: '5s' });
    expect(expandString('${PORT:-80}', env)).toEqual({ ok: true, value: '3000' });
    expect(expandString('${MISSING:-}', env)).toEqual({ ok: true, value: '' });
  });

  it('uses the default for a set but empty variable, and the empty value without a default (POSIX :-)', () => {
    expect(expandString('${EMPTY:-x}', env)).toEqual({ ok: true, value: 'x' });
    expect(expandString('${EMPTY}', env)).toEqual({ ok: true, value: '' });
  });

  it('keeps $${ as a literal ${ and a lone $ as is', () => {
    expect(expandString('$${HOST}', env)).toEqual({ ok: true, value: '${HOST}' });
    expect(expandString('cost: $5 and $HOST', env)).toEqual({ ok: true, value: 'cost: $5 and $HOST' });
    expect(expandString('a$', env)).toEqual({ ok: true, value: 'a$' });
  });

  it('does not expand inside defaults or values', () => {
    expect(expandString('${MISSING:-${HOST}', env)).toEqual({ ok: true, value: '${HOST' });
    expect(expandString('${X}', { X: '${HOST}' })).toEqual({ ok: true, value: '${HOST}' });
  });

  it('reports unset variables by name, with the way to default them', () => {
    expect(expandString('${FAIRWAY_ADMIN_TOKEN}', env)).toEqual({
      ok: false,
      message: 'environment variable FAIRWAY_ADMIN_TOKEN is not set (write ${FAIRWAY_ADMIN_TOKEN:-} for an empty default)',
    });
    expect(expandString('${A}:${B}:${A}', env)).toEqual({
      ok: false,
      message: 'environment variables A, B are not set (write ${NAME:-} for an empty default)',
    });
  });

  it('reports malformed references', () => {
    expect(expandString('${HOST', env)).toEqual({ ok: false, message: "unterminated '${' in '${HOST' (write $${ for a literal ${)" });
    expect(expandString('${1X}', env)).toEqual({
      ok: false,
      message: "invalid variable reference '${1X}' (use ${NAME} or ${NAME:-default}; write $${ for a literal ${)",
    });
    expect(expandString('${}', env).ok).toBe(false);
    expect(expandString('${A-b}', env).ok).toBe(false);
  });
});

describe('expandEnv', () => {
  it('expands string values at any depth, leaves keys and other types alone, and does not modify its input', () => {
    const input = { '${HOST}': 1, list: ['${PORT}', 2, true, null], nested: { deep: '${HOST}' } };
    const issues: PathIssue[] = [];
    expect(expandEnv(input, env, issues)).toEqual({ '${HOST}': 1, list: ['3000', 2, true, null], nested: { deep: '127.0.0.1' } });
    expect(issues).toEqual([]);
    expect(input.list[0]).toBe('${PORT}');
  });

  it('reports each failing value at its key path and keeps it as written', () => {
    const issues: PathIssue[] = [];
    const out = expandEnv({ admin: { token: '${T}' }, listen: ['${A}'] }, {}, issues);
    expect(out).toEqual({ admin: { token: '${T}' }, listen: ['${A}'] });
    expect(issues.map((i) => i.path)).toEqual([['admin', 'token'], ['listen', 0]]);
  });

  it('keeps a __proto__ key as a plain key', () => {
    const input: unknown = JSON.parse('{"__proto__": {"polluted": "${HOST}"}}');
    const out = expandEnv(input, env, []) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
