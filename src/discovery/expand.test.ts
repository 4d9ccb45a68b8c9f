import { describe, expect, it } from 'vitest';
import type { UpstreamConfig } from '../config/types.ts';
import { expandUpstreams } from './expand.ts';

const resolved: UpstreamConfig = {
  url: 'http://api.test:8080',
  origin: 'http://api.test:8080',
  weight: 2,
  scheme: 'http',
  hostname: 'api.test',
  port: 8080,
  resolveMs: 10_000,
};
const fixed: UpstreamConfig = {
  url: 'http://127.0.0.9:3000',
  origin: 'http://127.0.0.9:3000',
  weight: 1,
  scheme: 'http',
  hostname: '127.0.0.9',
  port: 3000,
  resolveMs: null,
};

describe('expandUpstreams', () => {
  it('one upstream per address at the URL port, the name kept; fixed entries pass through', () => {
    const out = expandUpstreams([resolved, fixed], (e) => (e === resolved ? ['127.0.0.2', 'fd00::2'] : ['unused']));
    expect(out.map((u) => [u.origin, u.url, u.hostname, u.weight, u.address])).toEqual([
      ['http://127.0.0.2:8080', 'http://127.0.0.2:8080', 'api.test', 2, '127.0.0.2'],
      ['http://[fd00::2]:8080', 'http://[fd00::2]:8080', 'api.test', 2, 'fd00::2'],
      ['http://127.0.0.9:3000', 'http://127.0.0.9:3000', '127.0.0.9', 1, null],
    ]);
    expect(out[0]!.entry).toBe(resolved);
  });

  it('a name that never resolved gives no upstream', () => {
    expect(expandUpstreams([resolved], () => [])).toEqual([]);
  });

  it('two entries reaching the same origin give one upstream, the first one', () => {
    const other = { ...resolved, hostname: 'other.test', url: 'http://other.test:8080', origin: 'http://other.test:8080', weight: 5 };
    const out = expandUpstreams([resolved, other], () => ['127.0.0.2']);
    expect(out.map((u) => [u.origin, u.hostname, u.weight])).toEqual([['http://127.0.0.2:8080', 'api.test', 2]]);
  });

  it('keeps a URL path', () => {
    const withPath = { ...resolved, url: 'https://api.test:8443/base', scheme: 'https' as const, port: 8443 };
    expect(expandUpstreams([withPath], () => ['10.0.0.1'])[0]!.url).toBe('https://10.0.0.1:8443/base');
  });
});
