import { describe, expect, it } from 'vitest';
import { Router, hostname } from './router.ts';
import { originFormPath } from './handler.ts';

describe('Router', () => {
  const r = new Router(
    [
      { host: 'api.example.com', pathPrefix: '/v1', pool: 'v1' },
      { host: '*.example.com', pathPrefix: null, pool: 'wild' },
      { host: null, pathPrefix: '/static', pool: 'static' },
      { host: null, pathPrefix: null, pool: 'default' },
    ],
    (r) => r.pool,
  );
  it('first match wins', () => {
    expect(r.match('api.example.com', '/v1/users')).toBe('v1');
    expect(r.match('api.example.com', '/v2')).toBe('wild');
    expect(r.match('a.b.example.com', '/')).toBe('wild');
    expect(r.match('example.com', '/static/x')).toBe('static');
    expect(r.match('other.org', '/')).toBe('default');
  });
  it('wildcards need a label before the suffix', () => {
    expect(r.match('.example.com', '/')).toBe('default');
  });
  it('returns undefined when nothing matches', () => {
    expect(new Router([{ host: 'a', pathPrefix: null, pool: 'x' }], (r) => r.pool).match('b', '/')).toBeUndefined();
  });
});

describe('hostname', () => {
  it('lower-cases and strips the port', () => {
    expect(hostname('API.Example.com:8080')).toBe('api.example.com');
    expect(hostname('[::1]:80')).toBe('[::1]');
    expect(hostname('[::1]')).toBe('[::1]');
    expect(hostname(undefined)).toBe('');
  });
});

describe('originFormPath', () => {
  it('keeps origin form, reduces absolute form, passes *', () => {
    expect(originFormPath('/a?b')).toBe('/a?b');
    expect(originFormPath('http://h:1/p?q')).toBe('/p?q');
    expect(originFormPath('http://h')).toBe('/');
    expect(originFormPath('http://h?q=1')).toBe('/?q=1');
    expect(originFormPath('*')).toBe('*');
    expect(originFormPath('example.com:443')).toBeNull();
    expect(originFormPath('')).toBeNull();
  });
});
