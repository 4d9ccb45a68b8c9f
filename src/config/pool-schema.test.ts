// Pool keys through the real loader: consistent-hash and its key, upstream TLS, DNS resolve and
// the upstream address fields, valid and invalid, located at file:line:col.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { problems, yaml } from './fixtures.testing.ts';
import { parseConfigText } from './load.ts';
import type { PoolConfig } from './types.ts';

const data = fileURLToPath(new URL('./testdata/', import.meta.url));
const inData = join(data, 'fairway.yaml');

/** A config with one pool `api` whose lines (indented 4) are `lines`. */
const pool = (...lines: string[]): string => yaml('listen: 127.0.0.1:8080', 'pools:', '  api:', ...lines.map((l) => `    ${l}`));
const parsePool = (text: string, file = 'f.yaml'): PoolConfig => parseConfigText(text, file, { env: {} }).pools.get('api')!;

describe('consistent-hash and pools.*.hash', () => {
  it('normalizes the key and the load factor', () => {
    const hashOf = (hash: string) => parsePool(pool('balancer: consistent-hash', `hash: ${hash}`, 'upstreams: [http://127.0.0.1:3001]')).hash;
    expect(hashOf('{ key: header:X-User-Id }')).toEqual({ source: 'header', name: 'x-user-id', loadFactor: 1.25 });
    expect(hashOf('{ key: cookie:Session, loadFactor: 150% }')).toEqual({ source: 'cookie', name: 'Session', loadFactor: 1.5 });
    expect(hashOf('{ key: query:uid, loadFactor: "off" }')).toEqual({ source: 'query', name: 'uid', loadFactor: null });
    expect(hashOf('{ key: client-ip, loadFactor: 100 }')).toEqual({ source: 'client-ip', name: null, loadFactor: 1 });
    expect(hashOf('{ key: path }')).toEqual({ source: 'path', name: null, loadFactor: 1.25 });
    expect(parsePool(pool('upstreams: [http://127.0.0.1:3001]')).hash).toBeNull();
  });

  it('needs a key with consistent-hash and refuses one with another balancer', () => {
    expect(problems(pool('balancer: consistent-hash', 'upstreams: [http://127.0.0.1:3001]'))).toEqual([
      'fairway.yaml:4:15 pools.api.balancer: consistent-hash needs hash.key (e.g. hash: { key: header:x-user-id })',
    ]);
    expect(problems(pool('balancer: consistent-hash', 'hash: { loadFactor: 150% }', 'upstreams: [http://127.0.0.1:3001]'))).toEqual([
      'fairway.yaml:5:5 pools.api.hash.key: is required',
    ]);
    expect(problems(pool('hash: { key: path }', 'upstreams: [http://127.0.0.1:3001]'))).toEqual([
      "fairway.yaml:4:5 pools.api.hash: is only used by consistent-hash (this pool's balancer is round-robin by default)",
    ]);
    expect(problems(pool('balancer: ewma', 'hash: { key: path }', 'upstreams: [http://127.0.0.1:3001]'))).toEqual([
      "fairway.yaml:5:5 pools.api.hash: is only used by consistent-hash (this pool's balancer is ewma)",
    ]);
  });

  it('explains a bad key or factor at the value, and a misspelled hash key with a hint (once)', () => {
    const text = pool('balancer: consistent-hash', 'hash:', '  key: heder:x-user', '  loadFactor: 1.25', 'upstreams: [http://127.0.0.1:3001]');
    expect(problems(text)).toEqual([
      "fairway.yaml:6:12 pools.api.hash.key: invalid hash key 'heder:x-user': use header:NAME, cookie:NAME, query:NAME, client-ip or path (did you mean 'header:x-user'?)",
      'fairway.yaml:7:19 pools.api.hash.loadFactor: load factor 1.25 must be at least 100% (write 125% for 1.25 times the mean)',
    ]);
    expect(problems(pool('balancer: consistent-hash', 'hahs: { key: path }', 'upstreams: [http://127.0.0.1:3001]'))).toEqual([
      "fairway.yaml:5:5 pools.api.hahs: unknown key 'hahs' (did you mean 'hash'?)",
    ]);
    expect(problems(pool('balancer: consistent-hsah', 'upstreams: [http://127.0.0.1:3001]'))).toEqual([
      "fairway.yaml:4:15 pools.api.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash (did you mean 'consistent-hash'?)",
    ]);
  });
});

