// The bench's relay yardstick (bench/e2e/peers/relay.ts) is correct for the bench's traffic:
// keep-alive reuse on both sides, Content-Length and chunked framing, close-delimited upstream
// bodies, request bodies, hop-by-hop headers dropped, X-Forwarded-For appended, 502 on refusal.
// Real sockets on 127.0.0.1; the relay runs as its own process, as in the bench.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { closedPortUrl, rawRequest } from './helpers/net.ts';
import { waitFor } from './helpers/wait.ts';

const RELAY = fileURLToPath(new URL('../bench/e2e/peers/relay.ts', import.meta.url));

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
  socket: number;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A node:http upstream that records every request and answers by path. */
async function upstream(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const ids = new WeakMap<object, number>();
  let nextId = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (!ids.has(req.socket)) ids.set(req.socket, nextId++);
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body, socket: ids.get(req.socket)! });
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-t', 'proxy-connection': 'keep-alive' });
        res.write('abc');
        res.write('x'.repeat(10_000));
        res.end('defgh');
      } else if (req.url?.startsWith('/bytes/')) {
        const b = Buffer.alloc(Number(req.url.slice(7)), 'y');
        res.writeHead(200, { 'content-length': String(b.length) });
        res.end(b);
      } else {
        const b = Buffer.from(req.method === 'POST' ? `got ${body.length}` : 'hello, world\n');
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(b.length), 'keep-alive': 'timeout=5', upgrade: 'h2c' });
        res.end(req.method === 'HEAD' ? undefined : b);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen };
}

