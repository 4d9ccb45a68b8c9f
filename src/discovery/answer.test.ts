import { describe, expect, it } from 'vitest';
import {
  combineRound,
  diffAddresses,
  failureKindOf,
  originFor,
  outcomeOfError,
  sameAddresses,
  sortAddresses,
  unionOf,
  type FamilyOutcome,
  type FamilySets,
} from './answer.ts';

const ok = (...addresses: string[]): FamilyOutcome => ({ kind: 'ok', records: addresses.map((address) => ({ address, ttl: 30 })) });
const err = (code: string): FamilyOutcome => outcomeOfError(Object.assign(new Error(`query ${code}`), { code }));
const PREV: FamilySets = { v4: ['10.0.0.1'], v6: ['fd00::1'] };

describe('failureKindOf / outcomeOfError', () => {
  it.each([
    ['ETIMEOUT', 'timeout'],
    ['ESERVFAIL', 'servfail'],
    ['ENOTFOUND', 'nxdomain'],
    ['EREFUSED', 'refused'],
    ['ENODATA', 'empty'],
    ['ECONNREFUSED', 'unreachable'],
    ['EBADRESP', 'other'],
  ])('%s is %s', (code, kind) => {
    expect(failureKindOf(code)).toBe(kind);
  });

  it('ENODATA and ENOTFOUND mean the family has no records; other codes are errors', () => {
    expect(err('ENODATA')).toEqual({ kind: 'absent', nxdomain: false });
    expect(err('ENOTFOUND')).toEqual({ kind: 'absent', nxdomain: true });
    expect(err('ETIMEOUT')).toEqual({ kind: 'error', failure: { kind: 'timeout', code: 'ETIMEOUT', message: 'query ETIMEOUT' } });
    expect(outcomeOfError('weird')).toEqual({ kind: 'error', failure: { kind: 'other', code: 'EUNKNOWN', message: 'weird' } });
  });
});

describe('combineRound', () => {
  it('both families answering replace the set; the lowest TTL is reported', () => {
    const a: FamilyOutcome = { kind: 'ok', records: [{ address: '10.0.0.3', ttl: 5 }, { address: '10.0.0.2', ttl: 60 }] };
    const r = combineRound(PREV, a, ok('fd00::9'));
    expect(r).toEqual({ sets: { v4: ['10.0.0.2', '10.0.0.3'], v6: ['fd00::9'] }, ttlSeconds: 5, failure: null });
  });

  it('a family with no records becomes empty while the other answers', () => {
    expect(combineRound(PREV, ok('10.0.0.7'), err('ENODATA'))).toEqual({
      sets: { v4: ['10.0.0.7'], v6: [] },
      ttlSeconds: 30,
      failure: null,
    });
    expect(combineRound(PREV, err('ENODATA'), ok('fd00::2')).sets).toEqual({ v4: [], v6: ['fd00::2'] });
  });

  it('a failed family keeps its previous set and the round counts as failed', () => {
    const r = combineRound(PREV, ok('10.0.0.8'), err('ETIMEOUT'));
    expect(r.sets).toEqual({ v4: ['10.0.0.8'], v6: ['fd00::1'] });
    expect(r.failure?.kind).toBe('timeout');
  });

  it.each([
    ['both errors', err('ESERVFAIL'), err('ETIMEOUT'), 'servfail'],
    ['error and no records', err('ENODATA'), err('EREFUSED'), 'refused'],
    ['empty answer', err('ENODATA'), err('ENODATA'), 'empty'],
    ['nxdomain', err('ENOTFOUND'), err('ENOTFOUND'), 'nxdomain'],
    ['answers without a valid address', ok('not-an-ip'), err('ENODATA'), 'empty'],
  ])('%s keeps the last good set', (_label, a, aaaa, kind) => {
    const r = combineRound(PREV, a, aaaa);
    expect(r.sets).toBeNull();
    expect(r.failure?.kind).toBe(kind);
  });

  it('records of the wrong family are ignored', () => {
    expect(combineRound(PREV, ok('10.0.0.1', 'fd00::5'), ok('10.0.0.2')).sets).toEqual({ v4: ['10.0.0.1'], v6: [] });
  });
});

describe('address sets', () => {
  it('sorts numerically, IPv4 before IPv6, without duplicates', () => {
    expect(sortAddresses(['fd00::10', '127.0.0.10', '::1', '127.0.0.9', 'fd00::9', '127.0.0.9', '2001:db8::1'])).toEqual([
      '127.0.0.9',
      '127.0.0.10',
      '::1',
      '2001:db8::1',
      'fd00::9',
      'fd00::10',
    ]);
    expect(sortAddresses(['1:2:3:4:5:6:7:9', '1:2:3:4:5:6:7:8'])).toEqual(['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:9']);
  });

  it('union puts IPv4 first', () => {
    expect(unionOf({ v4: ['10.0.0.1'], v6: ['::1'] })).toEqual(['10.0.0.1', '::1']);
  });

  it('diff names added and removed addresses', () => {
    expect(diffAddresses(['a', 'b', 'c'], ['b', 'c', 'd'])).toEqual({ added: ['d'], removed: ['a'] });
    expect(diffAddresses([], ['a'])).toEqual({ added: ['a'], removed: [] });
    expect(sameAddresses(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameAddresses(['a', 'b'], ['a'])).toBe(false);
    expect(sameAddresses(['a', 'b'], ['a', 'c'])).toBe(false);
  });

  it('origins bracket IPv6', () => {
    expect(originFor('http', '127.0.0.2', 8080)).toBe('http://127.0.0.2:8080');
    expect(originFor('https', 'fd00::2', 443)).toBe('https://[fd00::2]:443');
  });
});
