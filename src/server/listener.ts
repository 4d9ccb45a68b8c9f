// One node:http server per listen address, with the client-facing limits from config, and the
// connection bookkeeping a graceful drain needs. Request handling lives in handler.ts.

import http, { IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenAddress, ServerLimits } from '../config/types.ts';
import { ErrorCode } from '../core/errors.ts';
import { ProxyResponse } from '../proxy/exchange.ts';
import { rawErrorResponse } from '../proxy/respond.ts';

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export class Listener {
  readonly server: http.Server<typeof IncomingMessage, typeof ProxyResponse>;
  readonly address: ListenAddress;
  /** Sockets handed over to a WebSocket tunnel: no longer tracked by the http server. */
  readonly tunnels = new Set<Duplex>();

  constructor(
    address: ListenAddress,
    limits: ServerLimits,
    onRequest: (req: IncomingMessage, res: ServerResponse) => void,
    onUpgrade: UpgradeListener,
  ) {
    this.address = address;
    const requestTimeout = limits.requestTimeoutMs;
    this.server = http.createServer(
      {
        // Explicit, so NODE_OPTIONS=--insecure-http-parser cannot turn smuggling defences off.
        insecureHTTPParser: false,
        maxHeaderSize: limits.maxHeaderBytes,
        // Node requires headersTimeout ≤ requestTimeout when the latter is on.
        headersTimeout: requestTimeout > 0 ? Math.min(limits.headersTimeoutMs, requestTimeout) : limits.headersTimeoutMs,
        requestTimeout,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: 1000,
        // Checked in the handler instead, so the 400 carries x-fairway-error like every other.
        requireHostHeader: false,
        joinDuplicateHeaders: false,
        noDelay: true,
        ServerResponse: ProxyResponse,
      },
      onRequest,
    );
    this.server.on('upgrade', onUpgrade);
    // Never let a socket error (client reset) become an uncaught exception; answer parse
    // errors with the proxy's own error responses.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const code =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? ErrorCode.HeadersTooLarge
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? ErrorCode.RequestTimeout
            : ErrorCode.BadRequest;
      socket.end(rawErrorResponse(code));
    });
    // A reverse proxy does not tunnel CONNECT.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => {});
      socket.end(rawErrorResponse(ErrorCode.MethodNotAllowed));
    });
  }

  /** Binds; resolves with the real address (port 0 resolved). */
  async listen(reusePort = false): Promise<string> {
    const { host, port } = this.address;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, reusePort }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return this.url();
  }

  /** `http://host:port` of the bound socket. */
  url(): string {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return String(a);
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a !== 'string' ? a.port : 0;
  }

  /** Stops accepting; resolves when every connection has closed (see Runtime.drain). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
