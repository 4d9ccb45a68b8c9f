// The spec's "At the edge: what never reaches an upstream", as one suite any proxy can be run
// against (the pattern of src/balancer/conformance.case.ts): hostile framing, request lines,
// Host, limits, Connection and Upgrade abuse from clients, and malformed responses from an
// upstream. Every case runs over real sockets with a recording upstream behind the proxy.
// Run against Fairway by fairway-edge.pending.ts, against the reference wiring by
// reference-edge.test.ts.

import { describe, expect, it } from 'vitest';
import { fetchText, newClient } from '../helpers/http.ts';
import { header, okReply, startRecordingUpstream, type RecordingUpstream, type Reply } from '../helpers/recording-upstream.ts';
import { rawExchange, responseHeader, type RawExchange } from './responses.ts';

export interface EdgeTarget {
  /** http://host:port of the proxy. */
  readonly url: string;
}
/** Starts the proxy under test in front of `upstreamUrl` (one pool, default settings); closed by the caller's hooks. */
export type StartEdgeTarget = (upstreamUrl: string) => Promise<EdgeTarget>;

const H = 'Host: a\r\n';
const CANARY = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;

async function setup(start: StartEdgeTarget): Promise<{ proxy: EdgeTarget; up: RecordingUpstream }> {
  const up = await startRecordingUpstream();
  const proxy = await start(up.url);
  return { proxy, up };
}

/** Nothing reached the upstream, not even partly: no request, no violation, no connection. */
function upstreamUntouched(up: RecordingUpstream): void {
  expect(up.requests.map((r) => r.target), 'requests at the upstream').toEqual([]);
  expect(up.violations).toEqual([]);
  expect(up.incomplete).toEqual([]);
}

/** One proxy-made error response with `status`, then the connection closed. */
function refusedAndClosed(r: RawExchange, status: number): void {
  expect(r.parsed.malformed).toBeNull();
  expect(r.parsed.responses.map((x) => x.status), r.text.slice(0, 300)).toEqual([status]);
  expect(r.closed, 'connection closed after the error').toBe(true);
}

