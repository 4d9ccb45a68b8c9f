// Top-level keys through the real loader: TLS listeners, client limits, the admin rule, tracing,
// watchConfig, dns and accessLog, valid and invalid, located at file:line:col.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MINIMAL, problems, yaml } from './fixtures.testing.ts';
import { buildConfig, parseConfigText } from './load.ts';

const data = fileURLToPath(new URL('./testdata/', import.meta.url));
/** A config "file" in the testdata directory, so relative certificate paths resolve there. */
const inData = join(data, 'fairway.yaml');
const POOLS = MINIMAL.slice(1);

describe('listen: strings and { address, tls } mappings', () => {
  it('mixes plain and TLS listeners; paths resolve against the config file directory; defaults fill in', () => {
    const text = yaml(
      'listen:',
      '  - 127.0.0.1:8080',
      '  - address: 127.0.0.1:8443',
      '    tls:',
      '      certificates:',
      '        - { cert: localhost.crt, key: localhost.key }',
      `        - { cert: ${join(data, 'localhost.crt')}, key: ./localhost.key }`,
      '  - address: "[::1]:8444"',
      '    tls:',
      '      certificates: [{ cert: localhost.crt, key: localhost.key }]',
      '      minVersion: TLSv1.3',
      '      http2: ${H2:-false}',
      '  - { address: 127.0.0.1:8081 }',
      ...POOLS,
    );
    const config = parseConfigText(text, inData, { env: {} });
    const pair = { certFile: join(data, 'localhost.crt'), keyFile: join(data, 'localhost.key') };
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 8080, tls: null },
      { host: '127.0.0.1', port: 8443, tls: { certificates: [pair, pair], minVersion: 'TLSv1.2', http2: true } },
      { host: '::1', port: 8444, tls: { certificates: [pair], minVersion: 'TLSv1.3', http2: false } },
      { host: '127.0.0.1', port: 8081, tls: null },
    ]);
    expect(Object.isFrozen(config.listen[1]?.tls?.certificates[0])).toBe(true);
  });

  it('takes a single mapping as the whole listen', () => {
    const text = yaml('listen: { address: 127.0.0.1:8443, tls: { certificates: [{ cert: localhost.crt, key: localhost.key }] } }', ...POOLS);
    expect(parseConfigText(text, inData, { env: {} }).listen[0]?.tls?.minVersion).toBe('TLSv1.2');
  });

  it('reports bad TLS keys and bad files at their keys', () => {
    const text = yaml(
      'listen:',
      '  - address: 127.0.0.1:8443',
      '    tls:',
      '      certificates:',
      '        - cert: missing.crt',
      '          key: localhost.key',
      '        - { cert: localhost.crt, key: other.key }',
      '        - { cert: localhost.crt }',
      '      minVersion: TLSv1.1',
      '      htp2: false',
      '  - address: 127.0.0.1:8444',
      '    tls: { certificates: [] }',
      '  - adress: 127.0.0.1:8445',
      ...POOLS,
    );
    expect(problems(text, { file: inData })).toEqual([
      `${inData}:5:17 listen[0].tls.certificates[0].cert: cannot read ${join(data, 'missing.crt')}: no such file`,
      `${inData}:7:39 listen[0].tls.certificates[1].key: ${join(data, 'other.key')} does not match the certificate in ${join(data, 'localhost.crt')}`,
      `${inData}:8:11 listen[0].tls.certificates[2].key: is required`,
      `${inData}:9:19 listen[0].tls.minVersion: must be one of TLSv1.2, TLSv1.3 (did you mean 'TLSv1.2'?)`,
      `${inData}:10:7 listen[0].tls.htp2: unknown key 'htp2' (did you mean 'http2'?)`,
      `${inData}:12:26 listen[1].tls.certificates: must have at least 1 item`,
      `${inData}:13:5 listen[2].address: is required`,
      `${inData}:13:5 listen[2].adress: unknown key 'adress' (did you mean 'address'?)`,
    ]);
  });

  it('finds colliding listeners in either form, and keeps the old message for a wrong type', () => {
    const text = yaml('listen:', '  - 127.0.0.1:8080', '  - { address: 127.0.0.1:8080, tls: { certificates: [] } }', ...POOLS);
    expect(problems(text)).toEqual([
      'fairway.yaml:3:16 listen[1].address: 127.0.0.1:8080 collides with listen[0]',
      'fairway.yaml:3:53 listen[1].tls.certificates: must have at least 1 item',
    ]);
    expect(problems(yaml('listen: 8080', ...POOLS))).toEqual(['fairway.yaml:1:9 listen: must be a listen address like ":8080" or a list of them (got 8080)']);
  });
});

