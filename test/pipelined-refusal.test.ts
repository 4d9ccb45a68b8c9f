// A client that pipelines a valid request and then one the parser refuses: the valid one is
// answered first, in order, and only then the refusal (400) with the connection closed. The
// refusal never overtakes, replaces or truncates the answer to an earlier complete request
// (a client would take the 400 for its first request's answer).
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseResponses } from './edge/responses.ts';
import { startProxy } from './helpers/proxy.ts';
import { waitFor } from './helpers/wait.ts';

/** An upstream that holds every response until the test releases it; `streamHead` sends the head and a first chunk at once. */
async function heldUpstream(opts: { streamHead?: boolean } = {}): Promise<{ url: string; seen: string[]; release: () => void }> {
  const seen: string[] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (opts.streamHead === true) {
      res.writeHead(200, { 'content-length': '10' });
      res.write('hello');
    }
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    release: () => {
      for (const res of held.splice(0)) res.end(opts.streamHead === true ? 'world' : 'first');
    },
  };
}

/** A raw client connection that collects everything it receives. */
function rawClient(url: string): { socket: net.Socket; received: () => Buffer; closed: () => boolean } {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  onTestFinished(() => void socket.destroy());
  return { socket, received: () => Buffer.concat(chunks), closed: () => closed };
}

const FIRST = 'GET /first HTTP/1.1\r\nHost: a\r\n\r\n';

describe('a refused request pipelined behind a valid one', () => {
  it.each([
    ['Content-Length with Transfer-Encoding (parser error)', 'POST /bad HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a request line without a version (parser error)', 'GET /bad\r\nHost: a\r\n\r\n'],
    ['a bad Host, then bytes the parser refuses', 'GET /bad HTTP/1.1\r\nHost: a b\r\n\r\nGARBAGE\r\n\r\n'],
  ])('%s: the first request is answered, then 400, then the connection closes', async (_name, bad) => {
    const up = await heldUpstream();
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    const c = rawClient(p.url);
    c.socket.write(FIRST + bad);
    await waitFor(() => up.seen.includes('GET /first'), { message: 'the first request at the upstream' });
    up.release();
    await waitFor(() => c.closed(), { message: 'the connection to close' });
    const parsed = parseResponses(c.received());
    expect(parsed.malformed).toBeNull();
    expect(parsed.rest).toBe(0);
    expect(parsed.responses.map((r) => r.status)).toEqual([200, 400]);
    expect(parsed.responses[0]!.body.toString()).toBe('first');
    expect(up.seen).toEqual(['GET /first']);
  });

  it('bytes after a request with Connection: close are never read, and never cost that request its answer', async () => {
    const up = await heldUpstream();
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    const c = rawClient(p.url);
    // llhttp refuses data after `Connection: close` (a parse error while /first is in flight).
    c.socket.write('GET /first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => up.seen.includes('GET /first'), { message: 'the first request at the upstream' });
    up.release();
    await waitFor(() => c.closed(), { message: 'the connection to close' });
    const parsed = parseResponses(c.received());
    expect(parsed.malformed).toBeNull();
    expect(parsed.rest).toBe(0);
    expect(parsed.responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'first']]);
    expect(up.seen).toEqual(['GET /first']);
  });

  it('a response already streaming to the client is completed before the refusal, never cut', async () => {
    const up = await heldUpstream({ streamHead: true });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    const c = rawClient(p.url);
    c.socket.write(FIRST);
    await waitFor(() => c.received().toString('latin1').endsWith('hello'), { message: 'the head and first chunk at the client' });
    // Released only once the proxy's parser has refused the second request.
    let refused = false;
    p.runtime.listeners[0]!.http1.once('clientError', () => (refused = true));
    c.socket.write('POST /bad HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    await waitFor(() => refused, { message: 'the parser to refuse the second request' });
    expect(c.closed(), 'the streaming response is not cut').toBe(false);
    up.release();
    await waitFor(() => c.closed(), { message: 'the connection to close' });
    const parsed = parseResponses(c.received());
    expect(parsed.malformed).toBeNull();
    expect(parsed.responses.map((r) => [r.status, r.body.toString()])).toEqual([
      [200, 'helloworld'],
      [400, '400 Bad request.\n'],
    ]);
    expect(parsed.rest).toBe(0);
  });
});