export function runEdgeBehaviour(name: string, start: StartEdgeTarget): void {
  describe(`${name}: request framing`, () => {
    const post = (headers: string, body: string, version = '1.1'): string => `POST /f HTTP/${version}\r\n${H}${headers}\r\n${body}`;
    it.each([
      ['TE "gzip, chunked"', 501, post('Transfer-Encoding: gzip, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['TE "identity, chunked"', 501, post('Transfer-Encoding: identity, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['TE "identity"', 501, post('Transfer-Encoding: identity\r\n', 'hello')],
      ['TE "xchunked"', 501, post('Transfer-Encoding: xchunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['TE ", chunked"', 400, post('Transfer-Encoding: , chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['TE "chunked;q=1"', 400, post('Transfer-Encoding: chunked;q=1\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['TE gzip + TE chunked', 400, post('Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['Transfer_Encoding: chunked', 400, post('Transfer_Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
      ['HTTP/1.0 + TE: chunked + keep-alive', 400, post('Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n', '1.0')],
      ['CL + TE', 400, post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
      ['CL twice', 400, post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello')],
      ['CL "5, 5"', 400, post('Content-Length: 5, 5\r\n', 'hello')],
    ])('%s → %i, connection closed, nothing after it read, upstream untouched', async (_n, status, bytes) => {
      const { proxy, up } = await setup(start);
      const r = await rawExchange(proxy.url, bytes + CANARY);
      refusedAndClosed(r, status);
      upstreamUntouched(up);
    });

    it.each([
      ['a bad chunk size', '5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n'],
      ['chunk data longer than its size', '5\r\nhelloX\r\n0\r\n\r\n'],
      ['a bare LF after a chunk', '5\r\nhello\n0\r\n\r\n'],
      ['Content-Length in the trailers', '5\r\nhello\r\n0\r\nContent-Length: 7\r\n\r\n'],
    ])('%s mid-stream → 400 (or a closed connection); no complete request upstream', async (_n, body) => {
      const { proxy, up } = await setup(start);
      const r = await rawExchange(proxy.url, `POST /chunky HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}${CANARY}`);
      expect(r.parsed.malformed).toBeNull();
      expect(r.parsed.responses.map((x) => x.status)).toEqual(r.parsed.responses.length === 0 ? [] : [400]);
      expect(r.closed).toBe(true);
      expect(up.requests.map((q) => q.target)).toEqual([]);
      expect(up.violations).toEqual([]);
    });
  });

  describe(`${name}: request line`, () => {
    it.each([
      ['HTTP/2.0', 505, `GET /x HTTP/2.0\r\n${H}\r\n`],
      ['HTTP/1.2', 505, `GET /x HTTP/1.2\r\n${H}\r\n`],
      ['HTTP/3.0', 505, `GET /x HTTP/3.0\r\n${H}\r\n`],
    ])('%s → %i and close', async (_n, status, bytes) => {
      const { proxy, up } = await setup(start);
      refusedAndClosed(await rawExchange(proxy.url, bytes + CANARY), status);
      upstreamUntouched(up);
    });

    it.each([
      ['no version', `GET /x\r\n\r\n`],
      ['no version, with headers', `GET /x\r\n${H}\r\n`],
      ['HTTP/0.9', 'GET /x HTTP/0.9\r\n\r\n'],
    ])('%s → 400 or a closed connection, upstream untouched', async (_n, bytes) => {
      const { proxy, up } = await setup(start);
      const r = await rawExchange(proxy.url, bytes + CANARY);
      expect(r.parsed.responses.map((x) => x.status)).toEqual(r.parsed.responses.length === 0 ? [] : [400]);
      expect(r.closed).toBe(true);
      upstreamUntouched(up);
    });

    it('absolute-form naming another host than Host → 400', async () => {
      const { proxy, up } = await setup(start);
      refusedAndClosed(await rawExchange(proxy.url, `GET http://other.example/x HTTP/1.1\r\n${H}\r\n`), 400);
      upstreamUntouched(up);
    });
  });

  describe(`${name}: Host`, () => {
    it.each([
      ['missing on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n'],
      ['empty', 'GET / HTTP/1.1\r\nHost:\r\n\r\n'],
      ['"a b"', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
      ['"a/b"', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n'],
      ['"a@b"', 'GET / HTTP/1.1\r\nHost: a@b\r\n\r\n'],
      ['"a:b"', 'GET / HTTP/1.1\r\nHost: a:b\r\n\r\n'],
      ['"a, b"', 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n'],
      ['repeated', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
      ['repeated on HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n'],
    ])('Host %s → 400, upstream untouched', async (_n, bytes) => {
      const { proxy, up } = await setup(start);
      refusedAndClosed(await rawExchange(proxy.url, bytes + CANARY), 400);
      upstreamUntouched(up);
    });

    it.each([
      ['a.example:8080', 'GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n'],
      ['[::1]:8080', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n'],
      ['none on HTTP/1.0', 'GET / HTTP/1.0\r\n\r\n'],
    ])('Host %s is served', async (_n, bytes) => {
      const { proxy, up } = await setup(start);
      const r = await rawExchange(proxy.url, bytes, { responses: 1 });
      expect(r.parsed.responses.map((x) => x.status)).toEqual([200]);
      expect(up.requests).toHaveLength(1);
    });
  });

  describe(`${name}: limits`, () => {
    const fields = (n: number): string => Array.from({ length: n }, (_, i) => `x${i}: 1\r\n`).join('');
    it('100 header fields are served; 101 → 431', async () => {
      const { proxy, up } = await setup(start);
      const ok = await rawExchange(proxy.url, `GET /a HTTP/1.1\r\n${H}${fields(99)}\r\n`, { responses: 1 });
      expect(ok.parsed.responses.map((x) => x.status)).toEqual([200]);
      refusedAndClosed(await rawExchange(proxy.url, `GET /b HTTP/1.1\r\n${H}${fields(100)}\r\n`), 431);
      expect(up.requests.map((q) => q.target)).toEqual(['/a']);
    });

    it('a request target of 8192 bytes is served; 8193 → 414', async () => {
      const { proxy, up } = await setup(start);
      const ok = await rawExchange(proxy.url, `GET /${'a'.repeat(8191)} HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
      expect(ok.parsed.responses.map((x) => x.status)).toEqual([200]);
      refusedAndClosed(await rawExchange(proxy.url, `GET /${'b'.repeat(8192)} HTTP/1.1\r\n${H}\r\n`), 414);
      expect(up.requests).toHaveLength(1);
    });

    it('17 KiB of header bytes → 431', async () => {
      const { proxy, up } = await setup(start);
      refusedAndClosed(await rawExchange(proxy.url, `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17_000)}\r\n\r\n`), 431);
      upstreamUntouched(up);
    });
  });

  describe(`${name}: Connection and Upgrade`, () => {
    it('Connection naming Host and X-Forwarded-*: served, and they reach the upstream intact', async () => {
      const { proxy, up } = await setup(start);
      const conn = 'close, X-Forwarded-For, Host, X-Forwarded-Proto, X-Forwarded-Host, X-Custom';
      const r = await rawExchange(proxy.url, `GET /c HTTP/1.1\r\n${H}X-Custom: 1\r\nX-Other: 2\r\nConnection: ${conn}\r\n\r\n`);
      expect(r.parsed.responses.map((x) => x.status)).toEqual([200]);
      expect(r.closed, 'Connection: close is still honoured').toBe(true);
      const got = up.requests[0]!;
      expect(header(got, 'host')).toBe('a');
      expect(header(got, 'x-forwarded-for')).toBe('127.0.0.1');
      expect(header(got, 'x-forwarded-proto')).toBe('http');
      expect(header(got, 'x-forwarded-host')).toBe('a');
      // A name that is not protected is still hop-by-hop.
      expect(header(got, 'x-custom')).toBeUndefined();
      expect(header(got, 'x-other')).toBe('2');
    });

    it.each([
      ['h2c', 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n'],
      ['an unknown protocol', 'Upgrade: foo/1\r\nConnection: Upgrade\r\n'],
    ])('Upgrade: %s is dropped and the request served plain', async (_n, headers) => {
      const { proxy, up } = await setup(start);
      const r = await rawExchange(proxy.url, `POST /u HTTP/1.1\r\n${H}${headers}Content-Length: 5\r\n\r\nhello`, { responses: 1 });
      expect(r.parsed.responses.map((x) => [x.status, x.body.toString()])).toEqual([[200, 'ok /u']]);
      const got = up.requests[0]!;
      expect(got.body.toString()).toBe('hello');
      expect(header(got, 'upgrade')).toBeUndefined();
      expect(header(got, 'http2-settings')).toBeUndefined();
    });
  });

  describe(`${name}: upstream responses`, () => {
    const fields = (n: number): string => Array.from({ length: n }, (_, i) => `x${i}: 1\r\n`).join('');
    const BAD: Record<string, Reply> = {
      '/fields-101': `HTTP/1.1 200 OK\r\n${fields(100)}content-length: 2\r\n\r\nok`,
      '/fields-2100': `HTTP/1.1 200 OK\r\n${fields(2099)}content-length: 2\r\n\r\nok`,
      '/head-17k': `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(17_000)}\r\ncontent-length: 2\r\n\r\nok`,
      '/status-600': 'HTTP/1.1 600 Nope\r\ncontent-length: 2\r\n\r\nok',
      '/status-000': 'HTTP/1.1 000 Nope\r\ncontent-length: 2\r\n\r\nok',
      '/status-abc': 'HTTP/1.1 abc Nope\r\ncontent-length: 2\r\n\r\nok',
      '/te-gzip-chunked': 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      '/te-twice': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      '/cl-te': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      '/bare-lf': 'HTTP/1.1 200 OK\ncontent-length: 2\n\nok',
    };

    it.each(Object.keys(BAD))('%s → 502 bad-response; the next request on the pool is served', async (path) => {
      const { proxy, up } = await setup(start);
      up.respond = (req) => BAD[req.target] ?? okReply(req);
      const client = newClient();
      try {
        const bad = await fetchText(`${proxy.url}${path}`, { dispatcher: client });
        expect(bad.status).toBe(502);
        expect(bad.headers['x-fairway-error']).toBe('bad-response');
        const next = await fetchText(`${proxy.url}/after`, { dispatcher: client });
        expect([next.status, next.body]).toEqual([200, 'ok /after']);
      } finally {
        await client.close();
      }
    });

    it('a bad chunk mid-body: the client sees the response start, then an abort, never a complete body', async () => {
      const { proxy, up } = await setup(start);
      up.respond = () => 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\nxx\r\n0\r\n\r\n';
      const r = await rawExchange(proxy.url, `GET /b HTTP/1.1\r\n${H}\r\n`);
      expect(r.closed).toBe(true);
      expect(r.parsed.malformed).toBeNull();
      expect(r.parsed.responses.filter((x) => x.status === 200)).toEqual([]);
    });

    it('bytes after a response never reach another client', async () => {
      const { proxy, up } = await setup(start);
      const smuggled = 'HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nsmuggled!';
      up.respond = (req) => (req.target === '/first' ? `${okReply(req)}${smuggled}` : okReply(req));
      const results: string[] = [];
      for (const path of ['/first', '/second', '/third']) {
        const r = await rawExchange(proxy.url, `GET ${path} HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
        results.push(r.parsed.responses.map((x) => x.body.toString()).join('|'));
      }
      expect(results).toEqual(['ok /first', 'ok /second', 'ok /third']);
    });

    it('responses go to their own clients under concurrency while one upstream misbehaves', async () => {
      const { proxy, up } = await setup(start);
      up.respond = (req) => (req.target.startsWith('/bad') ? `${okReply(req)}HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nwrong` : okReply(req));
      const client = newClient();
      try {
        const ids = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? `/bad${i}` : `/good${i}`));
        const replies = await Promise.all(ids.map((p) => fetchText(`${proxy.url}${p}`, { dispatcher: client })));
        expect(replies.map((r) => r.body)).toEqual(ids.map((p) => `ok ${p}`));
      } finally {
        await client.close();
      }
    });

    it('a response header count of exactly 100 is relayed', async () => {
      const { proxy, up } = await setup(start);
      up.respond = () => `HTTP/1.1 200 OK\r\n${fields(99)}content-length: 2\r\n\r\nok`;
      const r = await rawExchange(proxy.url, `GET / HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
      expect(r.parsed.responses.map((x) => x.status)).toEqual([200]);
      expect(responseHeader(r.parsed.responses[0]!, 'x98')).toBe('1');
    });
  });
}
