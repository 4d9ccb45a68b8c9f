// Certificate rotation on a running TLS listener over real sockets: files replaced on disk
// (cert-manager style and the Kubernetes ..data symlink swap), picked up by the store's watcher;
// open connections stay on the old certificate while new handshakes get the new one; invalid
// files keep the old one and are counted; reload() with a new certificate list.

import https from 'node:https';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { TlsCertificateConfig } from '../src/config/types.ts';
import { tlsMetricFamilies } from '../src/tls/metrics.ts';
import type { CertificateStore } from '../src/tls/store.ts';
import { createTestPki, fingerprintOf, installPair, kubeSecretDir, startTlsServer, tlsConnect, type CertFiles, type TestPki } from './helpers/certs.ts';
import { waitFor } from './helpers/wait.ts';
import { buildConfig } from '../src/config/load.ts';
import { tlsListen } from './helpers/h2.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';

const POLL_MS = 50;

let pki: TestPki;
let oldA: CertFiles;
let newA: CertFiles;
let other: CertFiles;

beforeAll(async () => {
  pki = await createTestPki();
  [oldA, newA, other] = await Promise.all([
    pki.leaf({ dns: ['a.test'], ips: ['127.0.0.1'] }),
    pki.leaf({ dns: ['a.test'], ips: ['127.0.0.1'] }),
    pki.leaf({ dns: ['other.test'] }),
  ]);
});
afterAll(() => pki.close());

/** An HTTPS server answering `ok` with a watching store (poll every 50 ms); closed after the test. */
const start = (certificates: readonly TlsCertificateConfig[]): Promise<{ port: number; store: CertificateStore }> =>
  startTlsServer({ certificates, minVersion: 'TLSv1.2', http2: false }, { pollIntervalMs: POLL_MS, keepAliveTimeoutMs: 30_000 });

/** A fresh handshake's certificate fingerprint. */
async function served(port: number, opts: tls.ConnectionOptions = {}): Promise<string> {
  const s = await tlsConnect(port, opts);
  try {
    return s.getPeerCertificate().fingerprint256;
  } finally {
    s.destroy();
  }
}

/** GET / over `agent`; the socket it used and whether it was reused. */
function get(port: number, agent: https.Agent): Promise<{ body: string; socket: tls.TLSSocket; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent, servername: 'a.test', ca: pki.ca.certPem, timeout: 5000 }, (res) => {
      // Taken now: the agent detaches the socket from the response once it ends.
      const socket = res.socket as tls.TLSSocket;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ body, socket, reused: req.reusedSocket }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

const waitForReload = (store: CertificateStore, index: number, field: 'ok' | 'failed', n: number): Promise<unknown> =>
  waitFor(() => store.status()[index]!.reloads[field] >= n, { timeoutMs: 5000, message: `certificate ${index} reloads.${field} = ${n}` });

