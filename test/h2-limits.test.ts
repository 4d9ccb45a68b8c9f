// HTTP/2 protections on a running Fairway, over real TLS sockets: rapid reset (CVE-2023-44487)
// by Fairway's premature-reset rule and by nghttp2's reset-rate bucket (what Node's
// streamResetBurst/streamResetRate really do), a browser-like client that cancels every open
// stream and is not punished, header list limits, ping and settings floods.

import http2, { type ClientHttp2Session } from 'node:http2';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { H2_DEFAULTS } from '../src/server/h2-server.ts';
import { parsePromText } from '../src/admin/prom-text.testing.ts';
import { localhostPki } from './helpers/certs.ts';
import { FrameType, RawH2, h2Connect, h2Frame, h2Request, tlsListen } from './helpers/h2.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy, type RunningProxy } from './helpers/proxy.ts';
import { startUpstream, type RunningUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

const local = localhostPki();

/** Fairway (TLS, h2) with an admin server; `/hang…` goes to an upstream that never answers, the rest is 404. */
async function setup(): Promise<{ p: RunningProxy; hang: RunningUpstream }> {
  const hang = await startUpstream({ name: 'hang', behavior: { kind: 'hang' } });
  const p = await startProxy({
    listen: [tlsListen([local.cert])],
    admin: { listen: '127.0.0.1:0' },
    pools: { hang: { upstreams: [hang.url], retry: { attempts: 1 } } },
    routes: [{ match: { pathPrefix: '/hang' }, pool: 'hang' }],
  });
  return { p, hang };
}

async function metric(p: RunningProxy, name: string): Promise<number> {
  const m = parsePromText((await fetchText(`${p.adminUrl!}/metrics`)).body);
  return m.samples(name).reduce((sum, s) => sum + s.value, 0);
}

/** Records the GOAWAY a session receives and when it closes. */
function watchSession(session: ClientHttp2Session): { goaway: number | null; closed: boolean } {
  const seen = { goaway: null as number | null, closed: false };
  session.on('goaway', (code: number) => (seen.goaway ??= code));
  session.once('close', () => (seen.closed = true));
  return seen;
}

/** Opens a stream and cancels it right after (Node's client sends the RST once the stream is up). */
function openAndCancel(session: ClientHttp2Session, path: string): void {
  const req = session.request({ ':path': path });
  req.on('error', () => {});
  req.close(NGHTTP2_CANCEL);
}

/** Lets the session flush its frames and read the server's. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('rapid reset (CVE-2023-44487)', () => {
  it('a client cancelling streams as fast as it opens them gets GOAWAY(ENHANCE_YOUR_CALM), its connection closes, every upstream request is cancelled', async () => {
    const { p, hang } = await setup();
    const raw = await RawH2.connect(Number(new URL(p.url).port));
    // 20 requests really in flight at the upstream first (they never get an answer)…
    for (let i = 0; i < 20; i++) raw.get('/hang');
    await waitFor(() => hang.active === 20, { message: '20 requests at the upstream' });
    // …then the attack: HEADERS and RST_STREAM back to back, until the server hangs up.
    let sent = 0;
    while (!raw.closed && sent < 2000) {
      raw.get('/hang/x', true);
      sent++;
      if (sent % 20 === 0) await turn();
    }
    await waitFor(() => raw.closed, { message: 'the connection to close' });
    expect(raw.goaways).toEqual([NGHTTP2_ENHANCE_YOUR_CALM]);
    // Closed by Fairway's rule near its threshold (writes already on the wire add a few hundred at most).
    expect(sent).toBeGreaterThanOrEqual(H2_DEFAULTS.prematureResetMin);
    expect(sent).toBeLessThan(1000);
    // Every request that reached the upstream was cancelled there too (the upstream never answers).
    await waitFor(() => hang.active === 0, { message: 'upstream requests to be cancelled' });
    expect(hang.hits).toBeGreaterThanOrEqual(20);
    await waitFor(() => [...p.runtime.current.pools.values()].every((pool) => pool.upstreams.every((u) => u.inflight === 0)), { message: 'in-flight back to 0' });
    expect(await metric(p, 'fairway_http2_rapid_reset_closes_total')).toBe(1);
    expect(await metric(p, 'fairway_http2_session_errors_total')).toBe(0);
    expect(await metric(p, 'fairway_http2_sessions')).toBe(0);
  });

  it("nghttp2's reset bucket (streamResetBurst/Rate) closes a client that also completes streams, after about the burst", async () => {
    const { p, hang } = await setup();
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    const seen = watchSession(session);
    let cancelled = 0;
    // Two completed requests per cancelled one: Fairway's ratio rule never trips, the bucket does.
    while (!seen.closed && cancelled < 1000) {
      try {
        const done = await Promise.all([h2Request(session, { ':path': '/nope' }), h2Request(session, { ':path': '/nope' })]);
        expect(done.map((r) => r.status)).toEqual([404, 404]);
        openAndCancel(session, '/hang');
      } catch {
        break;
      }
      cancelled++;
    }
    await waitFor(() => seen.closed, { message: 'the session to close' });
    expect(seen.goaway).not.toBeNull();
    expect(cancelled).toBeGreaterThanOrEqual(H2_DEFAULTS.resetBurst);
    // nghttp2's default burst is 1000: closing well before it shows the configured one applies.
    expect(cancelled).toBeLessThan(H2_DEFAULTS.resetBurst + 200);
    expect(await metric(p, 'fairway_http2_rapid_reset_closes_total')).toBe(0);
    expect(await metric(p, 'fairway_http2_session_errors_total')).toBeGreaterThanOrEqual(1);
    await waitFor(() => hang.active === 0, { message: 'upstream requests to be cancelled' });
  });

  it('a browser that loads a page, then navigates away cancelling every open stream, twice, keeps its connection', async () => {
    const { p, hang } = await setup();
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    const seen = watchSession(session);
    for (let page = 0; page < 2; page++) {
      const loaded = await Promise.all(Array.from({ length: 100 }, () => h2Request(session, { ':path': '/nope' })));
      expect(loaded.every((r) => r.status === 404)).toBe(true);
      const open = Array.from({ length: 100 }, () => {
        const req = session.request({ ':path': '/hang' });
        req.on('error', () => {});
        return req;
      });
      await waitFor(() => hang.active === 100, { message: 'the next page: 100 requests in flight' });
      for (const req of open) req.close(NGHTTP2_CANCEL);
      await waitFor(() => hang.active === 0, { message: 'the page to be cancelled upstream' });
    }
    expect(seen.goaway).toBeNull();
    expect((await h2Request(session, { ':path': '/nope' })).status).toBe(404);
    expect(seen.closed).toBe(false);
    expect(await metric(p, 'fairway_http2_rapid_reset_closes_total')).toBe(0);
    expect(await metric(p, 'fairway_http2_session_errors_total')).toBe(0);
  });
});

describe('concurrent streams', () => {
  it('streams beyond 100 open at once are refused with RST_STREAM; the 100 reach the upstream and the session goes on', async () => {
    const { p, hang } = await setup();
    const raw = await RawH2.connect(Number(new URL(p.url).port));
    const ids = Array.from({ length: 110 }, () => raw.get('/hang'));
    await waitFor(() => hang.active === 100 && raw.resets.length === 10, { message: '100 streams at the upstream and 10 refused' });
    expect(raw.resets.map(([id]) => id)).toEqual(ids.slice(100));
    expect(new Set(raw.resets.map(([, code]) => code))).toEqual(new Set([http2.constants.NGHTTP2_REFUSED_STREAM]));
    expect(raw.goaways).toEqual([]);
    raw.cancel(ids[0]!);
    await waitFor(() => hang.active === 99, { message: 'a cancelled stream to free its upstream request' });
    raw.get('/hang');
    await waitFor(() => hang.active === 100, { message: 'a new stream in the freed slot' });
    expect(raw.closed).toBe(false);
    // The client goes away with 100 streams open: every upstream request is cancelled.
    raw.socket.destroy();
    await waitFor(() => hang.active === 0, { message: 'the upstream requests of a lost connection to be cancelled' });
  });
});

describe('header limits', () => {
  it('a header list above server.maxHeaderSize or with more fields than server.maxHeaderCount is refused (RST_STREAM); the session goes on', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({
      listen: [tlsListen([local.cert])],
      server: { maxHeaderSize: '4kb', maxHeaderCount: 20 },
      pools: { web: { upstreams: [a.url] } },
    });
    const session = await h2Connect(p.url, { ca: local.pki.ca.certPem });
    expect(session.remoteSettings.maxHeaderListSize).toBe(4096);
    const big = await h2Request(session, { ':path': '/', 'x-big': 'x'.repeat(6000) }).then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => `${err.code} ${err.message}`,
    );
    // Refused by Node before a 'stream' event (no hook to answer 431 as HTTP/1.1 does): RST_STREAM.
    expect(big).toBe('ERR_HTTP2_STREAM_ERROR Stream closed with error code NGHTTP2_ENHANCE_YOUR_CALM');
    const many: Record<string, string> = { ':path': '/' };
    for (let i = 0; i < 40; i++) many[`x-h${i}`] = 'v';
    const tooMany = await h2Request(session, many).then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => `${err.code} ${err.message}`,
    );
    expect(tooMany).toBe('ERR_HTTP2_STREAM_ERROR Stream closed with error code NGHTTP2_ENHANCE_YOUR_CALM');
    expect(a.hits).toBe(0);
    expect((await h2Request(session, { ':path': '/', 'x-ok': 'fine' })).status).toBe(200);
    expect(a.hits).toBe(1);
  });
});

/**
 * A raw h2 connection that writes `frames` after the preface and never reads: the server's
 * answers (PING/SETTINGS ACKs) pile up. Resolves with how it ended and the bytes written.
 */
async function flood(port: number, make: (i: number) => Buffer, count: number): Promise<{ closed: boolean; written: number }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  expect(socket.alpnProtocol).toBe('h2');
  socket.pause(); // never read: ACKs queue up in the server
  let closed = false;
  socket.once('close', () => (closed = true));
  socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  socket.write(h2Frame(FrameType.Settings, 0, 0));
  let written = 0;
  for (let i = 0; i < count && !closed && !socket.destroyed; i++) {
    if (!socket.write(make(i))) await new Promise((resolve) => setTimeout(resolve, 1));
    written++;
  }
  await waitFor(() => closed, { timeoutMs: 10_000, message: 'the flooding connection to be closed' }).catch(() => {});
  socket.destroy();
  return { closed, written };
}

describe('flood limits (nghttp2, CVE-2019-9512 and -9515)', () => {
  it('a PING flood that never reads the ACKs is cut off', async () => {
    const { p } = await setup();
    const port = Number(new URL(p.url).port);
    const r = await flood(port, (i) => h2Frame(FrameType.Ping, 0, 0, Buffer.alloc(8, i & 0xff)), 200_000);
    expect(r.closed).toBe(true);
    expect(r.written).toBeLessThan(200_000);
    expect(await metric(p, 'fairway_http2_sessions')).toBe(0);
  });

  it('a SETTINGS flood that never reads the ACKs is cut off', async () => {
    const { p } = await setup();
    const port = Number(new URL(p.url).port);
    const r = await flood(port, () => h2Frame(FrameType.Settings, 0, 0), 200_000);
    expect(r.closed).toBe(true);
    expect(r.written).toBeLessThan(200_000);
  });
});
