// What Node 24's HTTP server (llhttp, insecureHTTPParser: false) does with hostile request
// bytes: which shapes it refuses (clientError code) and which reach a request handler, and with
// what fields. These tests document Node, not Fairway: they pass on Node 24.21 and fail when a
// Node upgrade changes a behaviour the proxy's own checks (src/server/edge-checks.ts) rely on or
// make up for. Summary: docs/edge.md.

import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { fields, startProbeServer, type ProbeEvent, type ProbeResult } from './probe.ts';

/** Fairway's listener options that matter to parsing (src/server/listener.ts). */
const FAIRWAY_LIKE: http.ServerOptions = {
  insecureHTTPParser: false,
  requireHostHeader: false,
  joinDuplicateHeaders: false,
  maxHeaderSize: 16 * 1024,
};

const H = 'Host: a\r\n';
const post = (headers: string, body: string, version = '1.1'): string => `POST / HTTP/${version}\r\n${H}${headers}\r\n${body}`;
const get = (target: string, headers = H, version = 'HTTP/1.1'): string => `GET ${target} ${version}\r\n${headers}\r\n`;

type Req = ProbeEvent & { kind: 'request' };
const requests = (r: ProbeResult): Req[] => r.events.filter((e): e is Req => e.kind === 'request');
const clientErrors = (r: ProbeResult): string[] => r.events.flatMap((e) => (e.kind === 'clientError' ? [e.code] : []));

/** llhttp refuses the head: no handler call, clientError with `code`. */
function rejected(r: ProbeResult, code: string, reason?: RegExp): void {
  expect(requests(r), 'no request reaches the handler').toEqual([]);
  expect(clientErrors(r)).toEqual([code]);
  if (reason) expect(r.events.find((e) => e.kind === 'clientError')).toMatchObject({ reason: expect.stringMatching(reason) });
}

/** The head reaches the handler once, with these fields, and nothing fails afterwards. */
function passed(r: ProbeResult, want: Partial<Req>): void {
  expect(clientErrors(r)).toEqual([]);
  expect(requests(r)).toHaveLength(1);
  expect(requests(r)[0]).toMatchObject(want);
}

/** The head reaches the handler, then the body fails: clientError `code`, the request stream errors. */
function passedThenRejected(r: ProbeResult, want: Partial<Req>, code: string): void {
  expect(requests(r)).toHaveLength(1);
  expect(requests(r)[0]).toMatchObject({ ...want, body: null, bodyError: 'ECONNRESET' });
  expect(clientErrors(r)).toEqual([code]);
}

