// Secure servers bound to a certificate store: HTTPS (HTTP/1.1) or HTTP/2 with HTTP/1.1 on the
// same port. The listener passes its own HTTP options (limits, timeouts) and binds; this module
// only joins them with the store's TLS options and attaches the store for rotation.

import type http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { CertificateStore } from './store.ts';

/**
 * An `https.Server` serving the store's certificates (SNI, rotation). `options` are the HTTP
 * server options (maxHeaderSize, timeouts, ServerResponse, …); TLS options come from the store.
 */
export function createHttpsServer<
  Request extends typeof http.IncomingMessage = typeof http.IncomingMessage,
  Response extends typeof http.ServerResponse<InstanceType<Request>> = typeof http.ServerResponse,
>(store: CertificateStore, options: https.ServerOptions<Request, Response>, onRequest?: http.RequestListener<Request, Response>): https.Server<Request, Response> {
  const server = https.createServer<Request, Response>({ ...options, ...store.serverOptions() }, onRequest);
  store.attach(server);
  return server;
}

/**
 * An HTTP/2 secure server that also serves HTTP/1.1 (`allowHTTP1`, ALPN `h2` then `http/1.1`),
 * serving the store's certificates. `options` are the HTTP/2 options (settings, limits).
 */
export function createHttp2Server(
  store: CertificateStore,
  options: http2.SecureServerOptions,
  onRequest?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): http2.Http2SecureServer {
  const all: http2.SecureServerOptions = { allowHTTP1: true, ...options, ...store.serverOptions() };
  const server = http2.createSecureServer(all, onRequest);
  store.attach(server);
  return server;
}