/** An upstream whose response has no length: the body ends when it closes the connection. */
async function eofUpstream(): Promise<string> {
  const server = net.createServer((s) => {
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** Writes each piece in its own event-loop turn, after the previous one reached the kernel. */
async function writeInPieces(s: net.Socket, pieces: string[]): Promise<void> {
  for (const p of pieces) {
    await new Promise<void>((r) => s.write(p, () => r()));
    await new Promise<void>((r) => setImmediate(r));
  }
}

async function relay(...ups: string[]): Promise<string> {
  const child = spawn(process.execPath, [RELAY, ...ups], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const m = await waitFor(() => /relay listening on (http:\/\/\S+)/.exec(out), { timeoutMs: 15_000, message: `relay to start (${out})` });
  return m[1]!;
}

function client(url: string): Client {
  const c = new Client(url, { pipelining: 1 });
  closers.push(() => c.close());
  return c;
}

/** Every value of header `name` in Node's rawHeaders list, in order. */
const header = (raw: string[], name: string): string[] => raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [raw[i + 1]!] : []));

describe('bench relay yardstick', () => {
  it('reuses one client and one upstream connection, forwards bodies of both framings intact', async () => {
    const up = await upstream();
    const c = client(await relay(up.url));
    const r1 = await c.request({ path: '/', method: 'GET' });
    expect(r1.statusCode).toBe(200);
    expect(await r1.body.text()).toBe('hello, world\n');
    expect(r1.headers['content-length']).toBe('13');
    for (const hop of ['keep-alive', 'upgrade', 'connection']) expect(r1.headers[hop]).toBeUndefined();

    const r2 = await c.request({ path: '/bytes/16384', method: 'GET' });
    expect((await r2.body.arrayBuffer()).byteLength).toBe(16384);

    const r3 = await c.request({ path: '/chunked', method: 'GET' });
    expect(r3.headers['transfer-encoding']).toBe('chunked');
    expect(r3.headers.trailer).toBeUndefined();
    expect(r3.headers['proxy-connection']).toBeUndefined();
    expect(await r3.body.text()).toBe(`abc${'x'.repeat(10_000)}defgh`);

    const r4 = await c.request({ path: '/', method: 'HEAD' });
    expect(r4.statusCode).toBe(200);
    expect(await r4.body.text()).toBe('');

    expect(up.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /', 'GET /bytes/16384', 'GET /chunked', 'HEAD /']);
    // Sequential requests: the warm pooled socket is reused every time.
    expect(new Set(up.seen.map((s) => s.socket)).size).toBe(1);
  });

  it('drops hop-by-hop request headers and appends to X-Forwarded-For', async () => {
    const up = await upstream();
    const url = await relay(up.url);
    const res = await rawRequest(
      url,
      'GET /x HTTP/1.1\r\nHost: example.test\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Connection: x\r\nTrailer: y\r\nX-Forwarded-For: 10.0.0.1\r\nX-Keep: 1\r\nConnection: close\r\n\r\n',
    );
    expect(res).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(res).toMatch(/\r\nConnection: close\r\n/);
    expect(res.endsWith('hello, world\n')).toBe(true);
    const seen = up.seen[0]!;
    expect(header(seen.rawHeaders, 'x-forwarded-for')).toEqual(['10.0.0.1, 127.0.0.1']);
    expect(header(seen.rawHeaders, 'host')).toEqual(['example.test']);
    expect(header(seen.rawHeaders, 'x-keep')).toEqual(['1']);
    for (const hop of ['keep-alive', 'te', 'proxy-connection', 'trailer']) expect(header(seen.rawHeaders, hop)).toEqual([]);
  });

  it('adds X-Forwarded-For when there is none, forwards Content-Length and chunked request bodies', async () => {
    const up = await upstream();
    const c = client(await relay(up.url));
    const r1 = await c.request({ path: '/', method: 'POST', body: 'a'.repeat(20_000), headers: { 'content-length': '20000' } });
    expect(await r1.body.text()).toBe('got 20000');
    // A stream body of unknown length: undici sends it chunked.
    const r2 = await c.request({ path: '/', method: 'POST', body: Readable.from(['abc', 'de']) });
    expect(await r2.body.text()).toBe('got 5');
    expect(header(up.seen[0]!.rawHeaders, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(up.seen[1]!.body).toBe('abcde');
    expect(header(up.seen[1]!.rawHeaders, 'transfer-encoding')).toEqual(['chunked']);
  });

  it('re-chunks a close-delimited upstream body and keeps the client connection', async () => {
    const c = client(await relay(await eofUpstream()));
    for (let i = 0; i < 2; i++) {
      const r = await c.request({ path: '/', method: 'GET' });
      expect(r.headers['transfer-encoding']).toBe('chunked');
      expect(await r.body.text()).toBe('until the end');
    }
  });

  it('rewrites heads that arrive in pieces, in both directions', async () => {
    // Upstream writes its head in three TCP segments, split inside a header name and a value.
    const seen: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.setNoDelay(true);
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        seen.push(got);
        got = '';
        void writeInPieces(s, ['HTTP/1.1 200 OK\r\nx-a', 'bc: 1\r\nConnection: ke', 'ep-alive\r\nContent-Length: 2\r\n\r\nok']);
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const url = await relay(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const u = new URL(url);
    const sock = net.connect(Number(u.port), u.hostname);
    sock.setNoDelay(true);
    closers.push(async () => void sock.destroy());
    let res = '';
    sock.on('data', (d) => (res += d.toString('latin1')));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    await writeInPieces(sock, ['GET /p HTTP/1.1\r\nHo', 'st: a\r\nX-Forwarded-', 'For: 10.0.0.9\r\nTE: trail', 'ers\r\n\r\n']);
    await waitFor(() => res.endsWith('\r\n\r\nok'), { message: `the response (${JSON.stringify(res)})` });
    expect(res).toBe('HTTP/1.1 200 OK\r\nx-abc: 1\r\nContent-Length: 2\r\n\r\nok');
    expect(seen[0]).toBe('GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.9, 127.0.0.1\r\n\r\n');
  });

  it('answers 502 when the upstream refuses, and 400 to a malformed request', async () => {
    const url = await relay(await closedPortUrl());
    expect(await rawRequest(url, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(await rawRequest(url, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
  });
});
