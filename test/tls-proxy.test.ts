// TLS termination on a running Fairway, over real sockets: the startup line of the real CLI,
// SNI and ALPN through the proxy, certificate rotation under a held-open HTTP/2 connection (file
// watcher) and by POST /reload with new paths, an invalid rotation counted in /metrics and shown
// in /status, the expiry gauge and /status `tls`.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load.ts';
import { parsePromText } from '../src/admin/prom-text.testing.ts';
import { startCli } from './helpers/cli.ts';
import { createTestPki, fingerprintOf, installPair, tlsConnect, type CertFiles, type TestPki } from './helpers/certs.ts';
import { h2Connect, h2Request, tlsListen } from './helpers/h2.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy, type RunningProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

let pki: TestPki;
let site: CertFiles;
let siteNext: CertFiles;
let exact: CertFiles;
let wild: CertFiles;

beforeAll(async () => {
  pki = await createTestPki();
  [site, siteNext, exact, wild] = await Promise.all([
    pki.leaf({ dns: ['localhost'], ips: ['127.0.0.1'] }),
    pki.leaf({ dns: ['localhost'], ips: ['127.0.0.1'] }),
    pki.leaf({ dns: ['a.test'] }),
    pki.leaf({ dns: ['*.w.test'] }),
  ]);
});
afterAll(() => pki.close());

/** A fresh handshake: the certificate it got, ALPN's choice and whether it verified. */
async function connect(port: number, opts: tls.ConnectionOptions): Promise<{ fingerprint: string; alpn: string | false; authorized: boolean }> {
  const s = await tlsConnect(port, opts);
  try {
    return { fingerprint: s.getPeerCertificate().fingerprint256, alpn: s.alpnProtocol ?? false, authorized: s.authorized };
  } finally {
    s.destroy();
  }
}

async function metrics(p: RunningProxy): Promise<ReturnType<typeof parsePromText>> {
  return parsePromText((await fetchText(`${p.adminUrl!}/metrics`)).body);
}

interface TlsStatus {
  listener: string;
  http2: boolean;
  minVersion: string;
  http2Sessions: number | null;
  certificates: { certFile: string; names: string[]; notAfter: string; fingerprint256: string; reloads: { ok: number; failed: number }; lastError: string | null }[];
}

async function tlsStatus(p: RunningProxy): Promise<TlsStatus[]> {
  return (JSON.parse((await fetchText(`${p.adminUrl!}/status`)).body) as { tls: TlsStatus[] }).tls;
}

