// Pure helpers of the admin server: bearer-token matching and the loopback test that decides
// whether POST /reload may run without a token. The HTTP behaviour is test/admin.test.ts.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerMatches, isLoopbackHost } from './server.ts';

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

describe('bearerMatches', () => {
  const expected = sha('s3cret');
  it.each([
    ['Bearer s3cret', true],
    ['bearer s3cret', true],
    ['BEARER   s3cret  ', true],
    ['Bearer s3cre', false],
    ['Bearer s3cret2', false],
    ['Basic s3cret', false],
    ['s3cret', false],
    ['Bearer', false],
    ['Bearer ', false],
    ['', false],
  ])('%j → %s', (header, ok) => {
    expect(bearerMatches(header, expected)).toBe(ok);
  });

  it('is false without a header, and an empty configured token never matches', () => {
    expect(bearerMatches(undefined, expected)).toBe(false);
    expect(bearerMatches('Bearer ', sha(''))).toBe(false);
    expect(bearerMatches('Bearer  ', sha(''))).toBe(false);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['example.com', false],
  ])('%s → %s', (host, loop) => {
    expect(isLoopbackHost(host)).toBe(loop);
  });
});
