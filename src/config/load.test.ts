import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { buildConfig, loadConfigFile, parseConfigText, type LoadOptions } from './load.ts';

/** YAML from lines, so each test reads with its line numbers. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** The formatted problem lines of `text`, which must be invalid. */
function problems(text: string, opts: LoadOptions = {}): string[] {
  return errorOf(() => parseConfigText(text, 'fairway.yaml', { env: {}, ...opts })).format().split('\n');
}

const MINIMAL = ['listen: 127.0.0.1:8080', 'pools:', '  api:', '    upstreams:', '      - http://127.0.0.1:3001'];

describe('parseConfigText: valid configs', () => {
  it('builds a frozen config from a minimal file, the only pool taking every request', () => {
    const config = parseConfigText(yaml(...MINIMAL), 'fairway.yaml', { env: {} });
    expect(config.source).toBe('fairway.yaml');
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 8080, tls: null }]);
    expect(config.admin).toBeNull();
    expect(config.routes).toEqual([{ host: null, pathPrefix: null, rewritePathPrefix: null, requestHeaders: null, responseHeaders: null, pool: 'api' }]);
    expect(config.pools.get('api')?.upstreams).toEqual([{ url: 'http://127.0.0.1:3001', origin: 'http://127.0.0.1:3001', weight: 1, scheme: 'http', hostname: '127.0.0.1', port: 3001, resolveMs: null }]);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('expands ${VAR:-default}, and numeric keys take the expanded string', () => {
    const text = yaml(
      'listen: 127.0.0.1:${PORT:-8080}',
      'pools:',
      '  api:',
      '    upstreams: [http://127.0.0.1:3001]',
      '    retry:',
      '      attempts: ${RETRIES:-3}',
      '      perTryTimeout: ${PER_TRY:-2s}',
      '    maxConnectionsPerUpstream: ${MAXCONN}',
    );
    const config = parseConfigText(text, 'fairway.yaml', { env: { RETRIES: '5', MAXCONN: '64' } });
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 8080, tls: null }]);
    const pool = config.pools.get('api');
    expect(pool?.retry.attempts).toBe(5);
    expect(pool?.retry.perTryTimeoutMs).toBe(2000);
    expect(pool?.maxConnectionsPerUpstream).toBe(64);
  });

  it('reads $${ as a literal ${', () => {
    const text = yaml(...MINIMAL, 'admin:', '  token: a$${b}');
    expect(parseConfigText(text, 'f.yaml', { env: {} }).admin?.token).toBe('a${b}');
  });

  it('follows YAML anchors and aliases', () => {
    const text = yaml(
      'listen: :8080',
      'pools:',
      '  a:',
      '    upstreams: [http://127.0.0.1:3001]',
      '    retry: &retry { attempts: 5 }',
      '  b:',
      '    upstreams: [http://127.0.0.1:3002]',
      '    retry: *retry',
      'routes:',
      '  - { match: { pathPrefix: /a }, pool: a }',
      '  - pool: b',
    );
    expect(parseConfigText(text, 'f.yaml', { env: {} }).pools.get('b')?.retry.attempts).toBe(5);
  });
});

