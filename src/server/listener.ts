// One node:http server per listen address, with the client-facing limits from config, and the
// connection bookkeeping a graceful drain needs. Request handling lives in handler.ts.

import http, { IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenAddress, ServerLimits } from '../config/types.ts';
import { ProxyResponse } from '../proxy/exchange.ts';

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
        requireHostHeader: true,
        joinDuplicateHeaders: false,
        noDelay: true,
        ServerResponse: ProxyResponse,
      },
      onRequest,
    );
    this.server.on('upgrade', onUpgrade);
    // Never let a socket error (client reset) become an uncaught exception.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\nx-fairway-error: bad-request\r\n\r\n`);
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
