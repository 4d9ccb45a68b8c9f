// One listen address: the socket server that accepts (node:http for plain HTTP/1.1; node:tls
// for a TLS listener, handing each connection by ALPN to an HTTP/1.1 server or the HTTP/2
// server), the client-facing limits, certificates (a CertificateStore per TLS listener) and the
// connection bookkeeping a graceful drain needs. It turns requests into Downstreams (h1.ts,
// h2.ts) for the pipeline; what happens to a request is handler.ts.

import http, { type IncomingMessage } from 'node:http';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ListenAddress, ServerLimits } from '../config/types.ts';
import { ErrorCode, STATUS_OF } from '../core/errors.ts';
import type { AccessRecord } from '../observability/access-log.ts';
import type { Logger } from '../observability/log.ts';
import { clientAddressOf } from '../proxy/headers.ts';
import { errorBody, rawErrorResponse } from '../proxy/respond.ts';
import { tlsMetricFamilies, type TlsListenerStatus, type TlsMetricFamily, type TlsMetricsSource } from '../tls/metrics.ts';
import { CertificateStore } from '../tls/store.ts';
import { bind, boundPort, boundUrl } from '../util/http-server.ts';
import { clientErrorRejection, isTunnelledUpgrade } from './edge-checks.ts';
import type { Downstream } from './downstream.ts';
import { H1Response, H1Upgrade, condemn, isCondemned } from './h1.ts';
import { H2Server, h2MetricFamilies, type H2MetricsSource } from './h2-server.ts';

/** The response node:http has attached to a connection: the one being written now. */
interface CurrentResponse {
  readonly headersSent: boolean;
  readonly req?: { readonly complete: boolean };
  once(event: 'finish', fn: () => void): unknown;
}

/** Connections whose refusal is scheduled: later parse errors on them are ignored. */
const refusing = new WeakSet<Duplex>();

/**
 * Calls `then` once the responses to the complete requests before the refused one are sent:
 * a pipelining client gets its answers in order, and a refusal never overtakes, replaces or
 * cuts the answer to an earlier request. `then` gets the refused request's own response if it
 * is the current one (its body was being read when the parser refused it), else null.
 * O(1) per pending response.
 */
function afterEarlierResponses(socket: Duplex, then: (own: CurrentResponse | null) => void): void {
  const current = (socket as { _httpMessage?: CurrentResponse | null })._httpMessage ?? null;
  if (current === null || current.req?.complete === false) return then(current);
  // node:http attaches the next queued response (or none) before this listener runs.
  current.once('finish', () => {
    if (socket.writable) afterEarlierResponses(socket, then);
  });
}

/**
 * node:http's 'clientError' (the parser refused the request, or a header/request timeout): the
 * proxy's own error for it, after the answers to the requests pipelined before it, unless the
 * request is not to blame (a reset) or an answer to it is already on its way, in which case no
 * second response is ever written.
 */
function onClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex, onRefused: RefusedListener | undefined): void {
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
  if (refusing.has(socket)) return;
  // Already refused (its error response is on its way): never a second response.
  const refused = isCondemned(socket);
  const code = refused ? null : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ErrorCode.RequestTimeout : ((clientErrorRejection(err)?.code ?? null) as ErrorCode | null);
  if (!refused && code === null) return void socket.destroy();
  condemn(socket);
  refusing.add(socket);
  afterEarlierResponses(socket, (own) => {
    if (code === null) socket.end();
    // The refused request's own response is being streamed: it cannot be followed by an error one.
    else if (own?.headersSent === true) socket.destroy();
    else {
      socket.end(rawErrorResponse(code));
      onRefused?.(refusedRecord(socket, code, '-', '-'));
    }
  });
}

/** Gets the access log line of a request the listener refused itself (the pipeline never saw it). */
export type RefusedListener = (record: AccessRecord) => void;

/**
 * The access log line of a request refused before the pipeline: the parser's 400/414/431/501/505,
 * a 408, a CONNECT. Method and path are `-` when the parser could not read them, as nginx logs.
 */
