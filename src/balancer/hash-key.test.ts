import { describe, expect, it } from 'vitest';
import type { HashConfig } from '../config/types.ts';
import { compileHashKey, equalsLowerAscii, hashRange, mix30 } from './hash-key.ts';
import { NO_KEY } from './types.ts';

const key = (source: HashConfig['source'], name: string | null = null) => compileHashKey({ source, name, loadFactor: 1.25 });
const h = (s: string) => hashRange(s, 0, s.length);

describe('hash-key: the hash', () => {
  it('is a Smi-sized non-negative integer below 2^30, stable across calls', () => {
    for (const s of ['a', 'user-1', 'ü∂ƒ©', 'x'.repeat(1000), crypto.randomUUID()]) {
      const v = h(s);
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(2 ** 30);
      expect(h(s)).toBe(v);
    }
    expect(hashRange('abc', 1, 1)).toBe(NO_KEY);
  });

  it('hashes a range as the same string on its own (no substring needed)', () => {
    expect(hashRange('xxuser-42yy', 2, 9)).toBe(h('user-42'));
  });

  it('spreads keys that differ in one character evenly (fmix32 finalizer)', () => {
    // 8 000 sequential keys into 8 buckets by the low bits and by the high bits.
    const low = new Array<number>(8).fill(0);
    const high = new Array<number>(8).fill(0);
    for (let i = 0; i < 8_000; i++) {
      const v = h(`user-${i}`);
      low[v & 7]!++;
      high[v >>> 27]!++;
    }
    for (const c of [...low, ...high]) expect(Math.abs(c - 1_000)).toBeLessThan(130);
  });

  it('mix30 keeps 30 well-mixed bits', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const v = mix30(i);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(2 ** 30);
      seen.add(v);
    }
    expect(seen.size).toBe(10_000);
  });

  it('compares header names without case, without allocating a lower-case copy', () => {
    expect(equalsLowerAscii('X-User-ID', 'x-user-id')).toBe(true);
    expect(equalsLowerAscii('x-user-id', 'x-user-id')).toBe(true);
    expect(equalsLowerAscii('x-user-i', 'x-user-id')).toBe(false);
    expect(equalsLowerAscii('x_user-id', 'x-user-id')).toBe(false);
    // "[" is "{" − 32 but not a letter: no false match.
    expect(equalsLowerAscii('[', '{')).toBe(false);
  });
});

describe('hash-key: every key source', () => {
  it('header:NAME: the first header of that name, any case; absent or empty = no key', () => {
    const k = key('header', 'x-user-id');
    expect(k(['Host', 'a', 'X-User-Id', 'alice', 'x-user-id', 'bob'], '/', '1.2.3.4')).toBe(h('alice'));
    expect(k(['x-user-id', 'alice  '], '/', '1.2.3.4')).toBe(h('alice'));
    expect(k(['host', 'a'], '/', '1.2.3.4')).toBe(NO_KEY);
    expect(k(['x-user-id', ''], '/', '1.2.3.4')).toBe(NO_KEY);
    // A config name in capitals works too.
    expect(key('header', 'X-User-ID')(['x-user-id', 'alice'], '/', '')).toBe(h('alice'));
  });

  it('cookie:NAME: walks every Cookie header in place; exact name only', () => {
    const k = key('cookie', 'sid');
    expect(k(['cookie', 'a=1; sid=abc; b=2'], '/', '')).toBe(h('abc'));
    expect(k(['cookie', 'sid=abc'], '/', '')).toBe(h('abc'));
    expect(k(['Cookie', 'xsid=no;sid=abc'], '/', '')).toBe(h('abc'));
    expect(k(['cookie', 'sidx=no; sid=abc ;b=2'], '/', '')).toBe(h('abc'));
    // HTTP/2 may split cookies over several headers.
    expect(k(['cookie', 'a=1', 'cookie', 'sid=abc'], '/', '')).toBe(h('abc'));
    expect(k(['cookie', 'a=1; b=2'], '/', '')).toBe(NO_KEY);
    expect(k(['cookie', 'sid=; b=2'], '/', '')).toBe(NO_KEY);
    expect(k(['cookie', 'sid'], '/', '')).toBe(NO_KEY);
    expect(k(['x-cookie', 'sid=abc'], '/', '')).toBe(NO_KEY);
    expect(k([], '/', '')).toBe(NO_KEY);
  });

  it('query:NAME: the first parameter of that name, raw (no decoding); no value = no key', () => {
    const k = key('query', 'id');
    expect(k([], '/p?id=42', '')).toBe(h('42'));
    expect(k([], '/p?a=1&id=42&id=43', '')).toBe(h('42'));
    expect(k([], '/p?xid=1&id=42', '')).toBe(h('42'));
    expect(k([], '/p?idx=1&id=42#frag', '')).toBe(h('42'));
    expect(k([], '/p?id=a%20b', '')).toBe(h('a%20b'));
    expect(k([], '/p?id', '')).toBe(NO_KEY);
    expect(k([], '/p?id=', '')).toBe(NO_KEY);
    expect(k([], '/p?id=&id=2', '')).toBe(NO_KEY);
    expect(k([], '/p', '')).toBe(NO_KEY);
    expect(k([], '/p#?id=1', '')).toBe(NO_KEY);
    expect(k([], '/p?a=1#id=1', '')).toBe(NO_KEY);
  });

  it('client-ip: the address; an IPv4-mapped IPv6 address counts as the IPv4 one', () => {
    const k = key('client-ip');
    expect(k([], '/', '10.1.2.3')).toBe(h('10.1.2.3'));
    expect(k([], '/', '::ffff:10.1.2.3')).toBe(h('10.1.2.3'));
    expect(k([], '/', '::1')).toBe(h('::1'));
    expect(k([], '/', '')).toBe(NO_KEY);
  });

  it('path: the path without query or fragment', () => {
    const k = key('path');
    expect(k([], '/users/7', '')).toBe(h('/users/7'));
    expect(k([], '/users/7?x=1', '')).toBe(h('/users/7'));
    expect(k([], '/users/7#top', '')).toBe(h('/users/7'));
    expect(k([], '/users/8', '')).not.toBe(k([], '/users/7', ''));
  });
});