describe('parseConfigText: every problem as file:line:col path: message', () => {
  it('a wrong enum value', () => {
    const text = yaml(...MINIMAL, '    balancer: fastest');
    expect(problems(text)).toEqual(['fairway.yaml:6:15 pools.api.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash']);
  });

  it('a close enum value gets a hint', () => {
    const text = yaml(...MINIMAL, '    balancer: ewm');
    expect(problems(text)).toEqual([
      "fairway.yaml:6:15 pools.api.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash (did you mean 'ewma'?)",
    ]);
  });

  it('an unknown key, pointed at the key, with did-you-mean', () => {
    const text = yaml(...MINIMAL, '    balancr: ewma', 'workerz: 2', 'tiemouts: {}', 'colour: blue');
    expect(problems(text)).toEqual([
      "fairway.yaml:6:5 pools.api.balancr: unknown key 'balancr' (did you mean 'balancer'?)",
      "fairway.yaml:7:1 workerz: unknown key 'workerz' (did you mean 'workers'?)",
      "fairway.yaml:8:1 tiemouts: unknown key 'tiemouts' (did you mean 'timeouts'?)",
      "fairway.yaml:9:1 colour: unknown key 'colour'",
    ]);
  });

  it('an unknown key inside an upstream written as a mapping', () => {
    const text = yaml(...MINIMAL, '      - url: http://127.0.0.1:3002', '        wieght: 2');
    expect(problems(text)).toEqual(["fairway.yaml:7:9 pools.api.upstreams[1].wieght: unknown key 'wieght' (did you mean 'weight'?)"]);
  });

  it('a bad duration', () => {
    const text = yaml(...MINIMAL, '    healthCheck:', '      interval: 5 seconds');
    expect(problems(text)).toEqual([
      "fairway.yaml:7:17 pools.api.healthCheck.interval: invalid duration '5 seconds' (use e.g. 250ms, 5s, 1m)",
    ]);
  });

  it('a route to a missing pool', () => {
    const text = yaml(...MINIMAL, 'routes:', '  - match: { host: api.example.com }', '    pool: apii', '  - pool: web');
    expect(problems(text)).toEqual([
      "fairway.yaml:8:11 routes[0].pool: unknown pool 'apii' (did you mean 'api'?)",
      "fairway.yaml:9:11 routes[1].pool: unknown pool 'web' (pools: api)",
    ]);
  });

  it('a duplicate upstream, in shorthand and in mapping form', () => {
    const text = yaml(...MINIMAL, '      - http://127.0.0.1:3001/', '      - url: HTTP://127.0.0.1:3001');
    expect(problems(text)).toEqual([
      'fairway.yaml:6:9 pools.api.upstreams[1]: duplicate upstream http://127.0.0.1:3001 (same as upstreams[0])',
      'fairway.yaml:7:14 pools.api.upstreams[2].url: duplicate upstream http://127.0.0.1:3001 (same as upstreams[0])',
    ]);
  });

  it('a bad URL', () => {
    const text = yaml(...MINIMAL, '      - 127.0.0.1:3002', '      - url: http://127.0.0.1:3003/api', '      - { url: 3004 }');
    expect(problems(text)).toEqual([
      "fairway.yaml:6:9 pools.api.upstreams[1]: URL '127.0.0.1:3002' must start with http:// or https://",
      "fairway.yaml:7:14 pools.api.upstreams[2].url: URL 'http://127.0.0.1:3003/api' must not have a path (/api); each request's own path is forwarded",
      'fairway.yaml:8:16 pools.api.upstreams[3].url: must be an http:// or https:// URL (got 3004)',
    ]);
  });

  it('a YAML syntax error, alone (the rest of a broken document is not judged)', () => {
    const text = yaml('listen: [":8080"', 'pools:', '  api: {}');
    expect(problems(text)).toEqual([
      'fairway.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('tabs used for indentation', () => {
    const lines = problems(yaml('listen: :8080', 'pools:', '\tapi: {}'));
    expect(lines[0]).toMatch(/^fairway\.yaml:3:1: invalid YAML: Tabs are not allowed as indentation/);
  });

  it('a duplicate key, at the second definition, together with other problems', () => {
    const text = yaml(...MINIMAL, '    balancer: ewma', '    balancer: random', 'listen: :9090', 'workers: 0');
    expect(problems(text)).toEqual([
      'fairway.yaml:7:5 pools.api.balancer: duplicate key (first defined on line 6)',
      'fairway.yaml:8:1 listen: duplicate key (first defined on line 1)',
      'fairway.yaml:9:10 workers: must be a positive integer or auto (got 0)',
    ]);
  });

  it('an unset environment variable, at the value that names it', () => {
    const text = yaml(...MINIMAL, 'admin:', '  token: ${FAIRWAY_ADMIN_TOKEN}');
    expect(problems(text)).toEqual([
      'fairway.yaml:7:10 admin.token: environment variable FAIRWAY_ADMIN_TOKEN is not set (write ${FAIRWAY_ADMIN_TOKEN:-} for an empty default)',
    ]);
  });

  it('an empty token after expansion', () => {
    const text = yaml(...MINIMAL, 'admin:', '  token: ${FAIRWAY_ADMIN_TOKEN:-}');
    expect(problems(text)).toEqual(['fairway.yaml:7:10 admin.token: must not be empty']);
  });

  it('an expanded value that is not a number where one is needed', () => {
    const text = yaml(...MINIMAL, '    retry:', '      attempts: ${RETRIES:-many}');
    expect(problems(text)).toEqual(["fairway.yaml:7:17 pools.api.retry.attempts: must be an integer from 1 to 10 (got 'many')"]);
  });

  it('missing required keys point at their parent; at the top level, at the first key', () => {
    const text = yaml('listen: :8080', 'pools:', '  api:', '    balancer: random');
    expect(problems(text)).toEqual(['fairway.yaml:3:3 pools.api.upstreams: is required']);
    expect(problems(yaml('listen: :8080'))).toEqual(['fairway.yaml:1:1 pools: is required']);
    expect(problems(yaml('# Fairway', '', 'listen: :8080'))).toEqual(['fairway.yaml:3:1 pools: is required']);
    expect(problems(yaml(...MINIMAL, '      - { weight: 2 }'))).toEqual(['fairway.yaml:6:9 pools.api.upstreams[1].url: is required']);
  });

  it('a missing key supplied by no flag, in an empty file, is at line 1', () => {
    expect(problems('', { overrides: { listen: [':8080'] } })).toEqual(['fairway.yaml:1:1 pools: is required']);
  });

  it('an empty value where a mapping is expected points at its key', () => {
    const text = yaml(...MINIMAL, 'admin:');
    expect(problems(text)).toEqual(['fairway.yaml:6:1 admin: is empty (write {} to use the defaults, or remove the key)']);
  });

  it('an empty file, a file of comments, or an empty document is one problem at line 1', () => {
    const empty = 'fairway.yaml:1:1: the config is empty (it needs at least listen and pools)';
    expect(problems('')).toEqual([empty]);
    expect(problems('\n\n')).toEqual([empty]);
    expect(problems('# only a comment\n')).toEqual([empty]);
    expect(problems(yaml('# Fairway', '# more comment'))).toEqual([empty]);
    expect(problems(yaml('---'))).toEqual([empty]);
  });

  it('a top-level list or scalar is one problem, at the value', () => {
    expect(problems(yaml('- listen: :8080', '- pools: {}'))).toEqual(['fairway.yaml:1:1: the config must be a mapping of keys (got a list)']);
    expect(problems(yaml('# Fairway', '', '- listen: :8080'))).toEqual(['fairway.yaml:3:1: the config must be a mapping of keys (got a list)']);
    expect(problems(yaml('listen'))).toEqual(["fairway.yaml:1:1: the config must be a mapping of keys (got 'listen')"]);
  });

  it('pools with no pool is one problem, even with routes naming pools', () => {
    expect(problems(yaml('listen: :8080', 'pools: {}'))).toEqual(['fairway.yaml:2:8 pools: must define at least one pool']);
    expect(problems(yaml('listen: :8080', 'pools:'))).toEqual(['fairway.yaml:2:1 pools: is empty (it must define at least one pool)']);
    expect(problems(yaml('listen: :8080', 'pools: {}', 'routes:', '  - pool: api'))).toEqual([
      'fairway.yaml:2:8 pools: must define at least one pool',
    ]);
  });

  it('an alias to an undefined anchor, at the alias', () => {
    expect(problems(yaml(...MINIMAL, '    retry: *retry'))).toEqual([
      'fairway.yaml:6:12: invalid YAML: Unresolved alias (the anchor must be set before the alias): retry',
    ]);
  });

  it('an invalid pool name, at the name', () => {
    const text = yaml('listen: :8080', 'pools:', '  Api Pool:', '    upstreams: [http://127.0.0.1:3001]');
    expect(problems(text)).toEqual(["fairway.yaml:3:3 pools[\"Api Pool\"]: invalid pool name 'Api Pool' (use only a-z, 0-9, _ and -)"]);
  });

  it('routes: required with several pools; unreachable after a catch-all; shadowed by an earlier match', () => {
    const two = yaml(...MINIMAL, '  web:', '    upstreams: [http://127.0.0.1:3002]');
    expect(problems(two)).toEqual([
      'fairway.yaml:1:1 routes: required when more than one pool is defined (pools: api, web); add a route without match as the default',
    ]);
    const routes = yaml(
      ...MINIMAL,
      'routes:',
      '  - match: { pathPrefix: /api }',
      '    pool: api',
      '  - match: { pathPrefix: /api/v1 }',
      '    pool: api',
      '  - match: { pathPrefix: /apiv2 }',
      '    pool: api',
      '  - pool: api',
      '  - match: { host: a.example.com }',
      '    pool: api',
    );
    expect(problems(routes)).toEqual([
      'fairway.yaml:9:5 routes[1]: unreachable: routes[0] (pathPrefix /api) takes every request this route matches; put more specific routes first',
      'fairway.yaml:14:5 routes[4]: unreachable: routes[3] has no match and takes every request; put more specific routes first',
    ]);
  });

  it('cross-field rules on timeouts', () => {
    const text = yaml(
      ...MINIMAL,
      '    healthCheck:',
      '      interval: 1s',
      '      timeout: 1s',
      '    retry:',
      '      backoff: { base: 1s }',
      '    passive:',
      '      maxEjectionTime: 10s',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:8:16 pools.api.healthCheck.timeout: must be shorter than interval (1s)',
      'fairway.yaml:10:24 pools.api.retry.backoff.base: must not exceed backoff.max (250ms)',
      'fairway.yaml:12:24 pools.api.passive.maxEjectionTime: must not be below baseEjectionTime (30s by default)',
    ]);
  });

  it('listeners that collide', () => {
    const text = yaml('listen: [":8080", "127.0.0.1:8080"]', 'admin:', '  listen: 127.0.0.1:8080', ...MINIMAL.slice(1));
    expect(problems(text)).toEqual([
      'fairway.yaml:1:19 listen[1]: 127.0.0.1:8080 collides with listen[0]',
      'fairway.yaml:3:11 admin.listen: 127.0.0.1:8080 collides with listen[0]; the admin server needs its own port',
    ]);
  });

  it('reports many problems at once, in file order', () => {
    const text = yaml(
      'listen: :99999',
      'workers: many',
      'pools:',
      '  api:',
      '    balancer: fastest',
      '    upstreams:',
      '      - ftp://127.0.0.1:3001',
      '    retry:',
      '      attempts: 11',
      '      budget: 120%',
      '    maxConectionsPerUpstream: 10',
      'routes:',
      '  - pool: ap',
    );
    expect(problems(text)).toEqual([
      "fairway.yaml:1:9 listen: invalid listen address ':99999': port 99999 is out of range 0-65535",
      "fairway.yaml:2:10 workers: must be a positive integer or auto (got 'many')",
      'fairway.yaml:5:15 pools.api.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash',
      "fairway.yaml:7:9 pools.api.upstreams[0]: URL 'ftp://127.0.0.1:3001' must start with http:// or https://",
      'fairway.yaml:9:17 pools.api.retry.attempts: must be an integer from 1 to 10 (got 11)',
      "fairway.yaml:10:15 pools.api.retry.budget: percentage '120%' must be between 0% and 100%",
      "fairway.yaml:11:5 pools.api.maxConectionsPerUpstream: unknown key 'maxConectionsPerUpstream' (did you mean 'maxConnectionsPerUpstream'?)",
      "fairway.yaml:13:11 routes[0].pool: unknown pool 'ap' (did you mean 'api'?)",
    ]);
  });

  it('a cross-field problem in one pool comes out with a schema problem in another', () => {
    const text = yaml(
      'listen: :8080',
      'pools:',
      '  a:',
      '    balancer: fastest',
      '    upstreams: [http://127.0.0.1:3001]',
      '  b:',
      '    upstreams: [http://127.0.0.1:3002]',
      '    healthCheck:',
      '      interval: 1s',
      '      timeout: 2s',
      'routes:',
      '  - { match: { pathPrefix: /b }, pool: b }',
      '  - pool: a',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:4:15 pools.a.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash',
      'fairway.yaml:10:16 pools.b.healthCheck.timeout: must be shorter than interval (1s)',
    ]);
  });

  it('a cross-field problem comes out with a schema problem next to it in the same mapping', () => {
    const text = yaml(
      ...MINIMAL,
      '      - url: http://127.0.0.1:3001',
      '        weight: heavy',
      '    healthCheck:',
      '      interval: 1s',
      '      timeout: 2s',
      '      pth: /ready',
      '    passive:',
      '      baseEjectionTime: 1m',
      '      maxEjectionTime: 10s',
      '      maxEjectionPercent: 200%',
      'server:',
      '  headersTimeout: 1m',
      '  requestTimeout: 30s',
      '  maxHeaderSize: huge',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:6:14 pools.api.upstreams[1].url: duplicate upstream http://127.0.0.1:3001 (same as upstreams[0])',
      "fairway.yaml:7:17 pools.api.upstreams[1].weight: must be an integer from 0 to 1000 (got 'heavy')",
      'fairway.yaml:10:16 pools.api.healthCheck.timeout: must be shorter than interval (1s)',
      "fairway.yaml:11:7 pools.api.healthCheck.pth: unknown key 'pth' (did you mean 'path'?)",
      'fairway.yaml:13:25 pools.api.passive.baseEjectionTime: must not exceed maxEjectionTime (10s)',
      "fairway.yaml:15:27 pools.api.passive.maxEjectionPercent: percentage '200%' must be between 0% and 100%",
      'fairway.yaml:17:19 server.headersTimeout: must not exceed requestTimeout (30s)',
      "fairway.yaml:19:18 server.maxHeaderSize: invalid size 'huge' (use e.g. 512b, 16kb, 10mb, 1gb)",
    ]);
  });

  it('a defaulted key is not judged when an unknown key next to it may be it misspelled', () => {
    const text = yaml(...MINIMAL, '    healthCheck:', '      intervall: 1s', '      timeout: 2s');
    expect(problems(text)).toEqual(["fairway.yaml:7:7 pools.api.healthCheck.intervall: unknown key 'intervall' (did you mean 'interval'?)"]);
  });

  it('a pool with an invalid name still has its own problems and cross-field problems reported', () => {
    const text = yaml(
      'listen: :8080',
      'pools:',
      '  Bad_Name:',
      '    upstreams: []',
      '    balancr: ewma',
      '    healthCheck: { interval: 1s, timeout: 1s }',
    );
    expect(problems(text)).toEqual([
      "fairway.yaml:3:3 pools.Bad_Name: invalid pool name 'Bad_Name' (use only a-z, 0-9, _ and -)",
      'fairway.yaml:4:16 pools.Bad_Name.upstreams: must have at least 1 item',
      "fairway.yaml:5:5 pools.Bad_Name.balancr: unknown key 'balancr' (did you mean 'balancer'?)",
      'fairway.yaml:6:43 pools.Bad_Name.healthCheck.timeout: must be shorter than interval (1s)',
    ]);
  });

  it('route problems come out with schema problems elsewhere and in the routes themselves', () => {
    const text = yaml(
      ...MINIMAL,
      'workers: 0',
      'routes:',
      '  - pool: api',
      '  - match: { pathPrefix: /v1 }',
      '    pool: api',
      '  - match: { host: "a.example.com:443" }',
      '    pool: apii',
      '  - match: { pathPrefix: /v2 }',
      '    pool: api',
      '    weight: 2',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:6:10 workers: must be a positive integer or auto (got 0)',
      'fairway.yaml:9:5 routes[1]: unreachable: routes[0] has no match and takes every request; put more specific routes first',
      'fairway.yaml:11:5 routes[2]: unreachable: routes[0] has no match and takes every request; put more specific routes first',
      "fairway.yaml:11:20 routes[2].match.host: must not include a port; the port of the Host header is ignored (got 'a.example.com:443')",
      "fairway.yaml:12:11 routes[2].pool: unknown pool 'apii' (did you mean 'api'?)",
      'fairway.yaml:13:5 routes[3]: unreachable: routes[0] has no match and takes every request; put more specific routes first',
      "fairway.yaml:15:5 routes[3].weight: unknown key 'weight'",
    ]);
  });

  it('a route whose match key is misspelled is not taken for a catch-all', () => {
    const text = yaml(...MINIMAL, 'routes:', '  - mach: { pathPrefix: /v1 }', '    pool: api', '  - pool: api');
    expect(problems(text)).toEqual(["fairway.yaml:7:5 routes[0].mach: unknown key 'mach' (did you mean 'match'?)"]);
  });

  it('listeners collide even when another listen address is invalid', () => {
    const text = yaml('listen: [":8080", "nope", ":8080"]', ...MINIMAL.slice(1));
    expect(problems(text)).toEqual([
      `fairway.yaml:1:19 listen[1]: invalid listen address 'nope': missing port (use "host:port", ":port" or "[::1]:port")`,
      'fairway.yaml:1:27 listen[2]: 0.0.0.0:8080 collides with listen[0]',
    ]);
  });

  it('never reports one problem twice', () => {
    const text = yaml(
      'listen: :8080',
      'pools:',
      '  Api:',
      '    upstreams: [http://127.0.0.1:3001, http://127.0.0.1:3001]',
      '    healthCheck: { interval: 1s, timeout: 5 seconds }',
      'routes:',
      '  - pool: Api',
    );
    const lines = problems(text);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toEqual([
      "fairway.yaml:3:3 pools.Api: invalid pool name 'Api' (use only a-z, 0-9, _ and -)",
      'fairway.yaml:4:40 pools.Api.upstreams[1]: duplicate upstream http://127.0.0.1:3001 (same as upstreams[0])',
      "fairway.yaml:5:43 pools.Api.healthCheck.timeout: invalid duration '5 seconds' (use e.g. 250ms, 5s, 1m)",
    ]);
  });

  it('exposes each issue as data', () => {
    const err = errorOf(() => parseConfigText(yaml(...MINIMAL, '    balancer: fastest'), 'conf/fairway.yaml', { env: {} }));
    expect(err.issues).toEqual<ConfigIssue[]>([
      {
        file: 'conf/fairway.yaml',
        line: 6,
        column: 15,
        path: 'pools.api.balancer',
        message: 'must be one of round-robin, random, least-connections, ewma, consistent-hash',
      },
    ]);
  });
});

