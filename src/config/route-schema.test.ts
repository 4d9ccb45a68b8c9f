// Route keys through the real loader: rewrite.pathPrefix and header rules, valid and invalid,
// located at file:line:col.
import { describe, expect, it } from 'vitest';
import { MINIMAL, problems, yaml } from './fixtures.testing.ts';
import { parseConfigText } from './load.ts';
import type { RouteConfig } from './types.ts';

/** A config with pool `api` and the given lines under `routes:` (line 7 is the first). */
const routes = (...lines: string[]): string => yaml(...MINIMAL, 'routes:', ...lines);
const parseRoutes = (text: string): readonly RouteConfig[] => parseConfigText(text, 'f.yaml', { env: {} }).routes;

describe('routes[].rewrite', () => {
  it('normalizes to rewritePathPrefix, null without it', () => {
    const text = routes('  - match: { pathPrefix: /api }', '    pool: api', '    rewrite: { pathPrefix: / }', '  - pool: api');
    expect(parseRoutes(text).map((r) => r.rewritePathPrefix)).toEqual(['/', null]);
  });

  it('needs match.pathPrefix on the same route, and a path', () => {
    const text = routes(
      '  - match: { host: a.example.com }',
      '    pool: api',
      '    rewrite: { pathPrefix: / }',
      '  - match: { pathPrefix: /b }',
      '    pool: api',
      '    rewrite: { pathPrefix: v2 }',
      '  - match: { pathPrefix: /c }',
      '    pool: api',
      '    rewrite: { pathPrefx: /x }',
      '  - pool: api',
      '    rewrite: { pathPrefix: /d }',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:9:5 routes[0].rewrite: needs match.pathPrefix on this route: rewrite.pathPrefix replaces the part of the path that match.pathPrefix matched',
      "fairway.yaml:12:28 routes[1].rewrite.pathPrefix: must be a path starting with / (no query or fragment), e.g. /v1 (got 'v2')",
      'fairway.yaml:15:5 routes[2].rewrite.pathPrefix: is required',
      "fairway.yaml:15:16 routes[2].rewrite.pathPrefx: unknown key 'pathPrefx' (did you mean 'pathPrefix'?)",
      'fairway.yaml:17:5 routes[3].rewrite: needs match.pathPrefix on this route: rewrite.pathPrefix replaces the part of the path that match.pathPrefix matched',
    ]);
  });
});

describe('routes[].headers', () => {
  it('lower-cases names, keeps set in file order as strings, drops duplicate removes; null when empty', () => {
    const text = routes(
      '  - pool: api',
      '    headers:',
      '      request:',
      '        set: { X-Env: prod, x-retries: 3, X-Flag: true, x-empty: "" }',
      '        remove: [X-Debug, x-debug, Cookie]',
      '      response:',
      '        set:',
      '          Strict-Transport-Security: max-age=31536000',
    );
    const [route] = parseRoutes(text);
    expect(route?.requestHeaders).toEqual({
      set: [
        ['x-env', 'prod'],
        ['x-retries', '3'],
        ['x-flag', 'true'],
        ['x-empty', ''],
      ],
      remove: ['x-debug', 'cookie'],
    });
    expect(route?.responseHeaders).toEqual({ set: [['strict-transport-security', 'max-age=31536000']], remove: [] });
    expect(Object.isFrozen(route?.requestHeaders?.set[0])).toBe(true);
    const empty = parseRoutes(routes('  - pool: api', '    headers: { request: {}, response: { set: {}, remove: [] } }'));
    expect([empty[0]?.requestHeaders, empty[0]?.responseHeaders]).toEqual([null, null]);
  });

  it('refuses names it must not touch and names that are not tokens, at the name', () => {
    const text = routes(
      '  - pool: api',
      '    headers:',
      '      request:',
      '        set:',
      '          Connection: close',
      '          "x y": 1',
      '          Host: example.com',
      '        remove: [transfer-encoding, Content-Length, te, "x:y"]',
      '      response:',
      '        remove: [upgrade, keep-alive, proxy-connection, trailer]',
    );
    expect(problems(text)).toEqual([
      "fairway.yaml:11:11 routes[0].headers.request.set.Connection: 'Connection' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
      "fairway.yaml:12:11 routes[0].headers.request.set[\"x y\"]: 'x y' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
      "fairway.yaml:13:11 routes[0].headers.request.set.Host: 'Host' reaches the upstream unchanged; a route cannot set or remove it",
      "fairway.yaml:14:18 routes[0].headers.request.remove[0]: 'transfer-encoding' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
      "fairway.yaml:14:37 routes[0].headers.request.remove[1]: 'Content-Length' frames the body; a route cannot set or remove it",
      "fairway.yaml:14:53 routes[0].headers.request.remove[2]: 'te' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
      "fairway.yaml:14:57 routes[0].headers.request.remove[3]: 'x:y' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
      "fairway.yaml:16:18 routes[0].headers.response.remove[0]: 'upgrade' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
      "fairway.yaml:16:27 routes[0].headers.response.remove[1]: 'keep-alive' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
      "fairway.yaml:16:39 routes[0].headers.response.remove[2]: 'proxy-connection' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
      "fairway.yaml:16:57 routes[0].headers.response.remove[3]: 'trailer' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it",
    ]);
  });

  it('refuses values with CR, LF, NUL or other control characters, and values that are not scalars', () => {
    const text = routes(
      '  - pool: api',
      '    headers:',
      '      response:',
      '        set:',
      '          x-a: "a\\r\\nInjected: 1"',
      '          x-b: "a\\0b"',
      '          x-c: "tab\\tis fine"',
      '          x-d: [1, 2]',
      '          x-e: "snow ☃"',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:11:16 routes[0].headers.response.set.x-a: must not contain CR, LF, NUL or other control characters (got "a\\r\\nInjected: 1")',
      'fairway.yaml:12:16 routes[0].headers.response.set.x-b: must not contain CR, LF, NUL or other control characters (got "a\\u0000b")',
      'fairway.yaml:14:16 routes[0].headers.response.set.x-d: must be a header value (got a list)',
      'fairway.yaml:15:16 routes[0].headers.response.set.x-e: must hold only Latin-1 characters (got "snow ☃")',
    ]);
  });

  it('refuses a name set twice (case-insensitive) or both set and removed, and misspelled keys with a hint', () => {
    const text = routes(
      '  - pool: api',
      '    headers:',
      '      request:',
      '        set: { x-env: prod, X-Env: dev, x-debug: "1" }',
      '        remove: [X-DEBUG]',
      '      respone:',
      '        sett: {}',
    );
    expect(problems(text)).toEqual([
      "fairway.yaml:10:36 routes[0].headers.request.set.X-Env: 'X-Env' is set twice (also as 'x-env'; names are case-insensitive)",
      "fairway.yaml:11:18 routes[0].headers.request.remove[0]: 'X-DEBUG' is both set (as 'x-debug') and removed",
      "fairway.yaml:12:7 routes[0].headers.respone: unknown key 'respone' (did you mean 'response'?)",
    ]);
    expect(problems(routes('  - pool: api', '    headers: { request: { sett: {} } }'))).toEqual([
      "fairway.yaml:8:27 routes[0].headers.request.sett: unknown key 'sett' (did you mean 'set'?)",
    ]);
  });
});