function refusedRecord(socket: Duplex, code: ErrorCode, method: string, path: string): AccessRecord {
  return {
    client: clientAddressOf((socket as { remoteAddress?: string }).remoteAddress),
    method,
    host: null,
    path,
    version: 11,
    status: STATUS_OF[code],
    bytes: errorBody(code).length,
    durationMs: 0,
    pool: null,
    upstream: null,
    tries: 0,
    error: code,
    traceId: null,
    referer: null,
    userAgent: null,
  };
}

export interface ListenerOptions {
  readonly address: ListenAddress;
  readonly limits: ServerLimits;
  readonly handle: (client: Downstream) => void;
  readonly log: Logger;
  /** Requests refused before the pipeline (parse errors, timeouts, CONNECT), for the access log. */
  readonly onRefused?: RefusedListener;
}

export class Listener {
  readonly address: ListenAddress;
  /** The server that accepts connections: `http1` itself, or a tls.Server in front of it. */
  readonly server: Server;
  /** The HTTP/1.1 server (for a TLS listener it is fed the connections ALPN gives it). */
  readonly http1: http.Server<typeof IncomingMessage, typeof H1Response>;
  /** The HTTP/2 server of a TLS listener with `http2`; null otherwise. */
  readonly h2: H2Server | null;
  /** The certificates of a TLS listener; null for plain HTTP. */
  readonly certificates: CertificateStore | null;
  /** Sockets handed over to a WebSocket tunnel: no longer tracked by the http server. */
  readonly tunnels = new Set<Duplex>();

  private constructor(opts: ListenerOptions, certificates: CertificateStore | null) {
    this.address = opts.address;
    this.certificates = certificates;
    this.http1 = createHttp1Server(opts.limits, opts.handle, this.tunnels, opts.onRefused);
    const tlsConfig = opts.address.tls;
    if (certificates === null || tlsConfig === null) {
      this.server = this.http1;
      this.h2 = null;
      return;
    }
    // The HTTP/1.1 server never listens itself: 'listening' starts its connection tracking
    // (headers/request timeouts, idle closing) for the sockets this listener hands it.
    this.http1.emit('listening');
    const h2 = tlsConfig.http2 ? new H2Server({ limits: opts.limits, onStream: opts.handle, log: opts.log, listener: () => this.url() }) : null;
    this.h2 = h2;
    const tlsServer = tls.createServer(certificates.serverOptions(), (socket) => {
      if (socket.alpnProtocol === 'h2' && h2 !== null) h2.accept(socket);
      else this.http1.emit('connection', socket);
    });
    // A failed handshake (a scanner, a client that does not trust us) is the client's problem.
    tlsServer.on('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
    certificates.attach(tlsServer);
    this.server = tlsServer;
  }

  /** Creates the listener (reading its certificates first for a TLS one). Throws on a bad certificate. */
  static async open(opts: ListenerOptions): Promise<Listener> {
    const tlsConfig = opts.address.tls;
    const store =
      tlsConfig === null
        ? null
        : await CertificateStore.open({ tls: tlsConfig, log: opts.log, listener: `https://${opts.address.host}:${opts.address.port}` });
    return new Listener(opts, store);
  }

  /** Binds; resolves with the real address (port 0 resolved). */
  async listen(reusePort = false): Promise<string> {
    await bind(this.server, this.address, reusePort);
    const url = this.url();
    if (this.certificates !== null) this.certificates.listener = url;
    return url;
  }

  /** `http://host:port` or `https://host:port` of the bound socket. */
  url(): string {
    return boundUrl(this.server, this.certificates === null ? 'http' : 'https');
  }

  get port(): number {
    return boundPort(this.server);
  }

  /** Open client connections (TLS ones included), read asynchronously. */
  connections(): Promise<number> {
    return new Promise((resolve) => this.server.getConnections((err, count) => resolve(err ? 0 : count)));
  }

  /**
   * Starts a drain: stops accepting; HTTP/2 sessions get GOAWAY (their open streams finish).
   * Resolves when every connection has closed (see Runtime.close).
   */
  close(): Promise<void> {
    this.h2?.close();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Closes keep-alive connections that are idle now (called repeatedly while draining). */
  closeIdle(): void {
    this.http1.closeIdleConnections();
  }

  /** Drain deadline: closes every connection, session and tunnel left; stops certificate watching. */
  closeAll(): void {
    this.http1.closeAllConnections();
    this.h2?.destroy();
    for (const t of this.tunnels) t.destroy();
    this.certificates?.close();
  }
}

/**
 * An http.Server 'upgrade' listener that hands WebSocket handshakes to `handle` (tunnels are
 * tracked in `tunnels`). Any other upgrade (only on Node < 24.9, or on a server without
 * shouldUpgradeCallback, such as one the library is embedded in) is served as a plain request
 * on the raw socket when it has no body, refused with 400 otherwise.
 */
export function upgradeHandler(handle: (client: Downstream) => void, tunnels: Set<Duplex>): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // Only reached by other upgrades on Node < 24.9 (no shouldUpgradeCallback), and by
    // createProxy's host servers: served as a plain request on the raw socket when it has no
    // body, refused otherwise.
    const websocket = isTunnelledUpgrade(req);
    if (!websocket && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) {
      socket.on('error', () => {});
      socket.end(rawErrorResponse(ErrorCode.BadRequest));
      return;
    }
    handle(new H1Upgrade(req, socket, head, tunnels, websocket ? req.headers.upgrade!.trim() : null));
  };
}