describe('overrides from flags', () => {
  it('replace the file listen and admin.listen, keeping the admin token', () => {
    const text = yaml(...MINIMAL, 'admin:', '  listen: 127.0.0.1:9901', '  token: secret');
    const config = parseConfigText(text, 'f.yaml', { env: {}, overrides: { listen: [':9000', '[::1]:9000'], admin: '127.0.0.1:0' } });
    expect(config.listen).toEqual([
      { host: '0.0.0.0', port: 9000, tls: null },
      { host: '::1', port: 9000, tls: null },
    ]);
    expect(config.admin).toEqual({ listen: { host: '127.0.0.1', port: 0 }, token: 'secret' });
  });

  it('turn the admin server on and supply a listen the file lacks', () => {
    const text = yaml('pools:', '  api:', '    upstreams: [http://127.0.0.1:3001]');
    const config = parseConfigText(text, 'f.yaml', { env: {}, overrides: { listen: ['127.0.0.1:0'], admin: '127.0.0.1:0' } });
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 0, tls: null }]);
    expect(config.admin).toEqual({ listen: { host: '127.0.0.1', port: 0 }, token: null });
  });

  it('an empty listen list is no override', () => {
    const config = parseConfigText(yaml(...MINIMAL), 'f.yaml', { env: {}, overrides: { listen: [] } });
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 8080, tls: null }]);
  });

  it('problems in flag values are reported as <flags>, before the file', () => {
    const text = yaml(...MINIMAL, '    balancer: fastest');
    expect(problems(text, { overrides: { listen: ['8080'], admin: 'localhost' } })).toEqual([
      `<flags> listen[0]: invalid listen address '8080': missing port (use "host:port", ":port" or "[::1]:port")`,
      `<flags> admin.listen: invalid listen address 'localhost': missing port (use "host:port", ":port" or "[::1]:port")`,
      'fairway.yaml:6:15 pools.api.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash',
    ]);
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-config-'));

  it('reads a file and records it as the source', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, yaml(...MINIMAL));
    expect(loadConfigFile(file, { env: {} }).source).toBe(file);
  });

  it('names the file in problems', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, yaml(...MINIMAL, '    balancer: fastest'));
    expect(errorOf(() => loadConfigFile(file, { env: {} })).format()).toBe(
      `${file}:6:15 pools.api.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash`,
    );
  });

  it('a missing or unreadable file is a ConfigError naming it', () => {
    const missing = join(dir, 'missing.yaml');
    expect(errorOf(() => loadConfigFile(missing)).format()).toBe(`${missing}: cannot read the config file: no such file`);
    expect(errorOf(() => loadConfigFile(dir)).format()).toBe(`${dir}: cannot read the config file: it is a directory`);
  });

  it('loads the reference config config/fairway.yaml', () => {
    const file = fileURLToPath(new URL('../../config/fairway.yaml', import.meta.url));
    const config = loadConfigFile(file, { env: { FAIRWAY_ADMIN_TOKEN: 'reference-token' } });
    expect(config.admin?.token).toBe('reference-token');
    expect([...config.pools.keys()]).toEqual(['api', 'web']);
    for (const pool of config.pools.values()) {
      for (const u of pool.upstreams) expect(u.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
  });
});

