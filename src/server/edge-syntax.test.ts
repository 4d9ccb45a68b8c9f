import { describe, expect, it } from 'vitest';
import { equalsLower, isValidHost, skipOws, tokenEnd } from './edge-syntax.ts';

describe('isValidHost', () => {
  it.each([
    'a', 'a.example', 'A.Example.', 'a-b_c~d', 'xn--bcher-kva.example', '127.0.0.1', '999.1.1.1',
    "a!$&'()*+,;=b", 'a%41b', 'a:1', 'a:65535', '[::1]', '[::1]:8080', '[2001:db8::ffff:1.2.3.4]', '[FE80::1]:80',
  ])('accepts %j', (h) => {
    expect(isValidHost(h)).toBe(true);
  });
  it.each([
    '', ' ', 'a b', 'a/b', 'a@b', 'a\\b', 'a, b', 'a:', ':80', 'a:b', 'a:65536', 'a:123456', 'a:8080:1',
    '[::1', '::1', '[::1]x', '[::1]:', '[fe80::1%25eth0]', '[v1.x]', '[1.2.3.4]', 'a%4', 'a%zz', 'a\u00ffb', 'a\tb', 'a"b', 'a<b',
  ])('rejects %j', (h) => {
    expect(isValidHost(h)).toBe(false);
  });
  it('checks a slice of a longer string', () => {
    expect(isValidHost('http://a.example/x', 7, 16)).toBe(true);
    expect(isValidHost('http://a.example/x', 7, 7)).toBe(false);
  });
});

describe('tokens and case', () => {
  it('equalsLower compares ASCII case-insensitively against a lower-case literal', () => {
    expect(equalsLower('Transfer-Encoding', 'transfer-encoding')).toBe(true);
    expect(equalsLower('HOST', 'host')).toBe(true);
    expect(equalsLower('hosts', 'host')).toBe(false);
    // Only A-Z fold: '[' (0x5b) is not '{' (0x7b).
    expect(equalsLower('[', '{')).toBe(false);
  });
  it('skipOws and tokenEnd find list elements', () => {
    expect(skipOws(' \tgzip', 0)).toBe(2);
    expect(tokenEnd('gzip, chunked', 0)).toBe(4);
    expect(tokenEnd('chunked;q=1', 0)).toBe(7);
    expect(tokenEnd('a\u00ffb', 0)).toBe(1);
  });
});
