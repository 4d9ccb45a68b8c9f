// Upstream TLS per pool over real sockets: undici with the connect options upstreamConnectOptions()
// builds, then the running proxy (traffic and health checks), against https servers whose
// certificates come from a throwaway CA. Verification with and without the pool's CA, servername
// (SNI and the name verified), verify: false (and its warning), mutual TLS, a reload with new
// TLS material.

import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfigFile } from '../src/config/load.ts';
import type { UpstreamTlsConfig } from '../src/config/types.ts';
import type { Logger } from '../src/observability/log.ts';
import { recordingLogger } from '../src/observability/log.testing.ts';
import { loadUpstreamTls, upstreamConnectOptions, type UpstreamConnectTls } from '../src/tls/upstream.ts';
import { createTestPki, type CertFiles, type TestPki } from './helpers/certs.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy, type RunningProxy } from './helpers/proxy.ts';
import { waitFor } from './helpers/wait.ts';

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

/** An https upstream on 127.0.0.1:0; with `mtls`, it requires a client certificate from the CA. GET /health is not recorded. */
async function upstream(mtls = false): Promise<{ origin: string; seen: Seen[]; probes: { n: number } }> {
  const seen: Seen[] = [];
  const probes = { n: 0 };
  const server = https.createServer(
    { cert: serverCert.certPem, key: serverCert.keyPem, ...(mtls ? { requestCert: true, rejectUnauthorized: true, ca: pki.ca.certPem } : {}) },
    (req, res) => {
      if (req.url === '/health') {
        probes.n++;
        res.end('ok');
        return;
      }
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
  return { origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, probes };
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

/** A pool `web` in front of `origin` with these `tls` settings (YAML shape), one try per request. */
async function proxyTo(origin: string, tlsCfg: Record<string, unknown> | null, extra: Record<string, unknown> = {}, opts: { log?: Logger } = {}): Promise<RunningProxy> {
  return startProxy({ pools: { web: { upstreams: [origin], retry: { attempts: 1 }, ...(tlsCfg === null ? {} : { tls: tlsCfg }), ...extra } } }, opts);
}

describe('through the proxy: pools.*.tls', () => {
  it('an https upstream is verified against the pool CA: 502 connect-error without it, 200 with it', async () => {
    const u = await upstream();
    const without = await proxyTo(u.origin, null);
    const r1 = await fetchText(`${without.url}/`);
    expect([r1.status, r1.headers['x-fairway-error']]).toEqual([502, 'connect-error']);
    const withCa = await proxyTo(u.origin, { ca: pki.ca.certFile });
    const r2 = await fetchText(`${withCa.url}/`);
    expect([r2.status, r2.body]).toEqual([200, 'ok']);
    expect(u.seen).toHaveLength(1);
  });

  it('servername is the SNI the upstream sees and the name verified; another name fails', async () => {
    const u = await upstream();
    const good = await proxyTo(u.origin, { ca: pki.ca.certFile, servername: 'api.internal' });
    expect((await fetchText(`${good.url}/`)).status).toBe(200);
    expect(u.seen[0]!.servername).toBe('api.internal');
    const bad = await proxyTo(u.origin, { ca: pki.ca.certFile, servername: 'other.internal' });
    expect((await fetchText(`${bad.url}/`)).headers['x-fairway-error']).toBe('connect-error');
    expect(u.seen).toHaveLength(1);
  });

  it('mutual TLS: the proxy presents the pool client certificate; without it the upstream refuses', async () => {
    const u = await upstream(true);
    const anonymous = await proxyTo(u.origin, { ca: pki.ca.certFile });
    expect((await fetchText(`${anonymous.url}/`)).status).toBe(502);
    const known = await proxyTo(u.origin, { ca: pki.ca.certFile, cert: clientCert.certFile, key: clientCert.keyFile });
    const r = await fetchText(`${known.url}/`);
    expect([r.status, r.body]).toEqual([200, 'ok']);
    expect(u.seen).toEqual([{ servername: false, clientCn: 'fairway-proxy' }]);
  });

  it('health checks use the same TLS settings: probes pass only with the client certificate', async () => {
    const u = await upstream(true);
    const healthCheck = { path: '/health', interval: '200ms', timeout: '150ms', healthyThreshold: 1, unhealthyThreshold: 1, initialState: 'down' };
    const known = await proxyTo(u.origin, { ca: pki.ca.certFile, cert: clientCert.certFile, key: clientCert.keyFile }, { healthCheck });
    await waitFor(async () => (await fetchText(`${known.url}/`)).status === 200, { message: 'the upstream to be marked up by a probe' });
    expect(u.probes.n).toBeGreaterThanOrEqual(1);
    const anonymous = await proxyTo(u.origin, { ca: pki.ca.certFile }, { healthCheck });
    const checked = anonymous.runtime.current.pools.get('web')!.upstreams[0]!;
    await waitFor(() => checked.lastCheck !== null, { message: 'a probe result' });
    expect(checked.lastCheck!.ok).toBe(false);
    const r = await fetchText(`${anonymous.url}/`);
    expect([r.status, r.headers['x-fairway-error']]).toEqual([503, 'no-upstream']);
  });

  it('a reload with new contents in the same CA file takes effect for traffic and probes (new connection pools)', async () => {
    const u = await upstream();
    const strangers = await createTestPki();
    onTestFinished(() => strangers.close());
    const dir = await mkdtemp(path.join(tmpdir(), 'fairway-upstream-ca-'));
    const caFile = path.join(dir, 'ca.pem');
    await writeFile(caFile, strangers.ca.certPem);
    const file = path.join(dir, 'fairway.yaml');
    await writeFile(
      file,
      `listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: [${u.origin}]\n    retry: { attempts: 1 }\n    tls: { ca: ${caFile} }\n` +
        '    healthCheck: { path: /health, interval: 100ms, timeout: 80ms, unhealthyThreshold: 1, healthyThreshold: 1 }\n',
    );
    const p = await startProxy(readFileSync(file, 'utf8'), { reload: () => loadConfigFile(file) });
    expect((await fetchText(`${p.url}/`)).status).toBe(502);
    const before = p.runtime.current.pools.get('web')!.upstreams[0]!;
    const oldDispatcher = before.dispatcher;
    await writeFile(caFile, pki.ca.certPem);
    await p.runtime.reload();
    const after = p.runtime.current.pools.get('web')!.upstreams[0]!;
    expect(after).toBe(before); // the upstream and its state carry over…
    expect(after.dispatcher).not.toBe(oldDispatcher); // …with a connection pool built on the new CA
    // The failed connects ejected it; the first probe over the new CA passes and readmits it.
    await waitFor(async () => (await fetchText(`${p.url}/`)).status === 200, { message: 'traffic over the new CA' });
    expect(u.probes.n).toBeGreaterThanOrEqual(1);
    // A reload with the same material keeps the pool (and its keep-alive connections).
    await p.runtime.reload();
    expect(p.runtime.current.pools.get('web')!.upstreams[0]!.dispatcher).toBe(after.dispatcher);
  });

  it('verify: false serves an untrusted upstream and warns at start and on every reload', async () => {
    const u = await upstream();
    const { log, lines } = recordingLogger();
    const dir = await mkdtemp(path.join(tmpdir(), 'fairway-verify-'));
    const file = path.join(dir, 'fairway.yaml');
    await writeFile(file, `listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: [${u.origin}]\n    tls: { verify: false }\n`);
    const p = await startProxy(readFileSync(file, 'utf8'), { reload: () => loadConfigFile(file), log });
    expect((await fetchText(`${p.url}/`)).status).toBe(200);
    const warnings = (): number => lines.filter((l) => l.level === 'warn' && /pool web: tls\.verify is false/.test(l.msg)).length;
    expect(warnings()).toBe(1);
    await p.runtime.reload();
    expect(warnings()).toBe(2);
  });
});