describe('a TLS listener in the real process', () => {
  it('prints `fairway listening on https://HOST:PORT` and serves HTTPS there', async () => {
    const a = await startUpstream({ name: 'a' });
    const dir = await mkdtemp(path.join(tmpdir(), 'fairway-tls-cli-'));
    const file = path.join(dir, 'fairway.yaml');
    await writeFile(
      file,
      ['listen:', '  - address: 127.0.0.1:0', '    tls:', '      certificates:', `        - { cert: ${site.certFile}, key: ${site.keyFile} }`, 'pools:', `  web: { upstreams: [${a.url}] }`, ''].join('\n'),
    );
    const cli = startCli(['--config', file]);
    const m = await waitFor(() => /^fairway listening on (https:\/\/127\.0\.0\.1:\d+)$/m.exec(cli.stdout()), { timeoutMs: 30_000, message: `the https listening line (stderr: ${cli.stderr()})` });
    const port = Number(new URL(m[1]!).port);
    const s = await connect(port, { ca: pki.ca.certPem, rejectUnauthorized: true, servername: 'localhost' });
    expect(s.authorized).toBe(true);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});

describe('SNI and ALPN through the proxy', () => {
  it('each handshake gets the certificate its name selects, and the request is proxied', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ listen: [tlsListen([site, exact, wild])], pools: { web: { upstreams: [a.url] } } });
    const port = Number(new URL(p.url).port);
    const cases: [string | undefined, CertFiles][] = [
      ['a.test', exact],
      ['x.w.test', wild],
      ['unknown.test', site],
      [undefined, site],
    ];
    for (const [servername, want] of cases) {
      const s = await connect(port, servername === undefined ? {} : { servername });
      expect(s.fingerprint, servername ?? 'no SNI').toBe(fingerprintOf(want.certPem));
    }
    const session = await h2Connect(p.url, { ca: pki.ca.certPem, servername: 'a.test' });
    expect((session.socket as tls.TLSSocket).getPeerCertificate().fingerprint256).toBe(fingerprintOf(exact.certPem));
    expect((await h2Request(session, { ':path': '/', ':authority': 'a.test' })).body.toString()).toBe('a\n');
    expect(a.requests[0]!.headers['host']).toBe('a.test');
  });

  it('ALPN: h2 preferred, http/1.1 when that is all a client offers; http2: false offers only http/1.1', async () => {
    const a = await startUpstream({ name: 'a' });
    const both = await startProxy({ listen: [tlsListen([site])], pools: { web: { upstreams: [a.url] } } });
    const onlyH1 = await startProxy({ listen: [tlsListen([site], { http2: false })], pools: { web: { upstreams: [a.url] } } });
    const portBoth = Number(new URL(both.url).port);
    const portH1 = Number(new URL(onlyH1.url).port);
    expect((await connect(portBoth, { ALPNProtocols: ['h2', 'http/1.1'] })).alpn).toBe('h2');
    expect((await connect(portBoth, { ALPNProtocols: ['http/1.1'] })).alpn).toBe('http/1.1');
    expect((await connect(portH1, { ALPNProtocols: ['h2', 'http/1.1'] })).alpn).toBe('http/1.1');
    // A client that can only speak h2 is refused by the HTTP/1.1-only listener during the handshake.
    const err = await tlsConnect(portH1, { ALPNProtocols: ['h2'] }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/ALPN|NO_APPLICATION_PROTOCOL/);
    // No ALPN at all: HTTP/1.1, as before ALPN existed.
    const plain = await tlsConnect(portBoth, { servername: 'localhost' });
    expect(plain.alpnProtocol).toBe(false);
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      plain.setEncoding('utf8');
      plain.on('data', (d: string) => (text += d));
      plain.on('close', () => resolve(text));
      plain.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply.endsWith('\r\n\r\na\n')).toBe(true);
  });
});

