// One node:http server per listen address, with the client-facing limits from config and the
// connection bookkeeping a graceful drain needs. It turns node:http's events into Downstreams
// (h1.ts) for the pipeline; what happens to a request is handler.ts.

import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenAddress, ServerLimits } from '../config/types.ts';
import { ErrorCode } from '../core/errors.ts';
import { rawErrorResponse } from '../proxy/respond.ts';
import { bind, boundPort, boundUrl, clientErrorHandler } from '../util/http-server.ts';
import type { Downstream } from './downstream.ts';
import { H1Response, H1Upgrade } from './h1.ts';

const CLIENT_ERRORS = {
  'headers-too-large': ErrorCode.HeadersTooLarge,
  'request-timeout': ErrorCode.RequestTimeout,
  'bad-request': ErrorCode.BadRequest,
} as const;

/** Only WebSocket is tunnelled: any other Upgrade is served as a plain request (Node ≥ 24.9). */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const v = req.headers.upgrade;
  return v !== undefined && v.trim().toLowerCase() === 'websocket';
}

export class Listener {
  readonly server: http.Server<typeof IncomingMessage, typeof H1Response>;
  readonly address: ListenAddress;
  /** Sockets handed over to a WebSocket tunnel: no longer tracked by the http server. */
  readonly tunnels = new Set<Duplex>();

  constructor(address: ListenAddress, limits: ServerLimits, handle: (client: Downstream) => void) {
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
        ServerResponse: H1Response,
        shouldUpgradeCallback: isWebSocketUpgrade,
      },
      (_req, res) => handle(res),
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Only reached by other upgrades on Node < 24.9 (no shouldUpgradeCallback): served as a
      // plain request on the raw socket when it has no body, refused otherwise.
      const websocket = isWebSocketUpgrade(req);
      if (!websocket && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) {
        socket.on('error', () => {});
        socket.end(rawErrorResponse(ErrorCode.BadRequest));
        return;
      }
      handle(new H1Upgrade(req, socket, head, this.tunnels, websocket ? req.headers.upgrade!.trim() : null));
    });
    // Never let a socket error (client reset) become an uncaught exception; answer parse
    // errors with the proxy's own error responses.
    this.server.on('clientError', clientErrorHandler((kind) => rawErrorResponse(CLIENT_ERRORS[kind])));
    // A reverse proxy does not tunnel CONNECT.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => {});
      socket.end(rawErrorResponse(ErrorCode.MethodNotAllowed));
    });
  }

  /** Binds; resolves with the real address (port 0 resolved). */
  async listen(reusePort = false): Promise<string> {
    await bind(this.server, this.address, reusePort);
    return this.url();
  }

  /** `http://host:port` of the bound socket. */
  url(): string {
    return boundUrl(this.server, 'http');
  }

  get port(): number {
    return boundPort(this.server);
  }

  /** Open client connections (kept by the http server), read asynchronously. */
  connections(): Promise<number> {
    return new Promise((resolve) => this.server.getConnections((err, count) => resolve(err ? 0 : count)));
  }

  /** Stops accepting; resolves when every connection has closed (see Runtime.close). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