describe('server: header count and URL size', () => {
  it('defaults to 100 headers and 8kb, and takes other values', () => {
    const defaults = parseConfigText(yaml(...MINIMAL), 'f.yaml', { env: {} }).server;
    expect([defaults.maxHeaderCount, defaults.maxUrlBytes]).toEqual([100, 8192]);
    const set = parseConfigText(yaml(...MINIMAL, 'server: { maxHeaderCount: "64", maxUrlSize: 2kb }'), 'f.yaml', { env: {} }).server;
    expect([set.maxHeaderCount, set.maxUrlBytes]).toEqual([64, 2048]);
  });

  it('rejects zero, fractions and misspellings', () => {
    const text = yaml(...MINIMAL, 'server:', '  maxHeaderCount: 0', '  maxUrlSize: 0', '  maxHeaderCont: 5');
    expect(problems(text)).toEqual([
      'fairway.yaml:7:19 server.maxHeaderCount: must be an integer 1 or more (got 0)',
      'fairway.yaml:8:15 server.maxUrlSize: must be greater than 0',
      "fairway.yaml:9:3 server.maxHeaderCont: unknown key 'maxHeaderCont' (did you mean 'maxHeaderCount'?)",
    ]);
  });
});

describe('admin: fails closed off loopback', () => {
  const admin = (listen: string, token?: string): string[] =>
    problems(yaml(...MINIMAL, 'admin:', `  listen: "${listen}"`, ...(token === undefined ? [] : [`  token: ${token}`])));
  const refused = (listen: string): string =>
    `fairway.yaml:7:11 admin.listen: ${listen} is not a loopback address, so the admin server needs admin.token (flags-only form: FAIRWAY_ADMIN_TOKEN); or listen on 127.0.0.1 or [::1]`;
  const accepted = (listen: string, token?: string): boolean => {
    const text = yaml(...MINIMAL, 'admin:', `  listen: "${listen}"`, ...(token === undefined ? [] : [`  token: ${token}`]));
    return parseConfigText(text, 'f.yaml', { env: { T: 'secret' } }).admin !== null;
  };

  it('refuses every non-loopback address without a token', () => {
    for (const listen of ['0.0.0.0:9901', ':9901', '[::]:9901', '10.0.0.1:9901', '128.0.0.1:9901', 'admin.example.com:9901', '[fd00::1]:9901']) {
      expect(admin(listen)).toEqual([refused(listen)]);
    }
  });

  it('accepts loopback without a token, anything with one, and the default address', () => {
    for (const listen of ['127.0.0.1:9901', '127.9.8.7:0', '[::1]:9901', 'localhost:9901', 'LOCALHOST:9901']) expect(accepted(listen)).toBe(true);
    expect(accepted('0.0.0.0:9901', '${T}')).toBe(true);
    expect(parseConfigText(yaml(...MINIMAL, 'admin: {}'), 'f.yaml', { env: {} }).admin?.listen).toEqual({ host: '127.0.0.1', port: 9901 });
  });

  it('judges a --admin flag the same, reported as <flags>; a token from the file is kept', () => {
    expect(problems(yaml(...MINIMAL), { overrides: { admin: '0.0.0.0:0' } })).toEqual([
      '<flags> admin.listen: 0.0.0.0:0 is not a loopback address, so the admin server needs admin.token (flags-only form: FAIRWAY_ADMIN_TOKEN); or listen on 127.0.0.1 or [::1]',
    ]);
    const config = parseConfigText(yaml(...MINIMAL, 'admin: { token: t0k }'), 'f.yaml', { env: {}, overrides: { admin: '0.0.0.0:0' } });
    expect(config.admin).toEqual({ listen: { host: '0.0.0.0', port: 0 }, token: 't0k' });
  });

  it('leaves a token it cannot judge alone (misspelled key: one problem, not two)', () => {
    expect(problems(yaml(...MINIMAL, 'admin:', '  listen: 0.0.0.0:9901', '  tokn: x'))).toEqual([
      "fairway.yaml:8:3 admin.tokn: unknown key 'tokn' (did you mean 'token'?)",
    ]);
  });
});