describe('llhttp: Content-Length and Transfer-Encoding', () => {
  const refused: [string, string, string][] = [
    ['CL then TE', post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['TE then CL', post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL list "5, 5"', post('Content-Length: 5, 5\r\n', 'hello'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL repeated, same value', post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['CL repeated, other value', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'), 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['CL +5', post('Content-Length: +5\r\n', 'hello'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL -1', post('Content-Length: -1\r\n', 'hello'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL 0x5', post('Content-Length: 0x5\r\n', 'hello'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL "5 5"', post('Content-Length: 5 5\r\n', 'hello'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL empty', post('Content-Length: \r\n', ''), 'HPE_INVALID_CONTENT_LENGTH'],
    ['CL 20 digits', post('Content-Length: 99999999999999999999\r\n', 'hello'), 'HPE_INVALID_CONTENT_LENGTH'],
    ['TE "chunked, gzip" (chunked not last)', post('Transfer-Encoding: chunked, gzip\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['TE "chunked, chunked"', post('Transfer-Encoding: chunked, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['TE "chunked,"', post('Transfer-Encoding: chunked,\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['TE chunked twice (two fields)', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['TE chunked then TE gzip', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['TE empty', post('Transfer-Encoding: \r\n', 'hello'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['"Transfer-Encoding :" (space before colon)', post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN'],
    ['TE by obs-fold', post('Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.0 with TE and CL', post('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '0\r\n\r\n', '1.0'), 'HPE_INVALID_CONTENT_LENGTH'],
  ];
  it.each(refused)('refuses %s', async (_name, bytes, code) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    rejected(await p.send(bytes), code);
  });

  // Shapes llhttp frames as chunked and hands over whole: the proxy's framing check must refuse them.
  const chunkedAccepted: [string, string, string[]][] = [
    ['TE "gzip, chunked"', 'Transfer-Encoding: gzip, chunked\r\n', ['Transfer-Encoding', 'gzip, chunked']],
    ['TE "identity, chunked"', 'Transfer-Encoding: identity, chunked\r\n', ['Transfer-Encoding', 'identity, chunked']],
    ['TE ", chunked"', 'Transfer-Encoding: , chunked\r\n', ['Transfer-Encoding', ', chunked']],
    ['TE gzip then TE chunked (two fields)', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', ['Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked']],
    ['TE "Chunked"', 'Transfer-Encoding: Chunked\r\n', ['Transfer-Encoding', 'Chunked']],
    ['TE "CHUNKED"', 'Transfer-Encoding: CHUNKED\r\n', ['Transfer-Encoding', 'CHUNKED']],
    ['TE "chunked " (trailing space, trimmed)', 'Transfer-Encoding: chunked \r\n', ['Transfer-Encoding', 'chunked']],
    ['TE after a tab (trimmed)', 'Transfer-Encoding:\tchunked\r\n', ['Transfer-Encoding', 'chunked']],
  ];
  it.each(chunkedAccepted)('hands over %s, body de-chunked', async (_name, headers, raw) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(post(headers, '5\r\nhello\r\n0\r\n\r\n')), { rawHeaders: ['Host', 'a', ...raw], body: 'hello' });
  });

  // The handler sees the head, then llhttp refuses the body: the proxy may already be forwarding.
  it.each(['identity', 'gzip', 'xchunked', 'chunked;q=1'])('TE "%s": handler first, then HPE_INVALID_TRANSFER_ENCODING', async (te) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(post(`Transfer-Encoding: ${te}\r\n`, 'hello'));
    passedThenRejected(r, { method: 'POST', rawHeaders: ['Host', 'a', 'Transfer-Encoding', te] }, 'HPE_INVALID_TRANSFER_ENCODING');
    expect(r.events.find((e) => e.kind === 'clientError')).toMatchObject({ reason: 'Request has invalid `Transfer-Encoding`' });
  });

  it('accepts CL "00005" and a trailing space after a CL value', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(post('Content-Length: 00005\r\n', 'hello')), { rawHeaders: ['Host', 'a', 'Content-Length', '00005'], body: 'hello' });
    passed(await p.send(post('Content-Length: 5 \r\n', 'hello')), { rawHeaders: ['Host', 'a', 'Content-Length', '5'], body: 'hello' });
  });

  it('Transfer_Encoding is an ordinary header: the chunked bytes become a second "request"', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(post('Transfer_Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'));
    expect(requests(r)).toHaveLength(1);
    expect(requests(r)[0]).toMatchObject({ rawHeaders: ['Host', 'a', 'Transfer_Encoding', 'chunked'], body: '' });
    expect(clientErrors(r)).toEqual(['HPE_INVALID_METHOD']);
  });

  it('HTTP/1.0 with TE: chunked and keep-alive is de-chunked, and the next bytes are a second request', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const bytes = `POST / HTTP/1.0\r\n${H}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${get('/second')}`;
    const r = await p.send(bytes);
    expect(clientErrors(r)).toEqual([]);
    expect(requests(r).map((q) => [q.version, q.url, q.body])).toEqual([
      ['1.0', '/', 'hello'],
      ['1.1', '/second', ''],
    ]);
  });

  it('HTTP/1.0 with TE: chunked and no keep-alive: served, then further bytes are HPE_CLOSED_CONNECTION', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(`POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${get('/second')}`);
    expect(requests(r).map((q) => [q.version, q.body])).toEqual([['1.0', 'hello']]);
    expect(clientErrors(r)).toEqual(['HPE_CLOSED_CONNECTION']);
  });
});

describe('llhttp: chunked bodies', () => {
  const chunked = (body: string): string => post('Transfer-Encoding: chunked\r\n', body);
  const bad: [string, string, string][] = [
    ['size "zz"', '2\r\nhi\r\nzz\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['size overflow (17 hex digits)', 'fffffffffffffffff\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['size "-5"', '-5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['size "0x5"', '0x5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['space before size', ' 5\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['space after size', '5 \r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['space before extension', '5 ; a=b\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['bare ";" extension', '5;\r\nhello\r\n0\r\n\r\n', 'HPE_STRICT'],
    ['LF inside an extension', '5;a\nb\r\nhello\r\n0\r\n\r\n', 'HPE_CR_EXPECTED'],
    ['data longer than its size', '5\r\nhelloX\r\n0\r\n\r\n', 'HPE_STRICT'],
    ['bare LF after the size', '5\nhello\n0\n\n', 'HPE_CR_EXPECTED'],
    ['bare LF after the data', '5\r\nhello\n0\r\n\r\n', 'HPE_CR_EXPECTED'],
    ['Content-Length in the trailers', '5\r\nhello\r\n0\r\nContent-Length: 7\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['malformed trailer', '5\r\nhello\r\n0\r\nX T: 1\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a request line where the final CRLF belongs', `5\r\nhello\r\n0\r\n${get('/second')}`, 'HPE_INVALID_HEADER_TOKEN'],
    ['EOF inside a chunk', '5\r\nhel', 'HPE_INVALID_EOF_STATE'],
    ['16 hex digits, then EOF', 'ffffffffffffffff\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_EOF_STATE'],
  ];
  it.each(bad)('%s: the handler has the head, then %s', async (_name, body, code) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passedThenRejected(await p.send(chunked(body)), { method: 'POST' }, code);
  });

  it('accepts extensions (also quoted), trailers, and zero-padded sizes', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(chunked('5;a=b\r\nhello\r\n0\r\n\r\n')), { body: 'hello' });
    passed(await p.send(chunked('5;a="b c"\r\nhello\r\n0\r\n\r\n')), { body: 'hello' });
    passed(await p.send(chunked('5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n')), { body: 'hello', trailers: ['X-T', '1'] });
    passed(await p.send(chunked('00000000000000000005\r\nhello\r\n0\r\n\r\n')), { body: 'hello' });
  });

  it('a short Content-Length body then EOF: handler first, then HPE_INVALID_EOF_STATE', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passedThenRejected(await p.send(post('Content-Length: 10\r\n', 'hello')), { method: 'POST' }, 'HPE_INVALID_EOF_STATE');
  });
});

describe('llhttp: request line', () => {
  it.each([
    ['no version', 'GET /x\r\n\r\n', []],
    ['no version, then headers', `GET /x\r\n${H}\r\n`, ['Host', 'a']],
    ['HTTP/0.9', 'GET /x HTTP/0.9\r\n\r\n', []],
  ])('%s reaches the handler as version 0.9', async (_name, bytes, raw) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(bytes), { url: '/x', version: '0.9', rawHeaders: raw });
  });

  it('HTTP/2.0 in an HTTP/1 request line reaches the handler as version 2.0', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(get('/x', H, 'HTTP/2.0')), { version: '2.0', rawHeaders: ['Host', 'a'] });
  });

  it.each([
    ['HTTP/1.2', get('/x', H, 'HTTP/1.2'), 'HPE_INVALID_VERSION', /^Invalid HTTP version$/],
    ['HTTP/1.9', get('/x', H, 'HTTP/1.9'), 'HPE_INVALID_VERSION', /^Invalid HTTP version$/],
    ['HTTP/3.0', get('/x', H, 'HTTP/3.0'), 'HPE_INVALID_VERSION', /^Invalid HTTP version$/],
    ['HTTP/0.1', get('/x', H, 'HTTP/0.1'), 'HPE_INVALID_VERSION', /^Invalid HTTP version$/],
    ['HTTP/11.1', get('/x', H, 'HTTP/11.1'), 'HPE_INVALID_VERSION', /^Expected dot$/],
    ['lower-case http/1.1', get('/x', H, 'http/1.1'), 'HPE_INVALID_CONSTANT', /HTTP\//],
    ['lower-case method', `get /x HTTP/1.1\r\n${H}\r\n`, 'HPE_INVALID_METHOD', /method/],
    ['unknown method', `FOO /x HTTP/1.1\r\n${H}\r\n`, 'HPE_INVALID_METHOD', /method/],
    ['space after the version', `GET /x HTTP/1.1 \r\n${H}\r\n`, 'HPE_INVALID_VERSION', /CRLF/],
    ['tabs as separators', `GET\t/x\tHTTP/1.1\r\n${H}\r\n`, 'HPE_INVALID_METHOD', /space/],
    ['space inside the target', get('/a b'), 'HPE_INVALID_CONSTANT', /HTTP\//],
    ['authority-form on GET', get('a.example:80'), 'HPE_INVALID_URL', /url/],
    ['target without a slash', get('x'), 'HPE_INVALID_URL', /url/],
    ['NUL in the target', get('/x\x00y'), 'HPE_INVALID_URL', /url/],
    ['DEL in the target', get('/x\x7fy'), 'HPE_INVALID_URL', /url/],
    ['byte 0xFF in the target', get('/x\xffy'), 'HPE_INVALID_URL', /url/],
    ['tab in the target', get('/x\ty'), 'HPE_INVALID_URL', /url/],
    ['a bare LF request', `GET / HTTP/1.1\n${H.replace('\r', '')}\n`, 'HPE_INVALID_VERSION', /CRLF/],
    ['bare CR after the version', `GET / HTTP/1.1\r${H}\r\n`, 'HPE_STRICT', /CRLF/],
    ['HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HPE_PAUSED_H2_UPGRADE', /./],
  ])('refuses %s', async (_name, bytes, code, reason) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    rejected(await p.send(bytes), code, reason);
  });

  it.each([
    ['two spaces before the target', `GET  /x HTTP/1.1\r\n${H}\r\n`, '/x'],
    ['two spaces before the version', `GET /x  HTTP/1.1\r\n${H}\r\n`, '/x'],
    ['an empty line before the request', `\r\n${get('/x')}`, '/x'],
    ['absolute-form naming another host', get('http://other.example/x?y'), 'http://other.example/x?y'],
    ['absolute-form https without a path', get('https://other.example'), 'https://other.example'],
    ['asterisk-form on GET', get('*'), '*'],
    ['a #fragment', get('/x#frag'), '/x#frag'],
    ['a backslash', get('/x\\y'), '/x\\y'],
    ['an 8 KiB target', get(`/${'a'.repeat(8191)}`), `/${'a'.repeat(8191)}`],
  ])('hands over %s', async (_name, bytes, url) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(bytes), { url, version: '1.1' });
  });

  it('OPTIONS * reaches the handler; CONNECT goes to the connect event', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(`OPTIONS * HTTP/1.1\r\n${H}\r\n`), { method: 'OPTIONS', url: '*' });
    const r = await p.send('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n');
    expect(r.events).toEqual([{ kind: 'connect', url: 'a.example:443' }]);
  });

  it('a target over maxHeaderSize is HPE_HEADER_OVERFLOW (the request line counts)', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    rejected(await p.send(get(`/${'a'.repeat(17_000)}`)), 'HPE_HEADER_OVERFLOW');
  });
});

