import { describe, expect, it } from 'vitest';
import { crossCheck, isLoopbackHost } from './checks.ts';
import { formatKeyPath } from './errors.ts';

const pools = { api: { upstreams: ['http://127.0.0.1:3001'] }, web: { upstreams: ['http://127.0.0.1:3002'] } };

/** `path: message` lines for a config with two pools and `extra` merged in. */
function check(extra: Record<string, unknown>): string[] {
  return crossCheck({ listen: ':8080', pools, routes: [{ pool: 'api' }], ...extra }).map((i) => `${formatKeyPath(i.path)}: ${i.message}`);
}

const route = (host: string | null, pathPrefix: string | null, pool = 'api') => ({
  match: { ...(host === null ? {} : { host }), ...(pathPrefix === null ? {} : { pathPrefix }) },
  pool,
});

describe('crossCheck: routes', () => {
  it('judges shadowing only where every router would agree', () => {
    const lines = check({
      routes: [
        route('*.example.com', null),
        route('API.example.com', '/v1'), // one label under the wildcard: shadowed
        route('a.b.example.com', null), // two labels: depends on the router, not judged
        route('*.example.com', '/x'), // same wildcard: shadowed
        route(null, '/static/'),
        route(null, '/static/img'), // shadowed by a prefix ending in /
        route(null, '/staticx'), // not shadowed: a segment-aware router would not match it
        route('example.com', null), // the wildcard does not take the bare domain
      ],
    });
    expect(lines).toEqual([
      'routes[1]: unreachable: routes[0] (host *.example.com) takes every request this route matches; put more specific routes first',
      'routes[3]: unreachable: routes[0] (host *.example.com) takes every request this route matches; put more specific routes first',
      'routes[5]: unreachable: routes[4] (pathPrefix /static/) takes every request this route matches; put more specific routes first',
    ]);
  });

  it('treats match: {} like a route without match', () => {
    expect(check({ routes: [{ match: {}, pool: 'api' }, { pool: 'web' }] })).toEqual([
      'routes[1]: unreachable: routes[0] has no match and takes every request; put more specific routes first',
    ]);
  });

  it('lists the pools when no name is close', () => {
    expect(check({ routes: [{ pool: 'zzzzzz' }] })).toEqual(["routes[0].pool: unknown pool 'zzzzzz' (pools: api, web)"]);
  });

  it('skips the keys of a route the schema rejects (it reports them itself), judging the others', () => {
    expect(check({ routes: [{ match: { host: 'a:1' }, pool: 5 }, { pool: 'api' }] })).toEqual([]);
    expect(check({ routes: [{ pool: 5 }, { match: { host: 'a:1' }, pool: 'nope' }, 'web'] })).toEqual([
      "routes[1].pool: unknown pool 'nope' (pools: api, web)",
      'routes[1]: unreachable: routes[0] has no match and takes every request; put more specific routes first',
    ]);
  });

  it('does not take a route with an unknown key and no match for a catch-all (the key may be match misspelled)', () => {
    expect(check({ routes: [{ mach: { pathPrefix: '/a' }, pool: 'api' }, { match: { pathPrefix: '/a/b' }, pool: 'web' }] })).toEqual([]);
  });

  it('names no unknown pool when there are no pools at all', () => {
    expect(crossCheck({ listen: ':8080', pools: {}, routes: [{ pool: 'api' }] })).toEqual([]);
  });
});

describe('crossCheck: listeners', () => {
  it('finds collisions, counting :: as dual-stack and 0.0.0.0 as every IPv4 address', () => {
    expect(check({ listen: [':8080', '127.0.0.1:8080', '[::1]:8080', '[::]:9000', '10.0.0.1:9000', ':0', ':0'] })).toEqual([
      'listen[1]: 127.0.0.1:8080 collides with listen[0]',
      'listen[4]: 10.0.0.1:9000 collides with listen[3]',
    ]);
  });

  it('catches the admin server on a proxy port, the default admin address included', () => {
    expect(check({ listen: '127.0.0.1:9901', admin: {} })).toEqual([
      'admin.listen: 127.0.0.1:9901 (the default 127.0.0.1:9901) collides with listen; the admin server needs its own port',
    ]);
    expect(check({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' } })).toEqual([]);
  });
});

describe('crossCheck: server', () => {
  it('keeps headersTimeout within a non-zero requestTimeout, as Node requires', () => {
    expect(check({ server: { headersTimeout: '20s', requestTimeout: '10s' } })).toEqual([
      'server.headersTimeout: must not exceed requestTimeout (10s)',
    ]);
    expect(check({ server: { requestTimeout: '5s' } })).toEqual([
      'server.requestTimeout: must be 0 (off) or at least headersTimeout (10s by default)',
    ]);
    expect(check({ server: { headersTimeout: '20s', requestTimeout: 0 } })).toEqual([]);
  });
});

describe('crossCheck: pools', () => {
  it('puts a timeout problem on the key the operator wrote', () => {
    const lines = check({
      pools: {
        api: { upstreams: ['http://127.0.0.1:3001'], healthCheck: { interval: '500ms' }, retry: { backoff: { max: '10ms' } } },
        web: pools.web,
      },
    });
    expect(lines).toEqual([
      'pools.api.healthCheck.interval: must be longer than timeout (1s by default)',
      'pools.api.retry.backoff.max: must not be below backoff.base (25ms by default)',
    ]);
  });

  it('returns nothing for a value that is not a mapping', () => {
    expect(crossCheck(null)).toEqual([]);
    expect(crossCheck([1, 2])).toEqual([]);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['fe80::1', false],
    ['localhost.example.com', false],
    ['admin', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('crossCheck: rules across new keys', () => {
  it('judges hash, tls, resolve and rewrite only where the keys they read are valid', () => {
    const lines = check({
      admin: { listen: '0.0.0.0:9901', token: 5 }, // an invalid token is the schema's problem, not "no token"
      pools: {
        api: { balancer: 'consistent-hash', hash: { key: 'nope' }, upstreams: ['http://127.0.0.1:3001'], tls: { cert: 'c.crt', kee: 'k.key' } },
        web: { upstreams: ['ftp://x', 'http://127.0.0.1:3002'], tls: {} },
        dns: { upstreams: [{ url: 'http://10.0.0.1:80', resolve: '5s', weight: 'heavy' }] },
      },
      routes: [
        { match: { host: 'a.example.com' }, pool: 'api', rewrite: { pathPrefix: '/x' } },
        { match: { pathPrefix: '/b' }, pool: 'api', rewrite: { pathPrefix: 'x' } }, // invalid rewrite: the schema's
        { pool: 'web' },
      ],
    });
    expect(lines).toEqual([
      'pools.api.tls: has no https:// upstream (tls applies only to https:// upstreams)',
      'pools.dns.upstreams[0].resolve: only for a URL whose host is a name (10.0.0.1 is an IP address)',
      'routes[0].rewrite: needs match.pathPrefix on this route: rewrite.pathPrefix replaces the part of the path that match.pathPrefix matched',
    ]);
  });
});
