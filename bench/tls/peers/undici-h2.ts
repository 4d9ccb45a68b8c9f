// Yardstick, not a product: the bare HTTP/2 design under Fairway's TLS listener, as small as it
// gets: http2.createSecureServer with the raw stream API (no compat objects), an undici Pool per
// upstream, dispatch() writing straight into the stream, round-robin; HTTP/1.1 clients are served
// (HTTP/1.1 over TLS: e2e/peers/undici-dispatch.ts --tls). No routing, retries, health, limits or metrics.
// Run: node bench/tls/peers/undici-h2.ts CERT KEY URL...

import { readFileSync } from 'node:fs';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const [certFile, keyFile, ...origins] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined || origins.length === 0) throw new Error('usage: undici-h2.ts CERT KEY UPSTREAM_URL...');
const pools = origins.map((o) => new Pool(o, { connections: 128, pipelining: 1, keepAliveTimeout: 4000 }));
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
let next = 0;

type Headers = Record<string, string | string[] | undefined>;

class Handler implements Dispatcher.DispatchHandler {
  readonly stream: ServerHttp2Stream;
  controller: Dispatcher.DispatchController | null = null;
  constructor(stream: ServerHttp2Stream) {
    this.stream = stream;
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The client reset the stream while the request waited for a connection.
    if (this.stream.destroyed) controller.abort(new Error('client closed'));
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Headers): void {
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    for (const k in headers) if (!HOP.has(k)) out[k] = headers[k];
    if (!this.stream.destroyed) this.stream.respond(out);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // A paused response whose 'drain' never comes would hold its upstream connection forever.
    if (this.stream.destroyed) {
      controller.abort(new Error('client closed'));
      return;
    }
    if (!this.stream.write(chunk)) {
      controller.pause();
      this.stream.once('drain', () => controller.resume());
    }
  }
  onResponseEnd(): void {
    if (!this.stream.destroyed) this.stream.end();
  }
  onResponseError(): void {
    if (this.stream.headersSent) this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else if (!this.stream.destroyed) this.stream.respond({ ':status': 502 }, { endStream: true });
  }
}

const server = http2.createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
  stream.on('error', () => {});
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  const h = new Handler(stream);
  const reqHeaders: Headers = { host: String(headers[':authority'] ?? 'localhost') };
  for (const k in headers) if (k.charCodeAt(0) !== 58 && !HOP.has(k)) reqHeaders[k] = headers[k];
  pool.dispatch({ method: String(headers[':method']), path: String(headers[':path']), headers: reqHeaders, body: null }, h);
  stream.once('close', () => {
    if (!stream.writableFinished) h.controller?.abort(new Error('client closed'));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`undici-h2 listening on https://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
