// A TLS listener's handshakes over real sockets: which certificate SNI picks, protocol versions,
// cipher order, ALPN for HTTPS and HTTP/2 servers, session resumption, a full chain verifying.

import http2 from 'node:http2';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ListenTls } from '../src/config/types.ts';
import { createTestPki, fingerprintOf, startTlsServer, tlsConnect, type CertFiles, type TestPki } from './helpers/certs.ts';

let pki: TestPki;
let def: CertFiles;
let exact: CertFiles;
let wild: CertFiles;
let inWild: CertFiles;
let chain: CertFiles;

beforeAll(async () => {
  pki = await createTestPki();
  [def, exact, wild, inWild, chain] = await Promise.all([
    pki.leaf({ dns: ['default.test'], ips: ['127.0.0.1'] }),
    pki.leaf({ dns: ['a.test'] }),
    pki.leaf({ dns: ['*.w.test'] }),
    pki.leaf({ dns: ['x.w.test'] }),
    pki.leaf({ dns: ['chain.test'], chain: true }),
  ]);
});
afterAll(() => pki.close());

function listenTls(over: Partial<ListenTls> = {}): ListenTls {
  return { certificates: [def, wild, inWild, exact, chain], minVersion: 'TLSv1.2', http2: false, ...over };
}

const start = async (cfg: ListenTls): Promise<number> => (await startTlsServer(cfg)).port;

/** GET / over HTTP/2 with SNI; the body and the certificate the session got. */
async function h2Get(port: number, servername: string): Promise<{ body: string; fingerprint: string }> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { servername, ca: pki.ca.certPem });
  onTestFinished(() => void session.close());
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
  return { body, fingerprint: (session.socket as tls.TLSSocket).getPeerCertificate().fingerprint256 };
}

async function connect(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const s = await tlsConnect(port, opts);
  onTestFinished(() => void s.destroy());
  return s;
}

async function servedFor(port: number, servername?: string): Promise<string> {
  const s = await connect(port, servername === undefined ? {} : { servername });
  return s.getPeerCertificate().fingerprint256;
}

describe('SNI selection', () => {
  it('exact name, wildcard, exact beating an earlier wildcard, and the default', async () => {
    const port = await start(listenTls());
    expect(await servedFor(port, 'a.test')).toBe(fingerprintOf(exact.certPem));
    expect(await servedFor(port, 'b.w.test')).toBe(fingerprintOf(wild.certPem));
    expect(await servedFor(port, 'x.w.test')).toBe(fingerprintOf(inWild.certPem));
    expect(await servedFor(port, 'default.test')).toBe(fingerprintOf(def.certPem));
  });

  it('case-insensitive', async () => {
    const port = await start(listenTls());
    expect(await servedFor(port, 'A.Test')).toBe(fingerprintOf(exact.certPem));
    expect(await servedFor(port, 'B.W.TEST')).toBe(fingerprintOf(wild.certPem));
  });

  it('the first certificate for unknown names, names two labels under a wildcard, and no SNI at all', async () => {
    const port = await start(listenTls());
    expect(await servedFor(port, 'unknown.test')).toBe(fingerprintOf(def.certPem));
    expect(await servedFor(port, 'a.b.w.test')).toBe(fingerprintOf(def.certPem));
    expect(await servedFor(port)).toBe(fingerprintOf(def.certPem)); // dialled by IP: no SNI sent
  });

  it('serves the full chain: a client trusting only the root verifies the leaf', async () => {
    const port = await start(listenTls());
    const s = await connect(port, { servername: 'chain.test', ca: pki.ca.certPem, rejectUnauthorized: true });
    expect(s.authorized).toBe(true);
    expect(s.getPeerCertificate(true).issuerCertificate.subject.CN).toBe('Fairway Test Intermediate CA');
  });

  it('a certificate for the IP verifies without SNI', async () => {
    const port = await start(listenTls());
    const s = await connect(port, { ca: pki.ca.certPem, rejectUnauthorized: true });
    expect(s.authorized).toBe(true);
  });
});

describe('protocol defaults', () => {
  it('refuses TLS 1.0 and 1.1 from a client that offers them', async () => {
    const port = await start(listenTls());
    // SECLEVEL=0 lets this client offer TLS 1.0/1.1, so the refusal is the server's.
    const err = await tlsConnect(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/PROTOCOL_VERSION/);
  });

  it('minVersion TLSv1.3 refuses a TLS 1.2 client; TLSv1.2 accepts it', async () => {
    const strict = await start(listenTls({ minVersion: 'TLSv1.3' }));
    const err = await tlsConnect(strict, { maxVersion: 'TLSv1.2' }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/PROTOCOL_VERSION/);
    expect((await connect(strict)).getProtocol()).toBe('TLSv1.3');
    const lax = await start(listenTls());
    expect((await connect(lax, { maxVersion: 'TLSv1.2' })).getProtocol()).toBe('TLSv1.2');
  });

  it('TLS 1.2: the server picks the suite by its own order, and refuses CBC-only clients', async () => {
    const port = await start(listenTls());
    const s = await connect(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(s.getCipher().name).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    const err = await tlsConnect(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/HANDSHAKE_FAILURE/);
  });

  it('resumes sessions (TLS 1.3 tickets and TLS 1.2), also on an SNI-chosen certificate', async () => {
    const port = await start(listenTls());
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      for (const servername of [undefined, 'a.test']) {
        const first = await connect(port, { maxVersion, ...(servername === undefined ? {} : { servername }) });
        const session = await new Promise<Buffer>((resolve) => {
          const got = first.getSession();
          if (maxVersion === 'TLSv1.2' && got !== undefined) resolve(got);
          else first.once('session', resolve);
          first.resume();
        });
        const second = await connect(port, { maxVersion, session, ...(servername === undefined ? {} : { servername }) });
        expect(second.isSessionReused(), `${maxVersion} ${servername ?? 'no SNI'}`).toBe(true);
      }
    }
  });
});

describe('ALPN', () => {
  it('an HTTPS listener (http2: false) offers only http/1.1', async () => {
    const port = await start(listenTls());
    expect((await connect(port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpnProtocol).toBe('http/1.1');
  });

  it('an HTTP/2 listener speaks h2 and HTTP/1.1 on one port, with SNI', async () => {
    const port = await start(listenTls({ http2: true }));
    expect((await connect(port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpnProtocol).toBe('h2');
    expect((await connect(port, { ALPNProtocols: ['http/1.1'] })).alpnProtocol).toBe('http/1.1');

    expect(await h2Get(port, 'a.test')).toEqual({ body: 'ok', fingerprint: fingerprintOf(exact.certPem) });
  });

  it('an HTTP/2 listener keeps h2 and SNI after its certificates change', async () => {
    const { port, store } = await startTlsServer(listenTls({ http2: true }));
    await store.reload(listenTls({ http2: true, certificates: [exact, def] }));
    expect((await connect(port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpnProtocol).toBe('h2');
    expect(await servedFor(port)).toBe(fingerprintOf(exact.certPem));
    expect(await h2Get(port, 'default.test')).toEqual({ body: 'ok', fingerprint: fingerprintOf(def.certPem) });
  });
});