describe('rotation by the file watcher', () => {
  it('an open connection keeps working on the old certificate; new handshakes get the new one', async () => {
    const files = await pki.servingCopy(oldA);
    const { port, store } = await start([files]);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());

    const first = await get(port, agent);
    expect(first.body).toBe('ok');
    expect(first.socket.getPeerCertificate().fingerprint256).toBe(fingerprintOf(oldA.certPem));
    let closed = false;
    first.socket.once('close', () => (closed = true));

    await installPair(newA, files);
    await waitForReload(store, 0, 'ok', 1);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(newA.certPem));

    const second = await get(port, agent);
    expect(second.body).toBe('ok');
    expect(second.reused).toBe(true);
    expect(second.socket).toBe(first.socket);
    expect(closed).toBe(false);
    expect(second.socket.getPeerCertificate().fingerprint256).toBe(fingerprintOf(oldA.certPem));
  });

  it('the default certificate (clients without SNI) rotates too, and resumable sessions survive it', async () => {
    const files = await pki.servingCopy(oldA);
    const { port, store } = await start([files]);
    const before = await tlsConnect(port);
    onTestFinished(() => void before.destroy());
    const session = await new Promise<Buffer>((resolve) => {
      before.once('session', resolve);
      before.resume();
    });
    expect(before.getPeerCertificate().fingerprint256).toBe(fingerprintOf(oldA.certPem));

    await installPair(newA, files);
    await waitForReload(store, 0, 'ok', 1);
    expect(await served(port)).toBe(fingerprintOf(newA.certPem));
    const resumed = await tlsConnect(port, { session });
    onTestFinished(() => void resumed.destroy());
    expect(resumed.isSessionReused()).toBe(true);
  });

  it('follows a Kubernetes Secret update (..data symlink swapped to a new directory)', async () => {
    const secret = await kubeSecretDir(path.join(pki.dir, 'secret'), oldA);
    const { port, store } = await start([secret]);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(oldA.certPem));
    await secret.update(newA);
    await waitForReload(store, 0, 'ok', 1);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(newA.certPem));
    const s = await tlsConnect(port, { servername: 'a.test', ca: pki.ca.certPem, rejectUnauthorized: true });
    onTestFinished(() => void s.destroy());
    expect(s.authorized).toBe(true);
  });

  it('an invalid new file keeps the old certificate, is counted and shown, and a later good file is taken', async () => {
    const files = await pki.servingCopy(oldA);
    const second = await pki.servingCopy(other);
    const { port, store } = await start([files, second]);

    await writeFile(files.certFile, newA.certPem.slice(0, 200)); // a half-written certificate
    await waitForReload(store, 0, 'failed', 1);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(oldA.certPem));
    expect(store.status()[0]!.lastError).toMatch(/holds no PEM certificate/);
    const families = tlsMetricFamilies([store]);
    const errorGauge = families.find((f) => f.name === 'fairway_tls_certificate_reload_error')!;
    expect(errorGauge.samples.map((s) => s.value)).toEqual([1, 0]);
    const reloads = families.find((f) => f.name === 'fairway_tls_certificate_reloads_total')!;
    expect(reloads.samples.find((s) => s.labels.some(([k, v]) => k === 'result' && v === 'failed') && s.labels.some(([k, v]) => k === 'cert' && v === files.certFile))!.value).toBe(1);

    await installPair(newA, files);
    await waitForReload(store, 0, 'ok', 1);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(newA.certPem));
    expect(store.status()[0]).toMatchObject({ lastError: null, reloads: { ok: 1, failed: 1 } });
    expect(store.status()[1]!.reloads).toEqual({ ok: 0, failed: 0 });
  });

  it('a key that does not match the new certificate keeps the old pair serving', async () => {
    const files = await pki.servingCopy(oldA);
    const { port, store } = await start([files]);
    await installPair(newA, files, 'cert');
    await waitForReload(store, 0, 'failed', 1);
    expect(store.status()[0]!.lastError).toMatch(/does not match the certificate/);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(oldA.certPem));
  });
});

describe('reload with a new certificate list', () => {
  it('a running listener serves an added certificate and the new default', async () => {
    const fa = await pki.servingCopy(oldA);
    const fo = await pki.servingCopy(other);
    const { port, store } = await start([fa]);
    expect(await served(port, { servername: 'other.test' })).toBe(fingerprintOf(oldA.certPem));
    await store.reload({ certificates: [fo, fa], minVersion: 'TLSv1.3', http2: false });
    expect(await served(port, { servername: 'other.test' })).toBe(fingerprintOf(other.certPem));
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(oldA.certPem));
    expect(await served(port)).toBe(fingerprintOf(other.certPem));
    const err = await tlsConnect(port, { servername: 'a.test', maxVersion: 'TLSv1.2' }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/PROTOCOL_VERSION/);
  });
});

describe('reload of a running proxy', () => {
  it('applies a TLS listener\'s new certificates when a plain listener shares its port-0 address', async () => {
    const up = await startUpstream({ name: 'a' });
    const config = (pair: CertFiles): Record<string, unknown> => ({
      listen: ['127.0.0.1:0', tlsListen([pair])],
      pools: { web: { upstreams: [up.url] } },
    });
    const p = await startProxy(config(oldA));
    const port = Number(new URL(p.runtime.urls().find((u) => u.startsWith('https:'))!).port);
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(oldA.certPem));
    await p.runtime.apply(buildConfig(config(other), { env: {} }));
    expect(await served(port, { servername: 'a.test' })).toBe(fingerprintOf(other.certPem));
  });
});
