// Loading from text, files and plain objects: valid configs, flag overrides, file reading, the sidecar form.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MINIMAL, errorOf, problems, yaml } from './fixtures.testing.ts';
import { buildConfig, loadConfigFile, parseConfigText } from './load.ts';

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
    expect([...config.pools.keys()]).toEqual(['api', 'web', 'cart']);
    expect(config.pools.get('cart')?.hash).toEqual({ source: 'cookie', name: 'session', loadFactor: 1.25 });
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