describe('llhttp: Host', () => {
  it.each([
    ['missing on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', []],
    ['empty', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', ['Host', '']],
    ['"a b"', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', ['Host', 'a b']],
    ['"a/b"', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', ['Host', 'a/b']],
    ['"a@b"', 'GET / HTTP/1.1\r\nHost: a@b\r\n\r\n', ['Host', 'a@b']],
    ['repeated', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', ['Host', 'a', 'Host', 'b']],
    ['a list', 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n', ['Host', 'a, b']],
    ['a non-numeric port', 'GET / HTTP/1.1\r\nHost: a:b\r\n\r\n', ['Host', 'a:b']],
    ['byte 0xFF', 'GET / HTTP/1.1\r\nHost: a\xffb\r\n\r\n', ['Host', 'a\xffb']],
    ['between tabs (trimmed)', 'GET / HTTP/1.1\r\nHost:\ta\t\r\n\r\n', ['Host', 'a']],
    ['bracketed IPv6 with a port', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', ['Host', '[::1]:8080']],
  ])('with requireHostHeader: false, Host %s reaches the handler', async (_name, bytes, raw) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(bytes), { rawHeaders: raw });
  });

  it('NUL in Host is refused', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    rejected(await p.send('GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
  });

  it('with Node\'s default requireHostHeader, a missing Host on 1.1 is answered 400 without any event', async () => {
    const p = await startProbeServer({ insecureHTTPParser: false });
    const r = await p.send('GET / HTTP/1.1\r\n\r\n');
    expect(r.statuses).toEqual([400]);
    expect(r.events).toEqual([]);
    passed(await p.send('GET / HTTP/1.0\r\n\r\n'), { version: '1.0', rawHeaders: [] });
  });
});

describe('llhttp: header fields', () => {
  it.each([
    ['CR inside a value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, 'HPE_LF_EXPECTED'],
    ['a bare LF line end', `GET / HTTP/1.1\r\n${H}X-A: a\nX-B: b\r\n\r\n`, 'HPE_CR_EXPECTED'],
    ['NUL in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['DEL in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['0x01 in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['obs-fold', `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a space in a name', `GET / HTTP/1.1\r\n${H}X A: b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a line without a colon', `GET / HTTP/1.1\r\n${H}XA\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['an empty name', `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['byte 0xFF in a name', `GET / HTTP/1.1\r\n${H}X\xffA: b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
  ])('refuses %s', async (_name, bytes, code) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    rejected(await p.send(bytes), code);
  });

  it('accepts obs-text (0xFF) in a value', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(`GET / HTTP/1.1\r\n${H}X-A: a\xffb\r\n\r\n`), { rawHeaders: ['Host', 'a', 'X-A', 'a\xffb'] });
  });

  it('counts: 100, 101 and 1000 fields pass; 1001 is HPE_HEADER_OVERFLOW even when tiny', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    for (const n of [100, 101, 1000]) {
      const r = await p.send(`GET / HTTP/1.1\r\n${H}${fields(n - 1, ':')}\r\n`);
      expect(clientErrors(r), `${n} fields`).toEqual([]);
      expect(requests(r)[0]!.rawHeaders.length / 2, `${n} fields`).toBe(n);
    }
    // 1001 fields of 6 bytes (6 KiB): far under maxHeaderSize, still refused.
    rejected(await p.send(`GET / HTTP/1.1\r\n${H}${fields(1000, ':')}\r\n`), 'HPE_HEADER_OVERFLOW');
  });

  it('server.maxHeadersCount is enforced while parsing (not silently truncated): 100 passes, 101 is HPE_HEADER_OVERFLOW', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE, undefined, (s) => (s.maxHeadersCount = 100));
    const ok = await p.send(`GET / HTTP/1.1\r\n${H}${fields(99)}\r\n`);
    expect(requests(ok)[0]!.rawHeaders.length / 2).toBe(100);
    rejected(await p.send(`GET / HTTP/1.1\r\n${H}${fields(100)}\r\n`), 'HPE_HEADER_OVERFLOW');
  });

  it('a single 17 KiB field is HPE_HEADER_OVERFLOW; 15 KiB passes', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(`GET / HTTP/1.1\r\n${H}X: ${'a'.repeat(15_000)}\r\n\r\n`), { version: '1.1' });
    rejected(await p.send(`GET / HTTP/1.1\r\n${H}X: ${'a'.repeat(17_000)}\r\n\r\n`), 'HPE_HEADER_OVERFLOW');
  });

  it('Connection may name Host and X-Forwarded-*: Node passes the head untouched', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const conn = 'close, X-Forwarded-For, Host, X-Forwarded-Proto, X-Forwarded-Host';
    passed(await p.send(`GET / HTTP/1.1\r\n${H}Connection: ${conn}\r\n\r\n`), { rawHeaders: ['Host', 'a', 'Connection', conn] });
  });

  it('Expect: 100-continue is answered by Node; another expectation is 417 without a request event', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(post('Expect: 100-continue\r\nContent-Length: 5\r\n', 'hello'));
    expect(r.statuses).toEqual([100, 200]);
    expect(requests(r)[0]).toMatchObject({ body: 'hello' });
    const r2 = await p.send(post('Expect: foo\r\nContent-Length: 5\r\n', 'hello'));
    expect(r2.statuses).toEqual([417]);
    expect(r2.events).toEqual([]);
  });
});