describe('certificate rotation on a running proxy', () => {
  it('the watcher swaps a renewed certificate for new handshakes; an HTTP/2 connection held open keeps working on the old one', async () => {
    const a = await startUpstream({ name: 'a' });
    const files = await pki.servingCopy(site);
    const p = await startProxy({ listen: [tlsListen([{ ...site, ...files }])], admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: [a.url] } } });
    const port = Number(new URL(p.url).port);
    const held = await h2Connect(p.url, { ca: pki.ca.certPem });
    const heldSocket = held.socket as tls.TLSSocket;
    expect(heldSocket.getPeerCertificate().fingerprint256).toBe(fingerprintOf(site.certPem));
    expect((await h2Request(held, { ':path': '/' })).status).toBe(200);

    await installPair(siteNext, files);
    // Picked up by polling the files (2 s by default), well within the spec's 10 s.
    await waitFor(async () => (await connect(port, { servername: 'localhost' })).fingerprint === fingerprintOf(siteNext.certPem), {
      timeoutMs: 10_000,
      intervalMs: 100,
      message: 'new handshakes to get the renewed certificate',
    });
    expect(held.closed || held.destroyed).toBe(false);
    expect((await h2Request(held, { ':path': '/' })).status).toBe(200);
    expect(heldSocket.getPeerCertificate().fingerprint256).toBe(fingerprintOf(site.certPem));
    const st = (await tlsStatus(p))[0]!;
    expect(st.certificates[0]).toMatchObject({ fingerprint256: fingerprintOf(siteNext.certPem), reloads: { ok: 1, failed: 0 }, lastError: null });
    const m = await metrics(p);
    expect(m.value('fairway_tls_certificate_reloads_total', { listener: p.url, cert: files.certFile, name: 'localhost', result: 'ok' })).toBe(1);
  });

  it('POST /reload with new certificate paths: new handshakes use them, open connections stay', async () => {
    const a = await startUpstream({ name: 'a' });
    const dir = await mkdtemp(path.join(tmpdir(), 'fairway-tls-reload-'));
    const file = path.join(dir, 'fairway.yaml');
    const yaml = (c: CertFiles): string =>
      ['listen:', '  - address: 127.0.0.1:0', '    tls:', '      certificates:', `        - { cert: ${c.certFile}, key: ${c.keyFile} }`, 'admin: { listen: 127.0.0.1:0 }', 'pools:', `  web: { upstreams: [${a.url}] }`, ''].join('\n');
    await writeFile(file, yaml(site));
    const p = await startProxy(yaml(site), { reload: () => loadConfigFile(file) });
    const port = Number(new URL(p.url).port);
    const held = await h2Connect(p.url, { ca: pki.ca.certPem });
    await writeFile(file, yaml(siteNext));
    const r = await fetchText(`${p.adminUrl!}/reload`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect((await connect(port, { servername: 'localhost' })).fingerprint).toBe(fingerprintOf(siteNext.certPem));
    expect((await h2Request(held, { ':path': '/' })).status).toBe(200);
    expect((held.socket as tls.TLSSocket).getPeerCertificate().fingerprint256).toBe(fingerprintOf(site.certPem));
    expect((await tlsStatus(p))[0]!.certificates.map((c) => c.certFile)).toEqual([siteNext.certFile]);
  });

  it('an invalid renewed key keeps the current certificate: logged, counted in /metrics, shown in /status', async () => {
    const a = await startUpstream({ name: 'a' });
    const files = await pki.servingCopy(site);
    const p = await startProxy({ listen: [tlsListen([{ ...site, ...files }])], admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: [a.url] } } });
    const port = Number(new URL(p.url).port);
    await installPair(siteNext, files, 'cert'); // the new certificate without its key
    await waitFor(async () => (await tlsStatus(p))[0]!.certificates[0]!.reloads.failed >= 1, { timeoutMs: 10_000, intervalMs: 100, message: 'a failed reload' });
    const st = (await tlsStatus(p))[0]!;
    expect(st.certificates[0]!.lastError).toMatch(/does not match the certificate/);
    expect(st.certificates[0]!.fingerprint256).toBe(fingerprintOf(site.certPem));
    expect((await connect(port, { servername: 'localhost' })).fingerprint).toBe(fingerprintOf(site.certPem));
    const m = await metrics(p);
    const labels = { listener: p.url, cert: files.certFile, name: 'localhost' };
    expect(m.value('fairway_tls_certificate_reloads_total', { ...labels, result: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(m.value('fairway_tls_certificate_reload_error', labels)).toBe(1);
  });
});

describe('/metrics and /status', () => {
  it('certificate expiry as a gauge and in /status, per listener; HTTP/2 sessions counted', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ listen: [tlsListen([site, exact]), '127.0.0.1:0'], admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: [a.url] } } });
    const session = await h2Connect(p.url, { ca: pki.ca.certPem });
    expect((await h2Request(session, { ':path': '/' })).status).toBe(200);
    const st = await tlsStatus(p);
    expect(st).toHaveLength(1); // the plain listener has no TLS entry
    expect(st[0]).toMatchObject({ listener: p.url, http2: true, minVersion: 'TLSv1.2', http2Sessions: 1 });
    expect(st[0]!.certificates.map((c) => c.names)).toEqual([['localhost'], ['a.test']]);
    const m = await metrics(p);
    const notAfter = Date.parse(st[0]!.certificates[0]!.notAfter) / 1000;
    expect(notAfter).toBeGreaterThan(Date.now() / 1000 + 29 * 86400); // the test leaves last 30 days
    expect(m.value('fairway_tls_certificate_expiry_timestamp_seconds', { listener: p.url, cert: site.certFile, name: 'localhost' })).toBe(notAfter);
    expect(m.value('fairway_tls_certificate_reload_error', { listener: p.url, cert: exact.certFile, name: 'a.test' })).toBe(0);
    expect(m.value('fairway_http2_sessions', { listener: p.url })).toBe(1);
    expect(m.value('fairway_http2_sessions_total', { listener: p.url })).toBe(1);
  });
});