describe('buildConfig', () => {
  it('builds the CLI sidecar form', () => {
    const config = buildConfig(
      {
        listen: ['127.0.0.1:0'],
        admin: { listen: '127.0.0.1:0' },
        pools: { default: { balancer: 'least-connections', upstreams: ['http://127.0.0.1:3001', 'http://127.0.0.1:3002'] } },
      },
      { env: {} },
    );
    expect(config.source).toBeNull();
    expect(config.pools.get('default')?.balancer).toBe('least-connections');
    expect(config.pools.get('default')?.upstreams.map((u) => u.origin)).toEqual(['http://127.0.0.1:3001', 'http://127.0.0.1:3002']);
    expect(config.routes).toEqual([{ host: null, pathPrefix: null, rewritePathPrefix: null, requestHeaders: null, responseHeaders: null, pool: 'default' }]);
    expect(config.admin?.listen).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('reports problems without file or position, prefixed <flags>', () => {
    const err = errorOf(() =>
      buildConfig({ listen: ['nope'], pools: { default: { balancer: 'fast', upstreams: ['http://127.0.0.1:1/x'] } } }, { env: {} }),
    );
    expect(err.issues.every((i) => i.file === null && i.line === null && i.column === null)).toBe(true);
    expect(err.format().split('\n')).toEqual([
      `<flags> listen[0]: invalid listen address 'nope': missing port (use "host:port", ":port" or "[::1]:port")`,
      '<flags> pools.default.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash',
      "<flags> pools.default.upstreams[0]: URL 'http://127.0.0.1:1/x' must not have a path (/x); each request's own path is forwarded",
    ]);
  });

  it('expands ${VAR} from the given env and does not modify its input', () => {
    const raw = { listen: '127.0.0.1:${P}', pools: { default: { upstreams: ['http://127.0.0.1:${U}'] } } };
    const config = buildConfig(raw, { env: { P: '7000', U: '7001' } });
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 7000, tls: null }]);
    expect(raw.listen).toBe('127.0.0.1:${P}');
  });
});
