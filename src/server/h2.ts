// HTTP/2 to clients, one stream at a time: H2Stream, the adapter that turns one stream of the
// raw stream API (no compat objects) into the pipeline's Downstream, and H2Body, its request body.
// HTTP/2 specifics of a message live here: pseudo-headers, :authority → Host, cookie joining,
// connection-specific response headers, RST_STREAM for an aborted response. Sessions, settings
// and connection-level protections are h2-server.ts.

import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import { ErrorCode, STATUS_OF } from '../core/errors.ts';
import { clientAddressOf, type CompiledRules } from '../proxy/headers.ts';
import { errorBody, errorHeaders } from '../proxy/respond.ts';
import type { ClientCloseListener, Downstream } from './downstream.ts';

/** HEADERS frame flag: no body follows. */
const END_STREAM = 0x1;

/**
 * Connection-specific fields an HTTP/2 message must not carry (RFC 9113 §8.2.2); Node throws
 * ERR_HTTP2_INVALID_CONNECTION_HEADERS on them and the stream would hang. `headers.ts` already
 * drops the hop-by-hop ones; this is the adapter's own guarantee on every path (errors too).
 */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/** What a stream shares with the other streams of its session (h2-server.ts, one per session). */
export interface SessionContext {
  /** The client's address as it goes into X-Forwarded-For, read once per connection. */
  readonly clientAddress: string;
  /** A stream closed: `cancelled` when the client reset (or lost) it before its response was complete. */
  onStreamClosed(cancelled: boolean): void;
}

/**
 * The request fields without pseudo-headers, `host` first from `:authority` (RFC 9113 §8.3.1),
 * and `cookie` fields joined with "; " as HTTP/1.1 needs them (§8.2.3). A `host` field that
 * names another authority than `:authority` makes the request malformed (§8.3.1): both are kept,
 * so the pipeline's two-Host check answers 400.
 */
export function requestFields(headers: IncomingHttpHeaders, raw: readonly string[]): string[] {
  const out: string[] = [];
  const authority = headers[':authority'];
  const hasAuthority = typeof authority === 'string' && authority !== '';
  let cookie: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const value = raw[i + 1]!;
    if (name === 'cookie') {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    // The same authority twice says nothing new: Host comes from :authority alone.
    if (name === 'host' && hasAuthority && value.toLowerCase() === authority.toLowerCase()) continue;
    out.push(name, value);
  }
  if (hasAuthority) out.unshift('host', authority);
  if (cookie !== null) out.push('cookie', cookie);
  return out;
}

/**
 * One stream's request body as a Readable of its own. undici destroys the body stream it was
 * given once the request is sent; the stream itself would then close with NO_ERROR before any
 * response (checked). Backpressure passes through: a full buffer pauses the stream, so HTTP/2
 * flow control stops the client. A client that resets the stream mid-body fails it.
 */
export class H2Body extends Readable {
  private readonly stream: ServerHttp2Stream;

  constructor(stream: ServerHttp2Stream) {
    super();
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stream.pause();
    });
    stream.once('end', () => this.push(null));
    stream.once('close', () => {
      if (!this.readableEnded && !this.destroyed) this.destroy(Object.assign(new Error('client reset the stream'), { code: 'ECONNRESET' }));
    });
    stream.pause();
  }

  override _read(): void {
    this.stream.resume();
  }
}

/** One HTTP/2 stream as the pipeline's Downstream. Fields fixed in the constructor. */
export class H2Stream implements Downstream {
  readonly method: string;
  readonly target: string;
  readonly rawHeaders: readonly string[];
  readonly version: number;
  readonly clientAddress: string;
  readonly secure: boolean;
  readonly head: null;
  readonly upgrade: string | null;
  /** A body follows the HEADERS frame (its length may be unstated: HTTP/2 has no chunking). */
  readonly hasBody: boolean;
  private readonly stream: ServerHttp2Stream;
  private readonly session: SessionContext;
  private listener: ClientCloseListener | null;
  private bodyStream: H2Body | null;
  /** The response ended (sendEnd, sendError or abort): a later close is not the client leaving. */
  private finished: boolean;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: readonly string[], session: SessionContext) {
    this.stream = stream;
    this.session = session;
    this.method = String(headers[':method'] ?? 'GET');
    this.target = String(headers[':path'] ?? '');
    this.rawHeaders = requestFields(headers, raw);
    this.version = 20;
    this.clientAddress = session.clientAddress;
    this.secure = true;
    this.head = null;
    this.upgrade = null;
    this.hasBody = (flags & END_STREAM) === 0;
    this.listener = null;
    this.bodyStream = null;
    this.finished = false;
    stream.on('error', ignore); // a reset by the client ends in 'close'
    stream.once('close', () => this.onClose());
  }

  /** Created on first use: a request without a body never allocates it. */
  get body(): Readable {
    return (this.bodyStream ??= new H2Body(this.stream));
  }

  get headSent(): boolean {
    return this.stream.headersSent;
  }

  get gone(): boolean {
    return !this.finished && (this.stream.destroyed || this.stream.closed);
  }

  watch(listener: ClientCloseListener): void {
    this.listener = listener;
    // Reset before the pipeline got here (the RST came with the HEADERS): say so, but not
    // from inside the caller's constructor.
    if (this.gone) queueMicrotask(() => listener.onClientClose());
  }

  sendHead(status: number, headers: string[]): void {
    const list: string[] = [':status', String(status)];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (CONNECTION_SPECIFIC.has(name)) continue;
      list.push(name, headers[i + 1]!);
    }
    const stream = this.stream;
    if (stream.destroyed) return;
    stream.respond(list as unknown as http2.OutgoingHttpHeaders); // a flat [name, value, …] list (Node ≥ 22)
    // Coalesce a small body and its end into one write (one DATA frame with END_STREAM):
    // undici usually delivers head, body and end in the same tick. Uncorked on the next tick,
    // so streaming is unaffected.
    stream.cork();
    process.nextTick(uncork, stream);
  }

  sendChunk(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  whenDrained(fn: () => void): void {
    this.stream.once('drain', fn);
  }

  sendEnd(): void {
    this.finished = true;
    if (!this.stream.destroyed) this.stream.end();
  }

  sendError(code: ErrorCode, _close = false, rules: CompiledRules | null = null): void {
    if (this.finished || this.stream.headersSent || this.stream.destroyed) return;
    this.sendHead(STATUS_OF[code], errorHeaders(code, rules));
    this.finished = true;
    this.stream.end(errorBody(code));
  }

  abort(err: Error): void {
    this.finished = true;
    // destroy(err) sends RST_STREAM(INTERNAL_ERROR) and drops what is still buffered. Not
    // close(code): it ends the writable side first, and a DATA frame with END_STREAM could then
    // leave before the RST_STREAM, a truncated body that looks complete (seen in testing).
    if (!this.stream.destroyed) this.stream.destroy(err);
  }

  tunnel(): void {
    throw new Error('HTTP/2 streams do not switch protocols');
  }

  private onClose(): void {
    const cancelled = !this.finished;
    this.session.onStreamClosed(cancelled);
    if (cancelled) this.listener?.onClientClose();
  }
}

function uncork(stream: ServerHttp2Stream): void {
  stream.uncork();
}

function ignore(): void {}