/** The node:http server of a listener, HTTP/1.1 requests and upgrades turned into Downstreams. */
function createHttp1Server(limits: ServerLimits, handle: (client: Downstream) => void, tunnels: Set<Duplex>, onRefused: RefusedListener | undefined) {
  const requestTimeout = limits.requestTimeoutMs;
  const onRequest = (req: IncomingMessage, res: H1Response): void => {
    // Bytes pipelined behind a refused request on the same connection are never served.
    if (isCondemned(req.socket)) {
      req.resume();
      return;
    }
    handle(res);
  };
  const server = http.createServer(
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
      // Only a WebSocket handshake is tunnelled; any other Upgrade (h2c…) is a plain request.
      shouldUpgradeCallback: isTunnelledUpgrade,
    },
    onRequest,
  );
  // An expectation other than 100-continue is ignored, as nginx does (RFC 9110 §10.1.1 allows
  // it), and the request served: Node would answer a bare 417 without the proxy's error format.
  // Expect is never forwarded (headers.ts).
  server.on('checkExpectation', onRequest);
  // More fields than allowed are refused while parsing (431), never truncated.
  server.maxHeadersCount = limits.maxHeaderCount;
  server.on('upgrade', upgradeHandler(handle, tunnels));
  // Never let a socket error (client reset) become an uncaught exception; answer parse errors
  // with the proxy's own error responses.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, onRefused));
  // A reverse proxy does not tunnel CONNECT.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    socket.end(rawErrorResponse(ErrorCode.MethodNotAllowed));
    onRefused?.(refusedRecord(socket, ErrorCode.MethodNotAllowed, 'CONNECT', req.url ?? '-'));
  });
  return server;
}

/** /metrics families of the TLS listeners among `listeners`: certificates and HTTP/2 sessions. */
export function listenerFamilies(listeners: readonly Listener[]): TlsMetricFamily[] {
  const stores: TlsMetricsSource[] = [];
  const h2s: H2MetricsSource[] = [];
  for (const l of listeners) {
    if (l.certificates !== null) stores.push(l.certificates);
    if (l.h2 !== null) h2s.push({ listener: l.url(), h2: l.h2 });
  }
  return stores.length === 0 ? [] : [...tlsMetricFamilies(stores), ...h2MetricFamilies(h2s)];
}

/** The `tls` part of /status: one entry per TLS listener. */
export function listenerTlsStatus(listeners: readonly Listener[]): TlsListenerStatus[] {
  const out: TlsListenerStatus[] = [];
  for (const l of listeners) {
    const store = l.certificates;
    if (store === null) continue;
    out.push({ listener: l.url(), http2: l.h2 !== null, minVersion: store.minVersion, http2Sessions: l.h2?.sessions.size ?? null, certificates: store.status() });
  }
  return out;
}