describe('llhttp: upgrades', () => {
  const upgrade = (value: string, extra = '', method = 'GET', version = '1.1'): string =>
    `${method} / HTTP/${version}\r\n${H}Upgrade: ${value}\r\nConnection: Upgrade\r\n${extra}\r\n`;

  it.each([
    ['websocket', upgrade('websocket'), 'websocket', 0],
    ['h2c', upgrade('h2c', 'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n'), 'h2c', 0],
    ['"websocket, h2c"', upgrade('websocket, h2c'), 'websocket, h2c', 0],
    ['websocket on HTTP/1.0', upgrade('websocket', '', 'GET', '1.0'), 'websocket', 0],
    ['websocket on a POST with a body (the body becomes the upgrade head)', `${upgrade('websocket', 'Content-Length: 5\r\n', 'POST')}hello`, 'websocket', 5],
  ])('with an upgrade listener, Upgrade: %s goes to the upgrade event', async (_name, bytes, value, headBytes) => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(bytes);
    expect(r.events).toEqual([{ kind: 'upgrade', url: '/', upgrade: value, headBytes }]);
  });

  it('Upgrade without Connection: upgrade, or an empty Upgrade, is a plain request', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    passed(await p.send(`GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`), { upgrade: false, rawHeaders: ['Host', 'a', 'Upgrade', 'websocket'] });
    passed(await p.send(upgrade('')), { upgrade: false });
  });

  it('shouldUpgradeCallback false: served as a request (body included), and nothing after it is parsed', async () => {
    const onlyWebSocket = (req: http.IncomingMessage): boolean => /^websocket$/i.test(req.headers.upgrade ?? '');
    const p = await startProbeServer({ ...FAIRWAY_LIKE, shouldUpgradeCallback: onlyWebSocket });
    const r = await p.send(`${upgrade('h2c', 'Content-Length: 5\r\n', 'POST')}hello${get('/second')}`);
    expect(r.events).toHaveLength(1);
    expect(requests(r)[0]).toMatchObject({ url: '/', body: 'hello', upgrade: false });
    // Node still says keep-alive, though it will read no further request on this connection.
    expect(r.response).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: keep-alive\r\n/);
    const ws = await p.send(upgrade('websocket'));
    expect(ws.events).toMatchObject([{ kind: 'upgrade', upgrade: 'websocket' }]);
  });

  it('shouldUpgradeCallback false + a chunked body: a bad chunk raises no clientError, the request just stalls', async () => {
    const p = await startProbeServer({ ...FAIRWAY_LIKE, shouldUpgradeCallback: () => false });
    const bad = `${upgrade('h2c', 'Transfer-Encoding: chunked\r\n', 'POST')}5\r\nhello\r\nzz\r\n`;
    // Half-closing ends it; without the FIN the request waits for the server's timeouts.
    const r = await p.send(bad);
    expect(clientErrors(r)).toEqual([]);
    expect(requests(r)[0]).toMatchObject({ body: null, bodyError: 'ECONNRESET' });
    expect(r.statuses).toEqual([]);
    // The same bytes without the upgrade: clientError at once.
    passedThenRejected(await p.send(post('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\nzz\r\n')), { method: 'POST' }, 'HPE_INVALID_CHUNK_SIZE');
  });

  it('without an upgrade listener, an upgrade request is served as a plain request', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE, undefined, (s) => s.removeAllListeners('upgrade'));
    passed(await p.send(upgrade('h2c')), { upgrade: false });
  });
});

