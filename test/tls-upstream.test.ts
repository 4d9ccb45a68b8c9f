// Upstream TLS per pool over real sockets: undici with the connect options upstreamConnectOptions()
// builds, against https servers whose certificates come from a throwaway CA. Verification with
// and without the pool's CA, servername (SNI and the name verified), verify: false, mutual TLS.

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { UpstreamTlsConfig } from '../src/config/types.ts';
import { loadUpstreamTls, upstreamConnectOptions, type UpstreamConnectTls } from '../src/tls/upstream.ts';
import { createTestPki, type CertFiles, type TestPki } from './helpers/certs.ts';

let pki: TestPki;
let serverCert: CertFiles;
let clientCert: CertFiles;

beforeAll(async () => {
  pki = await createTestPki();
  [serverCert, clientCert] = await Promise.all([
    pki.leaf({ dns: ['api.internal'], ips: ['127.0.0.1'] }),
    pki.leaf({ cn: 'fairway-proxy', usage: 'client' }),
  ]);
});
afterAll(() => pki.close());

/** What the upstream saw of each request that reached it. */
interface Seen {
  servername: string | false | null;
  clientCn: string | null;
}

/** An https upstream on 127.0.0.1:0; with `mtls`, it requires a client certificate from the CA. */
async function upstream(mtls = false): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = https.createServer(
    { cert: serverCert.certPem, key: serverCert.keyPem, ...(mtls ? { requestCert: true, rejectUnauthorized: true, ca: pki.ca.certPem } : {}) },
    (req, res) => {
      const socket = req.socket as tls.TLSSocket;
      const peer = socket.getPeerCertificate();
      const cn = peer.subject?.CN;
      seen.push({ servername: socket.servername, clientCn: typeof cn === 'string' ? cn : null });
      res.end('ok');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** One GET through an undici Pool built as the registry builds it, with these TLS options. */
async function fetchThrough(origin: string, connectTls: UpstreamConnectTls): Promise<string> {
  const pool = new Pool(origin, { connections: 1, allowH2: false, connect: { timeout: 5000, ...connectTls } });
  onTestFinished(() => pool.destroy());
  const res = await pool.request({ path: '/', method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
  return `${res.statusCode} ${await res.body.text()}`;
}

async function options(cfg: Partial<UpstreamTlsConfig> | null, hostname = '127.0.0.1'): Promise<UpstreamConnectTls> {
  if (cfg === null) return upstreamConnectOptions(null, hostname);
  const full: UpstreamTlsConfig = { caFile: null, servername: null, certFile: null, keyFile: null, verify: true, ...cfg };
  return upstreamConnectOptions(await loadUpstreamTls(full), hostname);
}

const errorCode = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => 'no error',
    (e: unknown) => (e as NodeJS.ErrnoException).code,
  );

describe('upstream TLS verification', () => {
  it('fails without the pool CA (system CAs), passes with it', async () => {
    const u = await upstream();
    expect(await errorCode(fetchThrough(u.origin, await options(null)))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await fetchThrough(u.origin, await options({ caFile: pki.ca.certFile }))).toBe('200 ok');
    expect(u.seen).toHaveLength(1);
  });

  it('servername is the SNI sent and the name verified; a mismatch fails', async () => {
    const u = await upstream();
    expect(await fetchThrough(u.origin, await options({ caFile: pki.ca.certFile, servername: 'api.internal' }))).toBe('200 ok');
    expect(u.seen[0]!.servername).toBe('api.internal');
    expect(await errorCode(fetchThrough(u.origin, await options({ caFile: pki.ca.certFile, servername: 'other.internal' })))).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(u.seen).toHaveLength(1);
  });

  it('a DNS-resolved upstream (dialled by address) is verified against its configured name', async () => {
    const u = await upstream();
    // The pool passes the URL's host name; the address is what undici dials (the origin).
    expect(await fetchThrough(u.origin, await options({ caFile: pki.ca.certFile }, 'api.internal'))).toBe('200 ok');
    expect(u.seen[0]!.servername).toBe('api.internal');
  });

  it('verify: false accepts an untrusted certificate', async () => {
    const u = await upstream();
    expect(await fetchThrough(u.origin, await options({ verify: false, servername: 'wrong.internal' }))).toBe('200 ok');
  });
});

describe('mutual TLS', () => {
  it('an upstream requiring a client certificate is reached only with cert and key', async () => {
    const u = await upstream(true);
    const without = await errorCode(fetchThrough(u.origin, await options({ caFile: pki.ca.certFile })));
    expect(without).not.toBe('no error');
    expect(u.seen).toHaveLength(0);
    expect(await fetchThrough(u.origin, await options({ caFile: pki.ca.certFile, certFile: clientCert.certFile, keyFile: clientCert.keyFile }))).toBe('200 ok');
    expect(u.seen).toEqual([{ servername: false, clientCn: 'fairway-proxy' }]);
  });

  it('a client certificate from another CA is refused', async () => {
    const u = await upstream(true);
    const strangers = await createTestPki();
    onTestFinished(() => strangers.close());
    const foreign = await strangers.leaf({ cn: 'intruder', usage: 'client' });
    const code = await errorCode(fetchThrough(u.origin, await options({ caFile: pki.ca.certFile, certFile: foreign.certFile, keyFile: foreign.keyFile })));
    expect(code).not.toBe('no error');
    expect(u.seen).toHaveLength(0);
  });
});
