import { describe, expect, it } from 'vitest';
import { knownKeysAt, validateRaw } from './issues.ts';
import { configSchema } from './schema.ts';

describe('validateRaw', () => {
  it('fills defaults and converts numeric strings', () => {
    const result = validateRaw({ listen: ':80', workers: '4', pools: { a: { upstreams: [{ url: 'http://127.0.0.1:1', weight: '7' }] } } });
    expect(result.ok && result.config.workers).toBe(4);
    expect(result.ok && result.config.pools['a']?.upstreams).toEqual([{ url: 'http://127.0.0.1:1', weight: 7 }]);
    expect(result.ok && result.config.timeouts).toEqual({ connect: '5s', response: '30s', idle: '60s', keepAlive: '4s' });
  });

  it('reports a value of the wrong type in plain words', () => {
    const result = validateRaw({ listen: 8080, pools: { a: { upstreams: 'http://127.0.0.1:1', healthCheck: { timeout: true } } } });
    expect(result.ok ? [] : result.issues).toEqual([
      { path: ['listen'], message: 'must be a listen address like ":8080" or a list of them (got 8080)' },
      { path: ['pools', 'a', 'upstreams'], message: "must be a list (got 'http://127.0.0.1:1')" },
      { path: ['pools', 'a', 'healthCheck', 'timeout'], message: 'must be a duration like 250ms, 5s or 1m (got true)' },
    ]);
  });

  it('requires at least one pool and one upstream', () => {
    const result = validateRaw({ listen: ':80', pools: {} });
    expect(result.ok ? [] : result.issues).toEqual([{ path: ['pools'], message: 'must define at least one pool' }]);
    const empty = validateRaw({ listen: ':80', pools: { a: { upstreams: [] } } });
    expect(empty.ok ? [] : empty.issues).toEqual([{ path: ['pools', 'a', 'upstreams'], message: 'must have at least 1 item' }]);
  });

  it('rejects zero where a duration must be positive, and accepts it where 0 means off', () => {
    const result = validateRaw({ listen: ':80', timeouts: { connect: 0, idle: 0 }, server: { requestTimeout: '0' }, pools: { a: { upstreams: ['http://127.0.0.1:1'] } } });
    expect(result.ok ? [] : result.issues).toEqual([{ path: ['timeouts', 'connect'], message: 'must be greater than 0' }]);
  });

  it('checks route hosts and path prefixes', () => {
    const result = validateRaw({
      listen: ':80',
      pools: { a: { upstreams: ['http://127.0.0.1:1'] } },
      routes: [
        { match: { host: 'a.com:80' }, pool: 'a' },
        { match: { host: 'http://a.com' }, pool: 'a' },
        { match: { host: 'a.*.com' }, pool: 'a' },
        { match: { pathPrefix: 'v1' }, pool: 'a' },
        { match: { host: '*.a.com', pathPrefix: '/v1' }, pool: 'a' },
      ],
    });
    expect(result.ok ? [] : result.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "routes.0.match.host: must not include a port; the port of the Host header is ignored (got 'a.com:80')",
      "routes.1.match.host: must be a host name, not a URL (got 'http://a.com')",
      "routes.2.match.host: only a leading '*.' wildcard is allowed, as in *.example.com (got 'a.*.com')",
      "routes.3.match.pathPrefix: must be a path starting with / (no query or fragment), e.g. /v1 (got 'v1')",
    ]);
  });
});

describe('knownKeysAt', () => {
  it('finds object keys through records, arrays, unions and wrappers', () => {
    expect(knownKeysAt(configSchema, ['pools', 'x', 'upstreams', 0])).toEqual(['url', 'weight', 'resolve']);
    expect(knownKeysAt(configSchema, ['pools', 'x', 'retry', 'backoff'])).toEqual(['base', 'max']);
    expect(knownKeysAt(configSchema, ['routes', 3, 'match'])).toEqual(['host', 'pathPrefix']);
    expect(knownKeysAt(configSchema, ['listen'])).toEqual(['address', 'tls']);
    expect(knownKeysAt(configSchema, ['listen', 2, 'tls', 'certificates', 0])).toEqual(['cert', 'key']);
    expect(knownKeysAt(configSchema, ['workers'])).toBeUndefined();
  });
});
