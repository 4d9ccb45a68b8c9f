import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamTlsConfig } from '../config/types.ts';
import { createTestPki, type CertFiles, type TestPki } from '../../test/helpers/certs.ts';
import { CertificateError } from './certificate.ts';
import { loadUpstreamTls, upstreamConnectOptions, upstreamTlsWarning } from './upstream.ts';

let pki: TestPki;
let client: CertFiles;
beforeAll(async () => {
  pki = await createTestPki();
  client = await pki.leaf({ cn: 'fairway', usage: 'client' });
});
afterAll(() => pki.close());

const base: UpstreamTlsConfig = { caFile: null, servername: null, certFile: null, keyFile: null, verify: true };

describe('upstreamConnectOptions', () => {
  it('without pool settings: verify, SNI from a host name, none for an IP', () => {
    expect(upstreamConnectOptions(null, 'api.internal')).toEqual({ rejectUnauthorized: true, servername: 'api.internal' });
    expect(upstreamConnectOptions(null, '10.0.0.1')).toEqual({ rejectUnauthorized: true });
    expect(upstreamConnectOptions(null, '[::1]')).toEqual({ rejectUnauthorized: true });
  });

  it('carries ca, servername, client cert/key and verify from the pool', async () => {
    const m = await loadUpstreamTls({ caFile: pki.ca.certFile, servername: 'api.internal', certFile: client.certFile, keyFile: client.keyFile, verify: false });
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
    const a = await loadUpstreamTls({ ...base, caFile: pki.ca.certFile });
    const same = await loadUpstreamTls({ ...base, caFile: pki.ca.certFile });
    const renamed = await loadUpstreamTls({ ...base, caFile: pki.ca.certFile, servername: 'x' });
    const unverified = await loadUpstreamTls({ ...base, caFile: pki.ca.certFile, verify: false });
    expect(same.fingerprint).toBe(a.fingerprint);
    expect(new Set([a.fingerprint, renamed.fingerprint, unverified.fingerprint]).size).toBe(3);
  });

  it('rejects a CA file without certificates, and a client key that does not match', async () => {
    const e1: unknown = await loadUpstreamTls({ ...base, caFile: client.keyFile }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(CertificateError);
    expect((e1 as CertificateError).field).toBe('ca');
    expect((e1 as Error).message).toMatch(/holds no PEM certificate/);
    const missing = path.join(pki.dir, 'none.pem');
    expect(((await loadUpstreamTls({ ...base, caFile: missing }).catch((e: unknown) => e)) as Error).message).toBe(`cannot read ${missing}: no such file`);
    const stray = await pki.strayKey();
    const e2 = (await loadUpstreamTls({ ...base, certFile: client.certFile, keyFile: stray }).catch((e: unknown) => e)) as CertificateError;
    expect(e2.field).toBe('key');
    expect(e2.message).toMatch(/does not match the certificate/);
  });
});

describe('upstreamTlsWarning', () => {
  it('only for verify: false', () => {
    expect(upstreamTlsWarning('api', null)).toBeNull();
    expect(upstreamTlsWarning('api', base)).toBeNull();
    expect(upstreamTlsWarning('api', { ...base, verify: false })).toMatch(/^pool api: tls\.verify is false: upstream certificates are not verified/);
  });
});
