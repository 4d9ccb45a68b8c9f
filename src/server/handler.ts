// The request pipeline, top to bottom: route → pool → body (buffered for replay when small)
// → Exchange (attempt loop) → response. Proxy-produced errors: 400, 404, 413, 503.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Pool } from '../pool/pool.ts';
import { ErrorCode } from '../core/errors.ts';
import { Exchange, type Body, type ExchangeContext } from '../proxy/exchange.ts';
import { clientAddressOf, forwardRequestHeaders } from '../proxy/headers.ts';
import { collectBody, limitBody } from '../proxy/replay-buffer.ts';
import type { Readable } from 'node:stream';
import { respondError } from '../proxy/respond.ts';
import { isIdempotent } from '../proxy/retry.ts';
import { hostname, type Router } from './router.ts';

/** The config generation a request resolves once, at its start, and keeps to its end. */
export interface Generation {
  readonly router: Router<Pool>;
  readonly maxBodyBytes: number;
}

export interface HandlerContext extends ExchangeContext {
  current(): Generation;
}

/** Returns the `request` listener for the data-plane servers. */
export function createRequestHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const gen = ctx.current();
    const draining = ctx.isDraining();
    const fwd = forwardRequestHeaders(req.rawHeaders, clientAddressOf(req.socket.remoteAddress), 'http');
    if (fwd.hostCount > 1) return respondError(res, ErrorCode.BadRequest, true);

    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
    if (fwd.host === null && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
      return respondError(res, ErrorCode.BadRequest, true);
    }
    const path = originFormPath(req.url);
    if (path === null) return respondError(res, ErrorCode.BadRequest, draining);
    if (path === '*') return respondAsterisk(req, res, draining);
    const pool = gen.router.match(hostname(fwd.host ?? undefined), path);
    if (pool === undefined) return respondError(res, ErrorCode.NoRoute, draining);

    const maxBody = gen.maxBodyBytes;
    if (maxBody > 0 && fwd.contentLength > maxBody) {
      // The body is not read: close the connection rather than drain an unwanted upload.
      return respondError(res, ErrorCode.BodyTooLarge, true);
    }

    const now = ctx.clock();
    pool.counters.requests++;
    pool.budget.recordRequest(now);

    const method = req.method ?? 'GET';
    const retry = pool.config.retry;
    const opts: Dispatcher.DispatchOptions = {
      path,
      method: method as Dispatcher.HttpMethod,
      headers: fwd.headers,
      body: null,
      headersTimeout: retry.perTryTimeoutMs,
      bodyTimeout: pool.config.timeouts.idleMs,
    };
    const idempotent = isIdempotent(method, fwd.hasIdempotencyKey);
    const hasBody = fwd.chunked || fwd.contentLength > 0;

    if (!hasBody) {
      new Exchange(ctx, req, res, pool, opts, idempotent, true).start();
      return;
    }
    // Without Content-Length the size limit is enforced while the body streams.
    const stream = (): Readable => (maxBody > 0 && fwd.contentLength < 0 ? limitBody(req, maxBody) : req);
    const fitsBuffer = fwd.contentLength <= retry.bufferBytes; // -1 (chunked) fits until proven otherwise
    if (retry.attempts === 1 || !fitsBuffer) {
      opts.body = stream();
      new Exchange(ctx, req, res, pool, opts, idempotent, false).start();
      return;
    }
    collectBody(req, retry.bufferBytes, (body: Body | null) => {
      if (body === null) return; // the client went away while sending
      if (maxBody > 0 && Buffer.isBuffer(body) && body.length > maxBody) return respondError(res, ErrorCode.BodyTooLarge, true);
      opts.body = body === req ? stream() : body;
      new Exchange(ctx, req, res, pool, opts, idempotent, body !== req).start();
    });
  };
}

/**
 * `OPTIONS *` asks about the server itself, which is this proxy (RFC 9110 §9.3.7): answered
 * here. Any other method with `*` is malformed (400). Never forwarded: upstreams are not the
 * server the client addressed, and undici cannot send it anyway.
 */
function respondAsterisk(req: IncomingMessage, res: ServerResponse, draining: boolean): void {
  if (req.method !== 'OPTIONS') return respondError(res, ErrorCode.BadRequest, draining);
  const headers = ['allow', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'content-length', '0'];
  if (draining) headers.push('connection', 'close');
  res.writeHead(204, headers);
  res.end();
}

/**
 * The request target in origin form. Absolute-form ("http://host/p?q", RFC 9112 §3.2.2) is
 * reduced to its path and query; "*" (OPTIONS) passes as is; anything else is null (400).
 */
export function originFormPath(url: string | undefined): string | null {
  if (url === undefined || url.length === 0) return null;
  const c = url.charCodeAt(0);
  if (c === 47 /* / */) return url;
  if (url === '*') return url;
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const slash = url.indexOf('/', url.indexOf('//') + 2);
    if (slash === -1) {
      const q = url.indexOf('?');
      return q === -1 ? '/' : `/${url.slice(q)}`;
    }
    return url.slice(slash);
  }
  return null;
}
