// HTTP/2 to clients: the server for `h2` connections (handed over by a TLS listener after ALPN)
// with the protocol's limits, and H2Stream, the adapter that turns one stream into the
// pipeline's Downstream (raw stream API, no compat objects). HTTP/2 specifics live here:
// pseudo-headers, cookie joining, connection-specific headers, RST_STREAM for an aborted body.

import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ServerLimits } from '../config/types.ts';
import { ErrorCode, STATUS_OF } from '../core/errors.ts';
import { clientAddressOf, type CompiledRules } from '../proxy/headers.ts';
import { errorBody, errorHeaders } from '../proxy/respond.ts';
import type { ClientCloseListener, Downstream } from './downstream.ts';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;
/** HEADERS frame flag: no body follows. */
const END_STREAM = 0x1;

/** Concurrent streams a client may open per connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const MAX_CONCURRENT_STREAMS = 100;

/**
 * Connection-specific fields an HTTP/2 message must not carry (RFC 9113 §8.2.2); Node throws
 * ERR_HTTP2_INVALID_CONNECTION_HEADERS on them and the stream would hang.
 */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

/**
 * The HTTP/2 server a TLS listener hands `h2` connections to (`emit('connection', socket)`).
 * Limits: concurrent streams, header list size and pairs from `server.maxHeaderSize` /
 * `maxHeaderCount`, and rapid-reset protection (a session that resets streams faster than the
 * allowed rate gets GOAWAY; Node ≥ 22.11 `streamResetBurst` / `streamResetRate`).
 */
export function createH2Server(limits: ServerLimits, onStream: (client: Downstream) => void): http2.Http2Server {
  const server = http2.createServer({
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: limits.maxHeaderBytes,
      enablePush: false,
    },
    maxHeaderListPairs: limits.maxHeaderCount + 4, // + the four request pseudo-headers
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    // Rapid reset (CVE-2023-44487): nghttp2 sends GOAWAY once a client resets more streams than
    // this token bucket allows (burst, then per second).
    streamResetBurst: 1000,
    streamResetRate: 100,
  } as http2.ServerOptions);
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]) => {
    onStream(new H2Stream(stream, headers, flags, raw));
  });
  // A session's socket error ends in 'close'; never an uncaught exception.
  server.on('session', (session: ServerHttp2Session) => session.on('error', ignore));
  server.on('sessionError', ignore);
  return server;
}

/**
 * The request fields without pseudo-headers, `host` first from `:authority` (RFC 9113
 * §8.3.1), and `cookie` fields joined with "; " as HTTP/1.1 needs them (§8.2.3).
 */
function requestFields(headers: IncomingHttpHeaders, raw: readonly string[]): string[] {
  const out: string[] = [];
  const authority = headers[':authority'];
  let hasHost = false;
  let cookie: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const value = raw[i + 1]!;
    if (name === 'cookie') {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === 'host') hasHost = true;
    out.push(name, value);
  }
  if (!hasHost && typeof authority === 'string') out.unshift('host', authority);
  if (cookie !== null) out.push('cookie', cookie);
  return out;
}

/** One HTTP/2 stream as the pipeline's Downstream. */
export class H2Stream implements Downstream {
  readonly method: string;
  readonly target: string;
  readonly rawHeaders: readonly string[];
  readonly version: number;
  readonly clientAddress: string;
  readonly secure: boolean;
  readonly head: null;
  readonly body: Readable;
  readonly upgrade: string | null;
  /** A body follows the HEADERS frame (its length may be unstated: HTTP/2 has no chunking). */
  readonly hasBody: boolean;
  private readonly stream: ServerHttp2Stream;
  /** The response ended (sendEnd, sendError or abort): a later close is not the client leaving. */
  private finished: boolean;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: readonly string[]) {
    this.stream = stream;
    this.method = String(headers[':method'] ?? 'GET');
    this.target = String(headers[':path'] ?? '');
    this.rawHeaders = requestFields(headers, raw);
    this.version = 20;
    this.clientAddress = clientAddressOf(stream.session?.socket?.remoteAddress);
    this.secure = true;
    this.head = null;
    this.body = stream;
    this.upgrade = null;
    this.hasBody = (flags & END_STREAM) === 0;
    this.finished = false;
    stream.on('error', ignore); // a reset by the client ends in 'close'
  }

  get headSent(): boolean {
    return this.stream.headersSent;
  }

  get gone(): boolean {
    return !this.finished && (this.stream.destroyed || this.stream.closed);
  }

  watch(listener: ClientCloseListener): void {
    this.stream.once('close', () => {
      if (!this.finished) listener.onClientClose();
    });
  }

  sendHead(status: number, headers: string[]): void {
    const list: string[] = [':status', String(status)];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (CONNECTION_SPECIFIC.has(name)) continue;
      list.push(name, headers[i + 1]!);
    }
    if (this.stream.destroyed) return;
    this.stream.respond(list as unknown as http2.OutgoingHttpHeaders, { waitForTrailers: false });
  }

  sendChunk(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  whenDrained(fn: () => void): void {
    this.stream.once('drain', fn);
  }

  sendEnd(): void {
    this.finished = true;
    this.stream.end();
  }

  sendError(code: ErrorCode, _close = false, rules: CompiledRules | null = null): void {
    if (this.finished || this.stream.headersSent || this.stream.destroyed) return;
    this.sendHead(STATUS_OF[code], errorHeaders(code, rules));
    this.finished = true;
    this.stream.end(errorBody(code));
  }

  abort(): void {
    this.finished = true;
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  tunnel(): void {
    throw new Error('HTTP/2 streams do not switch protocols');
  }
}

/** Closes every stream of a session that is still open (shutdown deadline). */
export function cancelSession(session: ServerHttp2Session): void {
  if (!session.destroyed) session.destroy(undefined, NGHTTP2_CANCEL);
}

function ignore(): void {}
