// What undici 8's HTTP/1.1 client (the proxy's upstream side) does with malformed responses from
// a raw `net` upstream: which ones it refuses and with which error, which ones it passes to the
// dispatch handler, and whether the connection is reused afterwards. These document undici, not
// Fairway: they fail when an undici upgrade changes what the proxy's response checks
// (checkResponseHead in src/server/edge-checks.ts) must make up for. Summary: docs/edge.md.

import net from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';

interface Upstream {
  origin: string;
  /** Connections accepted so far. */
  connections(): number;
  /** What the next request gets: raw bytes; `close: true` ends the connection after them. */
  reply: { bytes: string; close: boolean };
}

async function rawUpstream(): Promise<Upstream> {
  let connections = 0;
  const up: Upstream = { origin: '', connections: () => connections, reply: { bytes: '', close: false } };
  const server = net.createServer((c) => {
    connections++;
    c.on('error', () => {});
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      buf = '';
      const { bytes, close } = up.reply;
      if (close) c.end(Buffer.from(bytes, 'latin1'));
      else c.write(Buffer.from(bytes, 'latin1'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  up.origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return up;
}

interface Outcome {
  /** Each onResponseStart: status, status text, raw field count (controller.rawHeaders). */
  starts: [number, string, number][];
  bodyBytes: number;
  end: boolean;
  error: { code: string | undefined; name: string; message: string } | null;
}

/** One GET through `pool.dispatch` with a v8 handler; settles on end, error or 3 s. */
function dispatch(pool: Pool): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { starts: [], bodyBytes: 0, end: false, error: null };
    const timer = setTimeout(() => resolve(out), 3000);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(controller, status, _headers, text) {
        const raw = (controller as unknown as { rawHeaders: unknown[] }).rawHeaders;
        out.starts.push([status, text ?? '', raw.length / 2]);
      },
      onResponseData(_c, chunk) {
        out.bodyBytes += chunk.length;
      },
      onResponseEnd() {
        out.end = true;
        clearTimeout(timer);
        resolve(out);
      },
      onResponseError(_c, err) {
        const e = err as Error & { code?: string };
        out.error = { code: e.code, name: e.name, message: e.message };
        clearTimeout(timer);
        resolve(out);
      },
    };
    pool.dispatch({ path: '/', method: 'GET', headers: ['host', 'x'] }, handler);
  });
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/**
 * Sends one request answered with `bytes`, then one answered OK on the same one-connection
 * pool: `reused` says whether the second went over the first connection.
 */
async function probe(bytes: string, opts: { close?: boolean; pool?: Pool.Options } = {}): Promise<{ first: Outcome; reused: boolean; second: Outcome }> {
  const up = await rawUpstream();
  const pool = new Pool(up.origin, { connections: 1, pipelining: 1, allowH2: false, headersTimeout: 2000, bodyTimeout: 2000, ...opts.pool });
  onTestFinished(() => pool.destroy());
  up.reply = { bytes, close: opts.close ?? false };
  const first = await dispatch(pool);
  up.reply = { bytes: OK, close: false };
  const second = await dispatch(pool);
  expect(second, 'the pool recovers for the next request').toMatchObject({ end: true, bodyBytes: 2 });
  return { first, reused: up.connections() === 1, second };
}

const fields = (n: number): string => Array.from({ length: n }, (_, i) => `x${i}: 1\r\n`).join('');
const PARSER = 'HTTPParserError';

describe('undici: status line', () => {
  it.each([
    ['non-numeric status', 'HTTP/1.1 abc Nope\r\n\r\n', /Invalid status code/],
    ['two-digit status', 'HTTP/1.1 99 X\r\nContent-Length: 2\r\n\r\nok', /Invalid status code/],
    ['four-digit status', 'HTTP/1.1 1000 X\r\nContent-Length: 2\r\n\r\nok', /Invalid response status/],
    ['HTTP/1.2', 'HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok', /Invalid HTTP version/],
    ['ICY', 'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok', /Expected HTTP\//],
    ['lower-case http/1.1', 'http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', /Expected HTTP\//],
    ['bare LF line ends', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', /Missing expected CR/],
    ['not HTTP at all', 'hello world\r\n\r\n', /Expected HTTP\//],
  ])('refuses %s before any handler call (HTTPParserError, code undefined), connection discarded', async (_n, bytes, message) => {
    const { first, reused } = await probe(bytes);
    expect(first.starts).toEqual([]);
    // undici builds HPE_ codes from constants.ERROR[number], which is undefined: match the name.
    expect(first.error).toMatchObject({ name: PARSER, code: undefined, message: expect.stringMatching(message) });
    expect(reused).toBe(false);
  });

  it('passes a status line without a reason phrase (and without its space)', async () => {
    const { first, reused } = await probe('HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok');
    expect(first).toMatchObject({ starts: [[200, '', 1]], end: true, bodyBytes: 2 });
    expect(reused).toBe(true);
  });

  it('passes status 600 to the handler', async () => {
    const { first } = await probe('HTTP/1.1 600 X\r\nContent-Length: 2\r\n\r\nok');
    expect(first).toMatchObject({ starts: [[600, 'X', 1]], end: true });
  });

  it('status 000 reaches onResponseStart as 0, then undici fails its own assertion', async () => {
    const { first, reused } = await probe('HTTP/1.1 000 X\r\nContent-Length: 2\r\n\r\nok');
    expect(first.starts).toEqual([[0, 'X', 1]]);
    expect(first.error).toMatchObject({ code: 'ERR_ASSERTION' });
    expect(reused).toBe(false);
  });

  it.each(['HTTP/2.0', 'HTTP/1.0', 'HTTP/0.9'])('passes %s responses, without telling the handler the version', async (v) => {
    const { first } = await probe(`${v} 200 OK\r\nContent-Length: 2\r\n\r\nok`);
    expect(first).toMatchObject({ starts: [[200, 'OK', 1]], end: true, bodyBytes: 2 });
  });
});

describe('undici: header count and size', () => {
  it('has no field-count limit: 101 and 2 100 fields reach the handler', async () => {
    for (const n of [101, 2100]) {
      const { first, reused } = await probe(`HTTP/1.1 200 OK\r\n${fields(n - 1)}Content-Length: 2\r\n\r\nok`);
      expect(first, `${n} fields`).toMatchObject({ starts: [[200, 'OK', n]], end: true });
      expect(reused).toBe(true);
    }
  });

  it('maxHeaderSize (default http.maxHeaderSize, 16 KiB) counts name+value bytes: 17 KiB is UND_ERR_HEADERS_OVERFLOW', async () => {
    const { first, reused } = await probe(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17_000)}\r\nContent-Length: 2\r\n\r\nok`);
    expect(first.starts).toEqual([]);
    expect(first.error).toMatchObject({ code: 'UND_ERR_HEADERS_OVERFLOW' });
    expect(reused).toBe(false);
    const under = await probe(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(16_300)}\r\nContent-Length: 2\r\n\r\nok`);
    expect(under.first).toMatchObject({ end: true });
  });

  it('an explicit maxHeaderSize bounds it lower; maxResponseSize bounds the body', async () => {
    const head = await probe(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(5000)}\r\nContent-Length: 2\r\n\r\nok`, { pool: { maxHeaderSize: 4096 } });
    expect(head.first.error).toMatchObject({ code: 'UND_ERR_HEADERS_OVERFLOW' });
    const body = await probe(`HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789`, { pool: { maxResponseSize: 5 } });
    expect(body.first.starts).toHaveLength(1);
    expect(body.first.error).toMatchObject({ code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' });
    expect(body.reused).toBe(false);
  });

  it.each([
    ['obs-fold', 'X-A: a\r\n b\r\n', /whitespace after header value/],
    ['NUL in a value', 'X-A: a\x00b\r\n', /Invalid header value char/],
    ['a space in a name', 'X A: b\r\n', /Invalid header token/],
    ['a space before the colon', 'Content-Length : 2\r\n', /Invalid header field char/],
  ])('refuses %s', async (_n, line, message) => {
    const { first, reused } = await probe(`HTTP/1.1 200 OK\r\n${line}Content-Length: 2\r\n\r\nok`);
    expect(first.error).toMatchObject({ name: PARSER, message: expect.stringMatching(message) });
    expect(reused).toBe(false);
  });
});

describe('undici: framing', () => {
  it.each([
    ['CL then TE', 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'],
    ['CL repeated, other value', 'Content-Length: 2\r\nContent-Length: 3\r\n', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'],
    ['CL repeated, same value', 'Content-Length: 2\r\nContent-Length: 2\r\n', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'],
    ['CL list "2, 2"', 'Content-Length: 2, 2\r\n', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'],
  ])('refuses %s before the handler (%s), connection discarded', async (_n, headers, code) => {
    const { first, reused } = await probe(`HTTP/1.1 200 OK\r\n${headers}\r\n2\r\nok\r\n0\r\n\r\n`);
    expect(first.starts).toEqual([]);
    expect(first.error).toMatchObject({ code });
    expect(reused).toBe(false);
  });

  it.each([
    ['TE then CL', 'Transfer-Encoding: chunked\r\nContent-Length: 2\r\n', /Content-Length can't be present/],
    ['CL "abc"', 'Content-Length: abc\r\n', /Invalid character in Content-Length/],
  ])('refuses %s (HTTPParserError)', async (_n, headers, message) => {
    const { first } = await probe(`HTTP/1.1 200 OK\r\n${headers}\r\n2\r\nok\r\n0\r\n\r\n`);
    expect(first.error).toMatchObject({ name: PARSER, message: expect.stringMatching(message) });
  });

  it('passes TE "gzip, chunked" as de-chunked bytes: the gzip coding is left on the body', async () => {
    const { first, reused } = await probe('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    expect(first).toMatchObject({ starts: [[200, 'OK', 1]], end: true, bodyBytes: 2 });
    expect(reused).toBe(true);
  });

  it('passes TE chunked in two fields', async () => {
    const { first } = await probe('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    expect(first).toMatchObject({ starts: [[200, 'OK', 2]], end: true, bodyBytes: 2 });
  });

  it.each([['chunked, gzip'], ['gzip']])('TE "%s" (chunked not last) is read until close', async (te) => {
    const { first, reused } = await probe(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\nokok`, { close: true });
    expect(first).toMatchObject({ end: true, bodyBytes: 4 });
    expect(reused).toBe(false);
  });

  it('no Content-Length and no TE: read until close, and that is a complete response', async () => {
    const { first } = await probe('HTTP/1.1 200 OK\r\n\r\nuntil close', { close: true });
    expect(first).toMatchObject({ starts: [[200, 'OK', 0]], end: true, bodyBytes: 11 });
  });

  it.each([
    ['a bad chunk size', '2\r\nok\r\nzz\r\nxx\r\n0\r\n\r\n', 2, /Invalid character in chunk size/],
    ['a chunk size overflow', 'fffffffffffffffff\r\nok\r\n0\r\n\r\n', 0, /Chunk size overflow/],
    ['chunk data longer than its size', '2\r\nokX\r\n0\r\n\r\n', 2, /Expected LF after chunk data/],
  ])('%s fails after onResponseStart (the client response has begun)', async (_n, body, bytes, message) => {
    const { first, reused } = await probe(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    expect(first.starts).toHaveLength(1);
    expect(first.bodyBytes).toBe(bytes);
    expect(first.error).toMatchObject({ name: PARSER, message: expect.stringMatching(message) });
    expect(reused).toBe(false);
  });

  it.each([
    ['EOF inside a chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok', 1],
    ['EOF before Content-Length bytes', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok', 1],
    ['EOF inside the head', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n', 0],
    ['EOF before anything', '', 0],
  ])('%s is UND_ERR_SOCKET "other side closed"', async (_n, bytes, starts) => {
    const { first } = await probe(bytes, { close: true });
    expect(first.starts).toHaveLength(starts);
    expect(first.error).toMatchObject({ code: 'UND_ERR_SOCKET', message: 'other side closed' });
  });
});

describe('undici: what follows a response', () => {
  it.each([
    ['bytes after the body', `${OK}EXTRA`],
    ['a second, unsolicited response', `${OK}${OK}`],
    ['a 204 with Content-Length and a body', 'HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nok'],
  ])('%s: the response completes and the connection is not reused', async (_n, bytes) => {
    const { first, reused } = await probe(bytes);
    expect(first.end).toBe(true);
    expect(first.error).toBeNull();
    expect(reused).toBe(false);
  });

  it('a 103 is passed to the handler before the final 200', async () => {
    const { first } = await probe(`HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${OK}`);
    expect(first.starts).toEqual([[103, 'Early Hints', 1], [200, 'OK', 1]]);
    expect(first.end).toBe(true);
  });

  it('an unsolicited 100 Continue is UND_ERR_SOCKET "bad response"', async () => {
    const { first } = await probe(`HTTP/1.1 100 Continue\r\n\r\n${OK}`);
    expect(first.error).toMatchObject({ code: 'UND_ERR_SOCKET', message: 'bad response' });
  });

  it('a 101 to a request that did not ask to upgrade is UND_ERR_SOCKET "bad upgrade"', async () => {
    const { first, reused } = await probe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    expect(first.error).toMatchObject({ code: 'UND_ERR_SOCKET', message: 'bad upgrade' });
    expect(reused).toBe(false);
  });
});
