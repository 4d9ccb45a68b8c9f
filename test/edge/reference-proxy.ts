// A minimal proxy wired the way docs/edge.md asks Fairway to be wired: node:http with explicit
// parser options, the checks of src/server/edge-checks.ts before anything is forwarded, one
// response per connection after a refusal, Connection tokens that cannot strip protected
// headers, and upstream response heads checked before they are relayed. It exists so the edge
// behaviour suite and the fuzzer can be shown to pass against that wiring; it is not Fairway
// (one upstream, no routing, retries, health or WebSocket tunnels).

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { clientAddressOf, forwardRequestHeaders, forwardResponseHeaders } from '../../src/proxy/headers.ts';
import {
  checkRequestHead,
  checkResponseHead,
  clientErrorRejection,
  isProtectedFromConnection,
  isTunnelledUpgrade,
  type EdgeRejection,
} from '../../src/server/edge-checks.ts';

export interface ReferenceProxy {
  url: string;
  close(): Promise<void>;
}

const LIMITS = { maxHeaderCount: 100, maxUrlBytes: 8192 };
const MAX_HEADER_BYTES = 16 * 1024;

function errorResponse(status: number, code: string): string {
  const body = `${status} ${code}\n`;
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
    `content-length: ${body.length}\r\nx-fairway-error: ${code}\r\n\r\n${body}`
  );
}

/**
 * Connection values without the names Connection may not remove (Host, framing, X-Forwarded-*):
 * the rest of the header rules are Fairway's own forwardRequestHeaders.
 */
function withoutProtectedTokens(raw: readonly string[]): readonly string[] {
  let out: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    const kept = raw[i + 1]!.split(',').filter((t) => !isProtectedFromConnection(t.trim().toLowerCase()));
    out ??= raw.slice();
    out[i + 1] = kept.join(',');
  }
  return out ?? raw;
}

/** Starts the reference proxy on 127.0.0.1:0 in front of `upstreamUrl`. */
export async function startReferenceProxy(upstreamUrl: string): Promise<ReferenceProxy> {
  const pool = new Pool(upstreamUrl, { connections: 16, pipelining: 1, allowH2: false, maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: 5000, bodyTimeout: 5000 });
  /** Sockets that got a refusal: nothing more they send is served. */
  const condemned = new WeakSet<net.Socket>();
  /** The response in progress on each socket, so a late parse error never writes a second one. */
  const current = new WeakMap<net.Socket, ServerResponse>();

  const refuse = (req: IncomingMessage, res: ServerResponse, r: EdgeRejection): void => {
    condemned.add(req.socket);
    req.resume();
    const body = `${r.status} ${r.code}\n`;
    res.writeHead(r.status, { connection: 'close', 'content-type': 'text/plain', 'content-length': body.length, 'x-fairway-error': r.code });
    res.end(body);
  };

  const server = http.createServer(
    {
      insecureHTTPParser: false,
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      maxHeaderSize: MAX_HEADER_BYTES,
      shouldUpgradeCallback: isTunnelledUpgrade,
    },
    (req, res) => {
      const socket = req.socket;
      if (condemned.has(socket)) {
        // A request after a refusal on the same connection (e.g. the bytes after a bad body).
        req.resume();
        return;
      }
      current.set(socket, res);
      const rejection = checkRequestHead(req, LIMITS);
      if (rejection !== null) return refuse(req, res, rejection);
      // An upgrade that is not tunnelled is served plain; Node reads nothing after it.
      const close = req.headers.upgrade !== undefined;
      const url = req.url!;
      if (url === '*') {
        res.writeHead(204, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' });
        return void res.end();
      }
      let path = url;
      if (!url.startsWith('/')) {
        const slash = url.indexOf('/', url.indexOf('//') + 2);
        path = slash === -1 ? '/' : url.slice(slash);
      }
      const fwd = forwardRequestHeaders(withoutProtectedTokens(req.rawHeaders), clientAddressOf(socket.remoteAddress), 'http');
      const hasBody = fwd.chunked || fwd.contentLength > 0;
      forward(req, res, { path, method: req.method as Dispatcher.HttpMethod, headers: fwd.headers, body: hasBody ? req : null }, close);
    },
  );
  server.maxHeadersCount = LIMITS.maxHeaderCount;

  const forward = (req: IncomingMessage, res: ServerResponse, opts: Dispatcher.DispatchOptions, close: boolean): void => {
    let controller: Dispatcher.DispatchController | null = null;
    let answered = false;
    const fail = (code: string): void => {
      if (answered) return;
      answered = true;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain', 'content-length': code.length + 5, 'x-fairway-error': code });
        res.end(`502 ${code}\n`);
      } else {
        res.destroy();
      }
    };
    res.on('close', () => {
      if (!res.writableFinished && controller !== null && !controller.aborted) controller.abort(new Error('client gone'));
    });
    pool.dispatch(opts, {
      onRequestStart(c) {
        controller = c;
      },
      onResponseStart(c, status, headers) {
        if (status >= 100 && status < 200) return;
        const raw = (c as unknown as { rawHeaders: unknown[] }).rawHeaders;
        const bad = checkResponseHead(status, raw.length / 2, headers['transfer-encoding'], LIMITS.maxHeaderCount);
        if (bad !== null) {
          fail(bad.code);
          return c.abort(new Error(bad.reason));
        }
        const list = forwardResponseHeaders(headers, status);
        if (close) list.push('connection', 'close');
        try {
          res.writeHead(status, list);
        } catch {
          fail('bad-response');
          c.abort(new Error('response head refused'));
        }
      },
      onResponseData(c, chunk) {
        if (res.destroyed) return;
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        answered = true;
        res.end();
      },
      onResponseError(_c, err) {
        // The client's body failed (clientError has answered, or the client left).
        if (condemned.has(req.socket)) return;
        if (req.destroyed && !req.complete) return void res.destroy();
        const e = err as Error & { code?: string };
        const malformed =
          e.name === 'HTTPParserError' ||
          e.code === 'UND_ERR_HEADERS_OVERFLOW' ||
          e.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
          e.code === 'ERR_ASSERTION' ||
          (e.code === 'UND_ERR_SOCKET' && /^bad (response|upgrade)$/.test(e.message));
        fail(malformed ? 'bad-response' : 'upstream-reset');
      },
    });
  };

  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: net.Socket) => {
    const res = current.get(socket);
    const r = clientErrorRejection(err);
    if (r === null || !socket.writable || condemned.has(socket) || (res !== undefined && res.headersSent)) {
      // Not the request's fault, or an answer is already on its way: never write a second one.
      if (condemned.has(socket) && socket.writable) socket.end();
      else socket.destroy();
      return;
    }
    condemned.add(socket);
    socket.end(errorResponse(r.status, r.code));
  });
  server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => {});
    socket.end(errorResponse(501, 'not-implemented'));
  });
  server.on('connect', (_req: IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => {});
    socket.end(errorResponse(405, 'method-not-allowed'));
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.destroy();
    },
  };
}
