import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamTlsConfig } from '../config/types.ts';
import { createTestPki, installPair, type CertFiles, type TestPki } from '../../test/helpers/certs.ts';
import { CertificateError } from './certificate.ts';
import { connectTlsFor, loadUpstreamTls, poolTlsMaterial, upstreamConnectOptions, upstreamTlsWarning } from './upstream.ts';

let pki: TestPki;
let client: CertFiles;
beforeAll(async () => {
  pki = await createTestPki();
  client = await pki.leaf({ cn: 'fairway', usage: 'client' });
});
afterAll(() => pki.close());

const base: UpstreamTlsConfig = { caFile: null, servername: null, certFile: null, keyFile: null, verify: true };

/** What `fn` throws (fails the test when it does not). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('upstreamConnectOptions', () => {
  it('without pool settings: verify, SNI from a host name, none for an IP', () => {
    expect(upstreamConnectOptions(null, 'api.internal')).toEqual({ rejectUnauthorized: true, servername: 'api.internal' });
    expect(upstreamConnectOptions(null, '10.0.0.1')).toEqual({ rejectUnauthorized: true });
    expect(upstreamConnectOptions(null, '[::1]')).toEqual({ rejectUnauthorized: true });
  });

  it('carries ca, servername, client cert/key and verify from the pool', async () => {
    const m = loadUpstreamTls({ caFile: pki.ca.certFile, servername: 'api.internal', certFile: client.certFile, keyFile: client.keyFile, verify: false });
    expect(upstreamConnectOptions(m, '10.0.0.1')).toEqual({
      rejectUnauthorized: false,
      servername: 'api.internal',
      ca: pki.ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
    });
  });
});

describe('loadUpstreamTls', () => {
  it('the fingerprint changes with any setting and only then', async () => {
    const a = loadUpstreamTls({ ...base, caFile: pki.ca.certFile });
    const same = loadUpstreamTls({ ...base, caFile: pki.ca.certFile });
    const renamed = loadUpstreamTls({ ...base, caFile: pki.ca.certFile, servername: 'x' });
    const unverified = loadUpstreamTls({ ...base, caFile: pki.ca.certFile, verify: false });
    expect(same.fingerprint).toBe(a.fingerprint);
    expect(new Set([a.fingerprint, renamed.fingerprint, unverified.fingerprint]).size).toBe(3);
  });

  it('rejects a CA file without certificates, and a client key that does not match', async () => {
    const e1 = thrown(() => loadUpstreamTls({ ...base, caFile: client.keyFile }));
    expect(e1).toBeInstanceOf(CertificateError);
    expect((e1 as CertificateError).field).toBe('ca');
    expect((e1 as Error).message).toMatch(/holds no PEM certificate/);
    const missing = path.join(pki.dir, 'none.pem');
    expect(thrown(() => loadUpstreamTls({ ...base, caFile: missing })).message).toBe(`cannot read ${missing}: no such file`);
    const stray = await pki.strayKey();
    const e2 = thrown(() => loadUpstreamTls({ ...base, certFile: client.certFile, keyFile: stray })) as CertificateError;
    expect(e2.field).toBe('key');
    expect(e2.message).toMatch(/does not match the certificate/);
  });
});

describe('poolTlsMaterial and connectTlsFor', () => {
  it('read once per config object; a new object reads the files again', async () => {
    const files = await pki.servingCopy(client);
    const cfg: UpstreamTlsConfig = { ...base, certFile: files.certFile, keyFile: files.keyFile };
    const first = poolTlsMaterial(cfg)!;
    expect(poolTlsMaterial(cfg)).toBe(first);
    const other = await pki.leaf({ cn: 'fairway-2', usage: 'client' });
    await installPair(other, files);
    expect(poolTlsMaterial(cfg)).toBe(first); // same generation: the files are not read again
    const reloaded = poolTlsMaterial({ ...cfg })!;
    expect(reloaded.cert).toBe(other.certPem);
    expect(reloaded.fingerprint).not.toBe(first.fingerprint);
    expect(poolTlsMaterial(null)).toBeNull();
  });

  it('no TLS options for http:// origins; the pool settings for https://', () => {
    expect(connectTlsFor('http://10.0.0.1:80', '10.0.0.1', { ...base, verify: false })).toBeNull();
    expect(connectTlsFor('https://10.0.0.1:443', 'api.internal', null)).toEqual({ rejectUnauthorized: true, servername: 'api.internal' });
    expect(connectTlsFor('https://10.0.0.1:443', '10.0.0.1', { ...base, verify: false })).toEqual({ rejectUnauthorized: false });
  });
});

describe('upstreamTlsWarning', () => {
  it('only for verify: false', () => {
    expect(upstreamTlsWarning('api', null)).toBeNull();
    expect(upstreamTlsWarning('api', base)).toBeNull();
    expect(upstreamTlsWarning('api', { ...base, verify: false })).toMatch(/^pool api: tls\.verify is false: upstream certificates are not verified/);
  });
});
