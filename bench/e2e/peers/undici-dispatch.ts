// Yardstick, not a product: the bare design Fairway is built on (node:http + an undici Pool per
// upstream + dispatch() into the response, round-robin, hop-by-hop headers dropped); no retries,
// health, metrics or routing. Run: node bench/e2e/peers/undici-dispatch.ts [--tls CERT KEY] URL...
// (--tls: node:https instead of node:http, the HTTPS/1.1 floor of the TLS bench.)
// Switches for measuring candidate wins (--variant 'undici-dispatch+TAG=ENV=…'), all off by default:
//   UD_PIPELINING=N   undici Pool pipelining to the upstreams (default 1)
//   UD_TIMEOUTS=0     headersTimeout/bodyTimeout 0: no per-request undici fast timers
//   UD_RAW=1          request headers forwarded from req.rawHeaders as a flat list (no filtered
//                     copy of req.headers; node:http still builds req.headers to check Host and
//                     Expect), response headers written as a flat list

import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const args = process.argv.slice(2);
const tls = args[0] === '--tls' ? { cert: readFileSync(args[1]!), key: readFileSync(args[2]!) } : null;
const origins = tls === null ? args : args.slice(3);
if (origins.length === 0) throw new Error('usage: undici-dispatch.ts UPSTREAM_URL...');
const PIPELINING = Number(process.env.UD_PIPELINING ?? 1);
const NO_TIMEOUTS = process.env.UD_TIMEOUTS === '0';
const RAW = process.env.UD_RAW === '1';
const pools = origins.map(
  (o) => new Pool(o, { connections: 128, pipelining: PIPELINING, keepAliveTimeout: 4000, ...(NO_TIMEOUTS ? { headersTimeout: 0, bodyTimeout: 0 } : {}) }),
);
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
let next = 0;

type Headers = Record<string, string | string[] | undefined>;

function strip(h: Headers): Headers {
  const out: Headers = {};
  for (const k in h) if (!HOP.has(k)) out[k] = h[k];
  return out;
}

/** UD_RAW: the same filtering into a flat [name, value, …] list. */
function stripFlat(h: Headers): string[] {
  const out: string[] = [];
  for (const k in h) {
    if (HOP.has(k)) continue;
    const v = h[k];
    if (typeof v === 'string') out.push(k, v);
    else if (v !== undefined) for (const x of v) out.push(k, x);
  }
  return out;
}

/** UD_RAW: request headers from rawHeaders (original case), hop-by-hop dropped; and whether there is a body. */
function stripRaw(raw: string[]): { headers: string[]; hasBody: boolean } {
  const headers: string[] = [];
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (k === 'content-length') hasBody = true;
    else if (k === 'transfer-encoding') hasBody = true;
    if (HOP.has(k)) continue;
    headers.push(raw[i]!, raw[i + 1]!);
  }
  return { headers, hasBody };
}

class Handler implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse;
  controller: Dispatcher.DispatchController | null = null;
  constructor(res: ServerResponse) {
    this.res = res;
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Headers): void {
    if (RAW) this.res.writeHead(status, stripFlat(headers));
    else this.res.writeHead(status, strip(headers));
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }
  onResponseEnd(): void {
    this.res.end();
  }
  onResponseError(_c: Dispatcher.DispatchController, _err: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else if (!this.res.destroyed) {
      this.res.writeHead(502, { 'content-type': 'text/plain' });
      this.res.end('bad gateway\n');
    }
  }
}

const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  const h = new Handler(res);
  if (RAW) {
    const r = stripRaw(req.rawHeaders);
    pool.dispatch({ method: req.method ?? 'GET', path: req.url ?? '/', headers: r.headers, body: r.hasBody ? req : null }, h);
  } else {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.dispatch({ method: req.method ?? 'GET', path: req.url ?? '/', headers: strip(req.headers), body: hasBody ? req : null }, h);
  }
  // A client that goes away mid-response must free the upstream connection: a paused response
  // whose 'drain' never comes would hold it forever.
  res.once('close', () => {
    if (!res.writableFinished) h.controller?.abort(new Error('client closed'));
  });
};
const server = tls === null ? http.createServer({ keepAliveTimeout: 60_000 }, onRequest) : https.createServer({ keepAliveTimeout: 60_000, ...tls }, onRequest);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`undici-dispatch listening on ${tls === null ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
