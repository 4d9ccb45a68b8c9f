// Secure servers bound to a certificate store: HTTPS (HTTP/1.1) or HTTP/2 with HTTP/1.1 on the
// same port. The listener passes its own HTTP options (limits, timeouts) and binds; this module
// only joins them with the store's TLS options and attaches the store for rotation.

import http2 from 'node:http2';
import https from 'node:https';
import type { CertificateStore } from './store.ts';

/**
 * An `https.Server` serving the store's certificates (SNI, rotation). `options` are the HTTP
 * server options (maxHeaderSize, timeouts, ServerResponse, …); TLS options come from the store.
 */
export function createHttpsServer<Options extends https.ServerOptions>(
  store: CertificateStore,
  options: Options,
  onRequest?: Parameters<typeof https.createServer>[1],
): https.Server {
  const server = onRequest === undefined ? https.createServer({ ...options, ...store.serverOptions() }) : https.createServer({ ...options, ...store.serverOptions() }, onRequest);
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
  const server = onRequest === undefined ? http2.createSecureServer(all) : http2.createSecureServer(all, onRequest);
  store.attach(server);
  return server;
}