describe('pools.*.tls', () => {
  it('normalizes paths against the config directory and fills verify', () => {
    const text = pool('upstreams: [https://api.internal:8443]', 'tls:', '  ca: ca.crt', '  servername: api.internal', '  cert: localhost.crt', '  key: localhost.key');
    expect(parsePool(text, inData).tls).toEqual({
      caFile: join(data, 'ca.crt'),
      servername: 'api.internal',
      certFile: join(data, 'localhost.crt'),
      keyFile: join(data, 'localhost.key'),
      verify: true,
    });
    const minimal = pool('upstreams: [http://127.0.0.1:3001, https://127.0.0.1:3002]', 'tls: { verify: false }');
    expect(parsePool(minimal).tls).toEqual({ caFile: null, servername: null, certFile: null, keyFile: null, verify: false });
    expect(parsePool(pool('upstreams: [https://127.0.0.1:3002]')).tls).toBeNull();
  });

  it('needs an https:// upstream, and cert with key', () => {
    const text = pool('upstreams: [http://127.0.0.1:3001, { url: http://127.0.0.1:3002 }]', 'tls:', '  cert: localhost.crt');
    expect(problems(text, { file: inData })).toEqual([
      `${inData}:5:5 pools.api.tls: has no https:// upstream (tls applies only to https:// upstreams)`,
      `${inData}:6:13 pools.api.tls.cert: needs key too: mutual TLS takes a client certificate and its key`,
    ]);
    expect(problems(pool('upstreams: [https://127.0.0.1:3001]', 'tls: { key: localhost.key }'), { file: inData })).toEqual([
      `${inData}:5:17 pools.api.tls.key: needs cert too: mutual TLS takes a client certificate and its key`,
    ]);
  });

  it('reports bad files, servernames and verify values at their keys', () => {
    const text = pool(
      'upstreams: [https://127.0.0.1:3001]',
      'tls:',
      '  ca: localhost.key',
      '  servername: 10.0.0.1',
      '  cert: localhost.crt',
      '  key: other.key',
      '  verify: no',
      '  verfy: false',
    );
    expect(problems(text, { file: inData })).toEqual([
      `${inData}:6:11 pools.api.tls.ca: ${join(data, 'localhost.key')} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----"); it holds a private key: are cert and key swapped?`,
      `${inData}:7:19 pools.api.tls.servername: must be a host name, not an IP address: SNI carries names only (RFC 6066 §3) (got '10.0.0.1')`,
      `${inData}:9:12 pools.api.tls.key: ${join(data, 'other.key')} does not match the certificate in ${join(data, 'localhost.crt')}`,
      `${inData}:10:15 pools.api.tls.verify: must be true or false (got 'no')`,
      `${inData}:11:7 pools.api.tls.verfy: unknown key 'verfy' (did you mean 'verify'?)`,
    ]);
    expect(problems(pool('upstreams: [https://127.0.0.1:3001]', 'tls: { servername: "api_internal..x" }'))).toEqual([
      "fairway.yaml:5:24 pools.api.tls.servername: must be a host name like api.internal (got 'api_internal..x')",
    ]);
  });
});

describe('upstreams: address fields and resolve', () => {
  it('fills scheme, hostname (no brackets), port and resolveMs', () => {
    const text = pool(
      'upstreams:',
      '  - http://127.0.0.1:3001',
      '  - https://[::1]',
      '  - { url: "http://API.default.svc:8080", resolve: 10s, weight: 3 }',
      '  - { url: https://localhost, resolve: 500 }',
    );
    expect(parsePool(text).upstreams).toEqual([
      { url: 'http://127.0.0.1:3001', origin: 'http://127.0.0.1:3001', weight: 1, scheme: 'http', hostname: '127.0.0.1', port: 3001, resolveMs: null },
      { url: 'https://[::1]', origin: 'https://[::1]:443', weight: 1, scheme: 'https', hostname: '::1', port: 443, resolveMs: null },
      { url: 'http://API.default.svc:8080', origin: 'http://api.default.svc:8080', weight: 3, scheme: 'http', hostname: 'api.default.svc', port: 8080, resolveMs: 10_000 },
      { url: 'https://localhost', origin: 'https://localhost:443', weight: 1, scheme: 'https', hostname: 'localhost', port: 443, resolveMs: 500 },
    ]);
  });

  it('refuses resolve on an IP address, and a zero or malformed interval', () => {
    const text = pool(
      'upstreams:',
      '  - { url: http://127.0.0.1:3001, resolve: 10s }',
      '  - { url: "http://[::1]:3002", resolve: 10s }',
      '  - { url: http://a.internal:3003, resolve: 0 }',
      '  - { url: http://b.internal:3004, resolve: often }',
      '  - { url: http://c.internal:3005, reslove: 5s }',
    );
    expect(problems(text)).toEqual([
      'fairway.yaml:5:48 pools.api.upstreams[0].resolve: only for a URL whose host is a name (127.0.0.1 is an IP address)',
      'fairway.yaml:6:46 pools.api.upstreams[1].resolve: only for a URL whose host is a name (::1 is an IP address)',
      'fairway.yaml:7:49 pools.api.upstreams[2].resolve: must be greater than 0',
      "fairway.yaml:8:49 pools.api.upstreams[3].resolve: invalid duration 'often' (use e.g. 250ms, 5s, 1m)",
      "fairway.yaml:9:40 pools.api.upstreams[4].reslove: unknown key 'reslove' (did you mean 'resolve'?)",
    ]);
  });
});