describe('llhttp: what follows a bad request on the connection', () => {
  it('after a refused head, nothing more is parsed', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(`GET / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\n${get('/second')}`);
    rejected(r, 'HPE_UNEXPECTED_CONTENT_LENGTH');
  });

  it('pipelined good requests are both handed over', async () => {
    const p = await startProbeServer(FAIRWAY_LIKE);
    const r = await p.send(`${get('/first')}${get('/second')}`);
    expect(requests(r).map((q) => q.url)).toEqual(['/first', '/second']);
    expect(r.statuses).toEqual([200, 200]);
  });

  it('a handler that answers 400 + Connection: close does not stop Node handing over the next pipelined request', async () => {
    const reject400 = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      req.resume();
      if (req.url === '/second') return void req.on('end', () => res.end('ok'));
      res.writeHead(400, { connection: 'close', 'content-length': '0' });
      res.end();
    };
    const p = await startProbeServer(FAIRWAY_LIKE, reject400);
    const r = await p.send(`POST / HTTP/1.0\r\n${H}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${get('/second')}`);
    // The proxy must remember that the connection is condemned: Node will not.
    expect(requests(r).map((q) => q.url)).toEqual(['/', '/second']);
    expect(r.statuses).toEqual([400]);
  });
});

describe('the insecureHTTPParser flag', () => {
  it('turns the smuggling defences off (why Fairway passes insecureHTTPParser: false explicitly)', async () => {
    const p = await startProbeServer({ ...FAIRWAY_LIKE, insecureHTTPParser: true });
    const r = await p.send(post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n'));
    expect(clientErrors(r)).toEqual([]);
    expect(requests(r)).toHaveLength(1);
    passed(await p.send(`GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`), { version: '1.1' });
  });
});
