// The store's bookkeeping without sockets or timers: watching off (pollIntervalMs 0), rounds
// driven by checkNow(). Handshakes over real sockets are in test/tls-*.test.ts.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ListenTls, TlsCertificateConfig } from '../config/types.ts';
import { silentLogger } from '../observability/log.ts';
import { createTestPki, fingerprintOf, installPair, type CertFiles, type TestPki } from '../../test/helpers/certs.ts';
import { CertificateLoadError, CertificateStore } from './store.ts';

let pki: TestPki;
let a1: CertFiles;
let a2: CertFiles;
let b: CertFiles;

beforeAll(async () => {
  pki = await createTestPki();
  [a1, a2, b] = await Promise.all([pki.leaf({ dns: ['a.test'] }), pki.leaf({ dns: ['a.test', 'a2.test'] }), pki.leaf({ dns: ['b.test'] })]);
});
afterAll(() => pki.close());

function config(certificates: readonly TlsCertificateConfig[], minVersion: ListenTls['minVersion'] = 'TLSv1.2'): ListenTls {
  return { certificates, minVersion, http2: false };
}

let wall = 1_700_000_000_000;
async function open(certificates: readonly TlsCertificateConfig[]): Promise<CertificateStore> {
  const store = await CertificateStore.open({ tls: config(certificates), log: silentLogger(), listener: 'https://127.0.0.1:0', pollIntervalMs: 0, wallClock: () => wall });
  onTestFinished(() => store.close());
  return store;
}

/** The context the SNI callback hands out for a name. */
function contextFor(store: CertificateStore, name: string): tls.SecureContext | undefined {
  let out: tls.SecureContext | undefined;
  store.sniCallback(name, (err, ctx) => {
    expect(err).toBeNull();
    out = ctx;
  });
  return out;
}

