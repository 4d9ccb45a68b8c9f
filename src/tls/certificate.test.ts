import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, fingerprintOf, type CertFiles, type TestPki } from '../../test/helpers/certs.ts';
import { CertificateError, parseCertificatePair, readCertificatePair } from './certificate.ts';

let pki: TestPki;
let site: CertFiles;
let chained: CertFiles;

beforeAll(async () => {
  pki = await createTestPki();
  [site, chained] = await Promise.all([pki.leaf({ dns: ['Site.Test', '*.site.test'], ips: ['127.0.0.1'] }), pki.leaf({ dns: ['chain.test'], chain: true })]);
});
afterAll(() => pki.close());

/** The CertificateError a load rejects with. */
async function loadError(certFile: string, keyFile: string): Promise<CertificateError> {
  const err: unknown = await readCertificatePair({ certFile, keyFile }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CertificateError);
  return err as CertificateError;
}

/** A file in the PKI dir with these contents. */
async function file(name: string, text: string): Promise<string> {
  const p = path.join(pki.dir, name);
  await writeFile(p, text);
  return p;
}

describe('readCertificatePair: a good pair', () => {
  it('gives the leaf names (lower case), IPs, dates and fingerprint', async () => {
    const c = await readCertificatePair(site);
    expect(c.names).toEqual(['site.test', '*.site.test']);
    expect(c.ips).toEqual(['127.0.0.1']);
    expect(c.fingerprint256).toBe(fingerprintOf(site.certPem));
    expect(c.notAfter.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(c.notBefore.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(c.chainLength).toBe(1);
    expect(c.warnings).toEqual([]);
    expect(c.certPem).toBe(site.certPem);
  });

  it('accepts a full chain, leaf first', async () => {
    const c = await readCertificatePair(chained);
    expect(c.chainLength).toBe(2);
    expect(c.names).toEqual(['chain.test']);
    expect(c.warnings).toEqual([]);
  });

  it('falls back to the CN only when the SAN has no DNS name', async () => {
    const [noSan, ipOnly] = await Promise.all([pki.leaf({ cn: 'legacy.test' }), pki.leaf({ cn: 'ip-only.test', ips: ['127.0.0.2'] })]);
    expect((await readCertificatePair(noSan)).names).toEqual(['legacy.test']);
    expect((await readCertificatePair(ipOnly)).names).toEqual(['ip-only.test']);
    const withSan = await pki.leaf({ cn: 'cn.test', dns: ['san.test'] });
    expect((await readCertificatePair(withSan)).names).toEqual(['san.test']);
  });

  it('warns about (but serves) an expired certificate, and one naming no host', async () => {
    const expired = await pki.leaf({ dns: ['old.test'], expired: true });
    const c = await readCertificatePair(expired);
    expect(c.notAfter.toISOString()).toBe('2020-02-01T00:00:00.000Z');
    expect(c.warnings.join('\n')).toMatch(/expired at 2020-02-01/);
    const anon = await pki.leaf({ cn: 'not a host name' });
    expect((await readCertificatePair(anon)).warnings.join('\n')).toMatch(/names no DNS host/);
  });

  it('warns when the chain is out of order', async () => {
    const intermediate = chained.certPem.slice(chained.certPem.indexOf('-----END CERTIFICATE-----') + 26);
    const c = parseCertificatePair(site.certPem + intermediate, site.keyPem, site);
    expect(c.warnings.join('\n')).toMatch(/certificate 2 did not issue certificate 1/);
  });
});

describe('readCertificatePair: files that cannot be served', () => {
  it('a missing cert or key file', async () => {
    const missing = path.join(pki.dir, 'nope.crt');
    const e1 = await loadError(missing, site.keyFile);
    expect(e1.field).toBe('cert');
    expect(e1.file).toBe(missing);
    expect(e1.message).toBe(`cannot read ${missing}: no such file`);
    const e2 = await loadError(site.certFile, path.join(pki.dir, 'nope.key'));
    expect(e2.field).toBe('key');
    expect(e2.message).toMatch(/^cannot read .*nope\.key: no such file$/);
  });

  it('an unreadable file (a directory)', async () => {
    const dir = path.join(pki.dir, 'a-dir');
    await mkdir(dir, { recursive: true });
    const e = await loadError(dir, site.keyFile);
    expect(e.message).toBe(`cannot read ${dir}: it is a directory`);
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file (permissions; root reads anything, so skipped as root)', async () => {
    const p = await file('locked.key', site.keyPem);
    await chmod(p, 0o000);
    const e = await loadError(site.certFile, p);
    expect(e.message).toBe(`cannot read ${p}: permission denied`);
  });

  it('a cert file without a PEM certificate, and one holding a key instead', async () => {
    const junk = await file('junk.crt', 'not a certificate\n');
    expect((await loadError(junk, site.keyFile)).message).toBe(`${junk} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
    const e = await loadError(site.keyFile, site.certFile);
    expect(e.field).toBe('cert');
    expect(e.message).toMatch(/holds a private key: are cert and key swapped\?$/);
  });

  it('a certificate block that does not parse, naming its place in the chain', async () => {
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    const one = await file('broken.crt', broken);
    expect((await loadError(one, site.keyFile)).message).toMatch(new RegExp(`^${one}: the certificate is not valid PEM: .+`));
    const second = await file('broken-chain.crt', site.certPem + broken);
    expect((await loadError(second, site.keyFile)).message).toMatch(/certificate 2 of 2 is not valid PEM/);
  });

  it('a truncated (half-written) certificate', async () => {
    const half = await file('half.crt', site.certPem.slice(0, Math.floor(site.certPem.length / 2)));
    expect((await loadError(half, site.keyFile)).message).toMatch(/holds no PEM certificate/);
  });

  it('a key file without a key, holding a certificate, or encrypted', async () => {
    const junk = await file('junk.key', 'nothing here');
    const e = await loadError(site.certFile, junk);
    expect(e.field).toBe('key');
    expect(e.message).toBe(`${junk} holds no PEM private key (expected "-----BEGIN PRIVATE KEY-----")`);
    expect((await loadError(site.certFile, site.certFile)).message).toMatch(/holds a certificate: are cert and key swapped\?$/);
    const enc = await file('enc.key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n');
    expect((await loadError(site.certFile, enc)).message).toMatch(/is an encrypted private key; decrypt it first/);
    const bad = await file('bad.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    expect((await loadError(site.certFile, bad)).message).toMatch(new RegExp(`^${bad} is not a valid private key: .+`));
  });

  it('a key that does not match the certificate', async () => {
    const stray = await pki.strayKey();
    const e = await loadError(site.certFile, stray);
    expect(e.field).toBe('key');
    expect(e.message).toBe(`${stray} does not match the certificate in ${site.certFile}`);
  });

  it('a key that matches a later certificate of the chain: the leaf must come first', async () => {
    const intermediateFirst = await file('reordered.crt', chained.certPem.slice(chained.certPem.indexOf('-----END CERTIFICATE-----') + 26) + site.certPem);
    const e = await loadError(intermediateFirst, site.keyFile);
    expect(e.message).toMatch(/it matches certificate 2 in the file: the leaf must come first/);
  });
});
