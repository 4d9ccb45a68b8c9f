// The bench's own upstream process: node:http, a fixed body (13 bytes by default, N bytes at
// GET /bytes/N), optional added latency and failure rate, and its request count at GET /__count.
// Run: node bench/e2e/upstream.ts --name a [--port 0] [--delay-ms 50] [--fail-rate 0.2]

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'upstream' },
    port: { type: 'string', default: '0' },
    'delay-ms': { type: 'string', default: '0' },
    'fail-rate': { type: 'string', default: '0' },
    'fail-status': { type: 'string', default: '503' },
  },
});
const name = values.name;
const delayMs = Number(values['delay-ms']);
const failRate = Number(values['fail-rate']);
const failStatus = Number(values['fail-status']);

/** Body and header object per size, built once. "hello, world\n" is the 13-byte default. */
const DEFAULT = reply(Buffer.from('hello, world\n'));
const bySize = new Map<number, Reply>();
const FAIL = reply(Buffer.from(`${name} failing\n`));
const MAX_BYTES = 16 << 20;

interface Reply {
  body: Buffer;
  headers: Record<string, string>;
}

function reply(body: Buffer): Reply {
  return { body, headers: { 'content-type': 'text/plain', 'content-length': String(body.length), 'x-upstream': name } };
}

function sized(url: string): Reply | null {
  const n = Number(url.slice('/bytes/'.length));
  if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) return null;
  let r = bySize.get(n);
  if (r === undefined) {
    r = reply(Buffer.alloc(n, 'x'));
    bySize.set(n, r);
  }
  return r;
}

let requests = 0;
let failed = 0;

function send(res: ServerResponse, status: number, r: Reply): void {
  res.writeHead(status, r.headers);
  res.end(r.body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/__count') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name, requests, failed }));
    return;
  }
  if (url === '/health') {
    send(res, 200, DEFAULT);
    return;
  }
  requests++;
  let r = DEFAULT;
  if (url.startsWith('/bytes/')) {
    const s = sized(url);
    if (s === null) {
      res.writeHead(400, { 'content-length': '0' });
      res.end();
      return;
    }
    r = s;
  }
  if (failRate > 0 && Math.random() < failRate) {
    failed++;
    send(res, failStatus, FAIL);
    return;
  }
  if (delayMs > 0) setTimeout(send, delayMs, res, 200, r);
  else send(res, 200, r);
}

// Keep-alive longer than any proxy's own upstream idle timeout (nginx 60 s, Fairway 4 s), so the
// proxies, not this server, decide when pooled connections close: no close/reuse races.
const server = http.createServer({ keepAliveTimeout: 65_000 }, handle);
server.on('clientError', (_err, socket) => socket.destroy());
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${name} listening on http://127.0.0.1:${port}\n`);
});
const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
