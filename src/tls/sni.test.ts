import { describe, expect, it } from 'vitest';
import { SniTable } from './sni.ts';

const table = new SniTable([
  { names: ['default.test'], value: 'default' },
  { names: ['a.test', 'www.a.test'], value: 'a' },
  { names: ['*.w.test'], value: 'wild' },
  { names: ['x.w.test'], value: 'x' },
  { names: ['a.test'], value: 'a-again' },
  { names: ['*.W2.Test'], value: 'wild2' },
]);

describe('SniTable', () => {
  it.each([
    ['a.test', 'a'],
    ['www.a.test', 'a'],
    ['default.test', 'default'],
    ['b.w.test', 'wild'],
    ['x.w.test', 'x'], // exact beats a wildcard listed earlier
    ['q.w2.test', 'wild2'], // names in the table are lower-cased too
  ])('%s → %s', (name, expected) => {
    expect(table.select(name)).toBe(expected);
  });

  it('matches case-insensitively and ignores a trailing dot', () => {
    expect(table.select('A.TEST')).toBe('a');
    expect(table.select('B.W.Test')).toBe('wild');
    expect(table.select('a.test.')).toBe('a');
  });

  it('the first certificate naming a host wins', () => {
    expect(table.select('a.test')).toBe('a');
  });

  it('a wildcard covers exactly one label (RFC 6125 §6.4.3)', () => {
    expect(table.match('a.b.w.test')).toBeUndefined();
    expect(table.match('w.test')).toBeUndefined();
    expect(table.match('.w.test')).toBeUndefined();
    expect(table.select('a.b.w.test')).toBe('default');
  });

  it('unknown and empty names get the first certificate', () => {
    expect(table.match('nope.test')).toBeUndefined();
    expect(table.select('nope.test')).toBe('default');
    expect(table.select('')).toBe('default');
    expect(table.fallback).toBe('default');
  });

  it('the fallback is the first entry even when it has no names', () => {
    const t = new SniTable([
      { names: [], value: 1 },
      { names: ['a.test'], value: 2 },
    ]);
    expect(t.select('a.test')).toBe(2);
    expect(t.select('b.test')).toBe(1);
  });

  it('refuses an empty list', () => {
    expect(() => new SniTable([])).toThrow(/at least one/);
  });
});
