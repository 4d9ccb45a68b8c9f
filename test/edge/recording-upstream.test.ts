// The recording upstream's own parser must be trustworthy: the edge tests and the fuzzer
// conclude "only well-formed requests reached the upstream" from it.

import net from 'node:net';
import { Pool } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { header, parseRequest, startRecordingUpstream } from '../helpers/recording-upstream.ts';
import { rawRequest } from '../helpers/net.ts';
import { waitFor } from '../helpers/wait.ts';

const H = 'Host: a\r\n';

describe('parseRequest', () => {
  it.each([
    ['no body', `GET /x HTTP/1.1\r\n${H}\r\n`, 'none', ''],
    ['an IPv6 Host with a port', 'GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', 'none', ''],
    ['Content-Length', `POST /x HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`, 'content-length', 'hello'],
    ['chunked', `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n`, 'chunked', 'hello!'],
    ['chunked, any case', `POST /x HTTP/1.1\r\n${H}transfer-encoding: Chunked\r\n\r\n0\r\n\r\n`, 'chunked', ''],
  ])('accepts %s', (_n, text, framing, body) => {
    const r = parseRequest(Buffer.from(text, 'latin1'));
    expect(r).not.toBeNull();
    expect(r).not.toHaveProperty('reason');
    const ok = r as { request: { framing: string; body: Buffer }; length: number };
    expect(ok.request.framing).toBe(framing);
    expect(ok.request.body.toString()).toBe(body);
    expect(ok.length).toBe(Buffer.byteLength(text, 'latin1'));
  });

  it('says "incomplete" until the whole request is there', () => {
    const text = `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`;
    for (let cut = 0; cut < text.length; cut++) expect(parseRequest(Buffer.from(text.slice(0, cut))), `cut ${cut}`).toBeNull();
  });

  it.each([
    ['a bare LF', `GET /x HTTP/1.1\n${H}\r\n`],
    ['HTTP/1.0', `GET /x HTTP/1.0\r\n${H}\r\n`],
    ['HTTP/2.0', `GET /x HTTP/2.0\r\n${H}\r\n`],
    ['absolute-form', `GET http://a/x HTTP/1.1\r\n${H}\r\n`],
    ['no Host', 'GET /x HTTP/1.1\r\n\r\n'],
    ['two Hosts', `GET /x HTTP/1.1\r\n${H}${H}\r\n`],
    ['Host "a b"', 'GET /x HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['Host "a/b"', 'GET /x HTTP/1.1\r\nHost: a/b\r\n\r\n'],
    ['an empty Host', 'GET /x HTTP/1.1\r\nHost:\r\n\r\n'],
    ['obs-fold', `GET /x HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`],
    ['CL with TE', `POST /x HTTP/1.1\r\n${H}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['TE gzip, chunked', `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`],
    ['two CLs', `POST /x HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx`],
    ['Transfer_Encoding', `POST /x HTTP/1.1\r\n${H}Transfer_Encoding: chunked\r\n\r\n`],
    ['a chunk extension', `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n`],
    ['trailers', `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n\r\n`],
    ['chunk data overrun', `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n`],
    ['a space in a name', `GET /x HTTP/1.1\r\n${H}X Y: 1\r\n\r\n`],
  ])('refuses %s', (_n, text) => {
    expect(parseRequest(Buffer.from(text, 'latin1'))).toHaveProperty('reason');
  });
});

describe('startRecordingUpstream', () => {
  it('records what undici sends and answers each request with its own id', async () => {
    const up = await startRecordingUpstream();
    const pool = new Pool(up.url, { connections: 1 });
    onTestFinished(() => pool.close());
    for (const id of ['a', 'b']) {
      const res = await pool.request({ path: `/p/${id}`, method: 'POST', headers: { 'x-test-id': id }, body: `body-${id}` });
      expect(await res.body.text()).toBe(`ok ${id}`);
    }
    expect(up.requests.map((r) => [r.connection, r.index, r.method, r.target, r.framing, r.body.toString(), header(r, 'X-Test-Id')])).toEqual([
      [0, 0, 'POST', '/p/a', 'content-length', 'body-a', 'a'],
      [0, 1, 'POST', '/p/b', 'content-length', 'body-b', 'b'],
    ]);
    expect(up.violations).toEqual([]);
    expect(up.received(0).toString('latin1')).toContain('POST /p/a HTTP/1.1\r\n');
  });

  it('answers pipelined requests in order, and reads nothing after Connection: close', async () => {
    const up = await startRecordingUpstream();
    const res = await rawRequest(up.url, `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /3 HTTP/1.1\r\n${H}\r\n`);
    expect([...res.matchAll(/ok (\/\d)/g)].map((m) => m[1])).toEqual(['/1', '/2']);
    expect(up.requests.map((r) => r.target)).toEqual(['/1', '/2']);
    expect(up.violations).toEqual([]);
  });

  it('a violation is recorded with its offset, answered 400, and the connection closed', async () => {
    const up = await startRecordingUpstream();
    const res = await rawRequest(up.url, `GET /ok HTTP/1.1\r\n${H}\r\nGET /bad HTTP/1.1\r\n${H}${H}\r\nGET /never HTTP/1.1\r\n${H}\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200 OK[^]*HTTP\/1\.1 400 Bad Request/);
    expect(up.requests.map((r) => r.target)).toEqual(['/ok']);
    expect(up.violations).toEqual([{ connection: 0, offset: `GET /ok HTTP/1.1\r\n${H}\r\n`.length, reason: '2 Host fields', excerpt: expect.stringContaining('GET /bad') }]);
  });

  it('a connection closed mid-request is recorded as incomplete, not as a violation', async () => {
    const up = await startRecordingUpstream();
    const s = net.connect(Number(new URL(up.url).port), '127.0.0.1');
    s.on('error', () => {});
    s.end(`POST /x HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nhel`);
    await waitFor(() => up.incomplete.length === 1, { message: 'the incomplete request to be recorded' });
    expect(up.incomplete).toEqual([{ connection: 0, bytes: `POST /x HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nhel`.length }]);
    expect(up.requests).toEqual([]);
    expect(up.violations).toEqual([]);
  });

  it('sends configured replies, and can close after them', async () => {
    const up = await startRecordingUpstream({ respond: () => ({ bytes: 'HTTP/1.1 abc Nope\r\n\r\n', close: true }) });
    expect(await rawRequest(up.url, `GET / HTTP/1.1\r\n${H}\r\n`)).toBe('HTTP/1.1 abc Nope\r\n\r\n');
    up.respond = () => null;
    const s = net.connect(Number(new URL(up.url).port), '127.0.0.1');
    onTestFinished(() => void s.destroy());
    s.write(`GET /hang HTTP/1.1\r\n${H}\r\n`);
    await waitFor(() => up.requests.length === 2, { message: 'the second request' });
    expect(up.openConnections()).toBe(1);
  });
});