describe('CertificateStore', () => {
  it('open() lists every certificate that cannot be served, with its index and field', async () => {
    const good = await pki.servingCopy(a1);
    const stray = await pki.strayKey();
    const missing = path.join(pki.dir, 'missing.crt');
    const err: unknown = await CertificateStore.open({
      tls: config([good, { certFile: missing, keyFile: a1.keyFile }, { certFile: b.certFile, keyFile: stray }]),
      log: silentLogger(),
      listener: 'l',
      pollIntervalMs: 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateLoadError);
    const problems = (err as CertificateLoadError).problems;
    expect(problems.map((p) => [p.index, p.error.field])).toEqual([
      [1, 'cert'],
      [2, 'key'],
    ]);
    expect((err as Error).message).toBe(`certificates[1].cert: cannot read ${missing}: no such file\ncertificates[2].key: ${stray} does not match the certificate in ${b.certFile}`);
  });

  it('status() describes each certificate in config order', async () => {
    const store = await open([await pki.servingCopy(a1), await pki.servingCopy(b)]);
    const [first, second] = store.status();
    expect(first).toMatchObject({ names: ['a.test'], fingerprint256: fingerprintOf(a1.certPem), reloads: { ok: 0, failed: 0 }, lastError: null, lastErrorAt: null });
    expect(first!.loadedAt).toBe(new Date(wall).toISOString());
    expect(first!.notAfterMs).toBe(Date.parse(first!.notAfter));
    expect(second!.names).toEqual(['b.test']);
  });

  it('a round with no file change reloads nothing', async () => {
    const store = await open([await pki.servingCopy(a1)]);
    const ctx = contextFor(store, 'a.test');
    await store.checkNow();
    expect(store.status()[0]!.reloads).toEqual({ ok: 0, failed: 0 });
    expect(contextFor(store, 'a.test')).toBe(ctx);
  });

  it('a changed pair is swapped in: new names, fingerprint, context', async () => {
    const files = await pki.servingCopy(a1);
    const store = await open([files, await pki.servingCopy(b)]);
    const before = contextFor(store, 'a.test');
    expect(contextFor(store, 'a2.test')).toBe(before); // unknown name → the first certificate
    await installPair(a2, files);
    wall += 1000;
    await store.checkNow();
    const s = store.status()[0]!;
    expect(s).toMatchObject({ names: ['a.test', 'a2.test'], fingerprint256: fingerprintOf(a2.certPem), reloads: { ok: 1, failed: 0 } });
    expect(s.loadedAt).toBe(new Date(wall).toISOString());
    const after = contextFor(store, 'a.test');
    expect(after).not.toBe(before);
    expect(contextFor(store, 'a2.test')).toBe(after);
    expect(contextFor(store, 'b.test')).not.toBe(after);
  });

  it('an invalid new file keeps the current certificate, is counted once, and is retried on the next change', async () => {
    const files = await pki.servingCopy(a1);
    const store = await open([files]);
    const ctx = contextFor(store, 'a.test');
    await writeFile(files.certFile, 'garbage');
    wall += 1000;
    await store.checkNow();
    let s = store.status()[0]!;
    expect(s.reloads).toEqual({ ok: 0, failed: 1 });
    expect(s.lastError).toBe(`${files.certFile} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
    expect(s.lastErrorAt).toBe(new Date(wall).toISOString());
    expect(s.fingerprint256).toBe(fingerprintOf(a1.certPem));
    expect(contextFor(store, 'a.test')).toBe(ctx);

    await store.checkNow(); // same bad file: not tried again
    expect(store.status()[0]!.reloads).toEqual({ ok: 0, failed: 1 });

    await installPair(a2, files);
    await store.checkNow();
    s = store.status()[0]!;
    expect(s.reloads).toEqual({ ok: 1, failed: 1 });
    expect(s.lastError).toBeNull();
    expect(s.fingerprint256).toBe(fingerprintOf(a2.certPem));
  });

  it('a half-done rotation (new cert, old key) fails, then succeeds when the key lands', async () => {
    const files = await pki.servingCopy(a1);
    const store = await open([files]);
    await installPair(a2, files, 'cert');
    await store.checkNow();
    expect(store.status()[0]).toMatchObject({ reloads: { ok: 0, failed: 1 }, fingerprint256: fingerprintOf(a1.certPem) });
    expect(store.status()[0]!.lastError).toMatch(/does not match the certificate/);
    await installPair(a2, files, 'key');
    await store.checkNow();
    expect(store.status()[0]).toMatchObject({ reloads: { ok: 1, failed: 1 }, fingerprint256: fingerprintOf(a2.certPem), lastError: null });
  });

  it('reload() re-reads every file; unchanged contents are not a reload', async () => {
    const files = await pki.servingCopy(a1);
    const store = await open([files]);
    expect(await store.reload()).toEqual({ changed: 0, failed: [] });
    await installPair(a2, files);
    expect((await store.reload()).changed).toBe(1);
    expect(store.status()[0]!.fingerprint256).toBe(fingerprintOf(a2.certPem));
  });

  it('reload() keeps a served certificate whose files went bad, and reports it', async () => {
    const files = await pki.servingCopy(a1);
    const store = await open([files]);
    await writeFile(files.keyFile, 'garbage');
    const report = await store.reload();
    expect(report.changed).toBe(0);
    expect(report.failed.map((e) => e.field)).toEqual(['key']);
    expect(store.status()[0]).toMatchObject({ reloads: { ok: 0, failed: 1 }, fingerprint256: fingerprintOf(a1.certPem) });
  });

  it('reload(next) replaces the list; counters carry over for pairs that stay', async () => {
    const fa = await pki.servingCopy(a1);
    const fb = await pki.servingCopy(b);
    const store = await open([fa]);
    await writeFile(fa.certFile, 'garbage');
    await store.checkNow();
    await installPair(a1, fa);
    const report = await store.reload(config([fb, fa]));
    expect(report).toEqual({ changed: 1, failed: [] });
    const [first, second] = store.status();
    expect(first).toMatchObject({ certFile: fb.certFile, names: ['b.test'], reloads: { ok: 0, failed: 0 } });
    expect(second).toMatchObject({ certFile: fa.certFile, reloads: { ok: 0, failed: 1 }, lastError: null });
    expect(contextFor(store, 'nothing.test')).toBe(contextFor(store, 'b.test')); // the new first is the default
  });

  it('reload(next) with a new certificate that cannot be loaded changes nothing', async () => {
    const fa = await pki.servingCopy(a1);
    const store = await open([fa]);
    const before = store.status();
    const stray = await pki.strayKey();
    const err: unknown = await store.reload(config([fa, { certFile: b.certFile, keyFile: stray }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateLoadError);
    expect((err as CertificateLoadError).problems.map((p) => p.index)).toEqual([1]);
    expect(store.status()).toEqual(before);
  });

  it('reload(next) with a new minVersion builds new contexts for the same certificates', async () => {
    const fa = await pki.servingCopy(a1);
    const store = await open([fa]);
    const before = contextFor(store, 'a.test');
    expect(await store.reload(config([fa], 'TLSv1.3'))).toEqual({ changed: 0, failed: [] });
    expect(contextFor(store, 'a.test')).not.toBe(before);
    expect(store.serverOptions().minVersion).toBe('TLSv1.3');
  });
});
