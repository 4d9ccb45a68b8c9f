// HTTP/2 sessions over a running Fairway's TLS listener: the idle timeout (server.keepAliveTimeout)
// ends a quiet session with GOAWAY while a slow stream still finishes; a drain sends GOAWAY, lets
// open streams finish and refuses new ones; at the drain deadline what is left is cancelled, the
// upstream request included.

import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { localhostPki, tlsConnect } from './helpers/certs.ts';
import { RawH2, h2Connect, h2Request, tlsListen } from './helpers/h2.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const { NGHTTP2_NO_ERROR } = http2.constants;

const local = localhostPki();

/** GOAWAY code and close of a client session, as they happen. */
function watch(session: http2.ClientHttp2Session): { goaway: number | null; closed: boolean } {
  const seen = { goaway: null as number | null, closed: false };
  session.on('goaway', (code: number) => (seen.goaway ??= code));
  session.once('close', () => (seen.closed = true));
  return seen;
}

describe('idle timeout', () => {
  it('a quiet session gets GOAWAY(NO_ERROR) after server.keepAliveTimeout; a slow stream in flight still finishes', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 900 } });
    const p = await startProxy({ listen: [tlsListen([local.cert])], server: { keepAliveTimeout: '300ms' }, pools: { web: { upstreams: [slow.url] } } });
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    const seen = watch(session);
    const started = Date.now();
    const r = await h2Request(session, { ':path': '/' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('slow\n');
    // The session went quiet for longer than the idle timeout while the upstream took its time.
    expect(seen.goaway).toBe(NGHTTP2_NO_ERROR);
    await waitFor(() => seen.closed, { message: 'the idle session to close' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('a session with steady traffic is kept', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ listen: [tlsListen([local.cert])], server: { keepAliveTimeout: '400ms' }, pools: { web: { upstreams: [a.url] } } });
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    const seen = watch(session);
    const until = Date.now() + 1200;
    let n = 0;
    while (Date.now() < until) {
      expect((await h2Request(session, { ':path': '/' })).status).toBe(200);
      n++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(n).toBeGreaterThan(5);
    expect(seen.goaway).toBeNull();
  });
});

describe('drain', () => {
  it('GOAWAY at once; the open stream finishes 200; a stream opened after GOAWAY is not served; new connections are refused; close resolves', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 600 } });
    const p = await startProxy({ listen: [tlsListen([local.cert])], pools: { web: { upstreams: [slow.url] } } });
    const port = Number(new URL(p.url).port);
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    const seen = watch(session);
    const raw = await RawH2.connect(port);
    const inFlight = h2Request(session, { ':path': '/' });
    await waitFor(() => slow.active === 1, { message: 'the request at the upstream' });
    const closing = p.close(5000);
    await waitFor(() => seen.goaway !== null && raw.goaways.length > 0, { message: 'GOAWAY on both sessions' });
    expect(seen.goaway).toBe(NGHTTP2_NO_ERROR);
    expect(raw.goaways).toEqual([NGHTTP2_NO_ERROR]);
    // A client that opens a stream anyway (past the GOAWAY's last stream id) is not served.
    raw.get('/');
    await expect(tlsConnect(port, {}, 2000)).rejects.toThrow();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('slow\n');
    await closing;
    await waitFor(() => seen.closed && raw.closed, { message: 'the sessions to close' });
    expect(slow.hits).toBe(1);
  });

  it('at the drain deadline a stream still open is cancelled, and so is its upstream request', async () => {
    const hang = await startUpstream({ name: 'hang', behavior: { kind: 'hang' } });
    const p = await startProxy({ listen: [tlsListen([local.cert])], pools: { web: { upstreams: [hang.url] } } });
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    const seen = watch(session);
    const outcome = h2Request(session, { ':path': '/' }).then(
      (r) => `status ${r.status}`,
      (err: NodeJS.ErrnoException) => err.code ?? 'error',
    );
    await waitFor(() => hang.active === 1, { message: 'the request at the upstream' });
    const started = Date.now();
    await p.close(300);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await outcome).not.toMatch(/^status 2/);
    await waitFor(() => hang.active === 0, { message: 'the upstream request to be cancelled' });
    await waitFor(() => seen.closed, { message: 'the session to close' });
  });
});