describe('tracing, watchConfig, dns and accessLog', () => {
  it('have their defaults: tracing on, no watching, system resolvers, no access log', () => {
    const config = parseConfigText(yaml(...MINIMAL), 'f.yaml', { env: {} });
    expect([config.tracing, config.watchConfig, config.dns, config.accessLog]).toEqual([true, false, { servers: null }, null]);
  });

  it('normalize DNS servers to host:port and access log paths to absolute ones', () => {
    const text = yaml(
      ...MINIMAL,
      'tracing: false',
      'watchConfig: ${WATCH:-true}',
      'dns:',
      '  servers: [127.0.0.1, "127.0.0.2:5353", "::1", "[::1]:5300"]',
      'accessLog: { path: logs/access.log }',
    );
    const config = parseConfigText(text, '/etc/fairway/fairway.yaml', { env: {} });
    expect(config.tracing).toBe(false);
    expect(config.watchConfig).toBe(true);
    expect(config.dns).toEqual({ servers: ['127.0.0.1:53', '127.0.0.2:5353', '[::1]:53', '[::1]:5300'] });
    expect(config.accessLog).toEqual({ path: '/etc/fairway/logs/access.log', format: 'json' });
    const streams = (path: string, format: string) =>
      parseConfigText(yaml(...MINIMAL, `accessLog: { path: ${path}, format: ${format} }`), 'f.yaml', { env: {} }).accessLog;
    expect(streams('stdout', 'combined')).toEqual({ path: 'stdout', format: 'combined' });
    expect(streams('stderr', 'json')).toEqual({ path: 'stderr', format: 'json' });
    expect(buildConfig({ listen: ':0', pools: { a: { upstreams: ['http://127.0.0.1:1'] } }, accessLog: { path: 'a.log' } }, { env: {} }).accessLog?.path).toBe(
      join(process.cwd(), 'a.log'),
    );
  });

  it('report wrong values at the value and misspelled keys with a hint', () => {
    const text = yaml(
      ...MINIMAL,
      'tracing: yes',
      'watchConfig: 1',
      'dns:',
      '  servers: [dns.internal, "10.0.0.1:0"]',
      'accessLog:',
      '  format: text',
      'acessLog: {}',
      'dns_servers: []',
    );
    expect(problems(text)).toEqual([
      "fairway.yaml:6:10 tracing: must be true or false (got 'yes')",
      'fairway.yaml:7:14 watchConfig: must be true or false (got 1)',
      "fairway.yaml:9:13 dns.servers[0]: invalid DNS server 'dns.internal': must be an IP address (use e.g. 10.0.0.2, 10.0.0.2:5353 or [::1]:53)",
      "fairway.yaml:9:27 dns.servers[1]: invalid DNS server '10.0.0.1:0': port 0 is out of range 1-65535 (use e.g. 10.0.0.2, 10.0.0.2:5353 or [::1]:53)",
      'fairway.yaml:10:1 accessLog.path: is required',
      "fairway.yaml:11:11 accessLog.format: must be one of json, combined",
      "fairway.yaml:12:1 acessLog: unknown key 'acessLog' (did you mean 'accessLog'?)",
      "fairway.yaml:13:1 dns_servers: unknown key 'dns_servers'",
    ]);
    expect(problems(yaml(...MINIMAL, 'dns: { servers: [] }'))).toEqual(['fairway.yaml:6:17 dns.servers: must have at least 1 item']);
  });
});
