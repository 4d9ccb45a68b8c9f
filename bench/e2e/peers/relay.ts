// Yardstick, not a product: how cheap a Node L7 relay can be. HTTP/1.1 keep-alive on node:net on
// both sides, request and response heads parsed by llhttp (undici's WASM build, relay-llhttp.ts),
// bodies framed by Content-Length or chunked (re-chunked as they arrive), round-robin over the
// upstreams with a small pool of keep-alive sockets per upstream, hop-by-hop headers dropped,
// X-Forwarded-For appended, and all output of one parse written corked, so a head and a small
// body leave in one Buffer and one syscall. Run: node bench/e2e/peers/relay.ts URL...
//
// What it does NOT handle (the bench's traffic never needs it): routing, retries, health,
// timeouts of any kind (idle clients, slow upstreams), upgrades/CONNECT (501), trailers (dropped),
// headers nominated by `Connection:` (forwarded), HTTP/1.0 keep-alive (1.0 clients are answered
// and closed), pipelined requests are answered one at a time, an upstream that answers before
// the request body is complete (the client is closed after that response), a stale pooled
// socket (502, no retry), TLS, HTTP/2, and several X-Forwarded-For lines (appends to the first).

import net from 'node:net';
import * as out from './relay-head.ts';
import { LLHTTP, METHOD_BYTES, METHOD_HEAD, PARSER_TYPE, Parser, type ParserHandler } from './relay-llhttp.ts';
import { CB_ERROR, Origin, type Downstream, type UpConn } from './relay-upstream.ts';

const BAD_GATEWAY = Buffer.from('HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n');
const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const TOO_LARGE = Buffer.from('HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const NOT_IMPLEMENTED = Buffer.from('HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');

/** X-Forwarded-For pieces per client address, built once per address. */
const xffByAddress = new Map<string, { append: Buffer; line: Buffer }>();
function xffFor(address: string): { append: Buffer; line: Buffer } {
  let x = xffByAddress.get(address);
  if (x === undefined) {
    x = { append: Buffer.from(`, ${address}`), line: Buffer.from(`X-Forwarded-For: ${address}\r\n`) };
    xffByAddress.set(address, x);
  }
  return x;
}

/** One client connection and its request parser; one exchange at a time. */
class Client implements ParserHandler, Downstream {
  readonly socket: net.Socket;
  readonly parser: Parser;
  readonly head: out.HeadWriter;
  readonly xff: { append: Buffer; line: Buffer };
  /** Writes to the client. */
  readonly send: (b: Buffer) => void;
  /** Writes to the attached upstream socket, or keeps the bytes until one is attached. */
  private readonly toUpstream: (b: Buffer) => void;
  upstream: UpConn | null;
  /** Output for the upstream produced before a socket was attached. */
  pending: Buffer[];
  /** Unparsed input that arrived while an exchange was in flight. */
  input: Buffer | null;
  busy: boolean;
  requestDone: boolean;
  keepAlive: boolean;
  isHead: boolean;
  http10: boolean;
  chunked: boolean;
  tooLarge: boolean;
  closed: boolean;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.parser = new Parser(PARSER_TYPE.Request, this);
    this.head = new out.HeadWriter();
    this.xff = xffFor(socket.remoteAddress ?? 'unknown');
    this.send = (b) => socket.write(b);
    this.toUpstream = (b) => {
      if (this.upstream !== null) this.upstream.socket.write(b);
      else this.pending.push(b);
    };
    this.upstream = null;
    this.pending = [];
    this.input = null;
    this.busy = false;
    this.requestDone = false;
    this.keepAlive = true;
    this.isHead = false;
    this.http10 = false;
    this.chunked = false;
    this.tooLarge = false;
    this.closed = false;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
  }


  onData(chunk: Buffer): void {
    if (this.busy && this.requestDone) {
      // A pipelined request: parsed once this response is done.
      this.input = this.input === null ? chunk : Buffer.concat([this.input, chunk]);
      this.socket.pause();
      return;
    }
    this.parse(chunk);
  }

  private parse(chunk: Buffer): void {
    const ret = out.parseChunk(this.parser, this.head, chunk, this.toUpstream);
    if (ret === LLHTTP.PAUSED) {
      if (this.parser.stoppedAt < chunk.length) {
        this.input = chunk.subarray(this.parser.stoppedAt);
        this.socket.pause();
      }
    } else if (ret !== LLHTTP.OK) {
      this.reject(this.tooLarge ? TOO_LARGE : BAD_REQUEST);
    } else if (this.upstream === null ? this.pending.length > 0 : this.upstream.socket.writableNeedDrain) {
      this.socket.pause(); // resumed when attached / on the upstream's drain
      if (this.upstream !== null) this.upstream.socket.once('drain', () => this.socket.resume());
    }
  }

  /** An upstream socket is ours: send what was kept. */
  attached(u: UpConn): void {
    this.upstream = u;
    const p = this.pending;
    if (p.length === 0) return;
    u.socket.cork();
    for (let i = 0; i < p.length; i++) u.socket.write(p[i]!);
    u.socket.uncork();
    p.length = 0;
    if (!this.requestDone) this.socket.resume();
  }

  /** The response is complete (called outside any parse). */
  exchangeDone(): void {
    this.upstream = null;
    this.busy = false;
    if (!this.keepAlive || !this.requestDone) {
      this.socket.end();
      return;
    }
    this.parser.resume();
    const input = this.input;
    this.input = null;
    if (this.socket.isPaused()) this.socket.resume();
    if (input !== null) this.parse(input);
  }

  upstreamFailed(headSent: boolean): void {
    this.upstream = null;
    if (this.closed) return;
    if (headSent) this.socket.destroy();
    else this.reject(BAD_GATEWAY);
  }

  private reject(response: Buffer): void {
    this.keepAlive = false;
    this.socket.end(response);
  }

  private onClose(): void {
    this.closed = true;
    this.parser.free();
    const u = this.upstream;
    this.upstream = null;
    if (u !== null) u.socket.destroy(); // mid-exchange: the socket cannot be reused
  }

  onMessageBegin(): number {
    this.head.begin(this.xff.append);
    this.busy = true;
    this.requestDone = false;
    return 0;
  }

  onSpan(chunk: Buffer, from: number, len: number): number {
    this.head.requestSpan(METHOD_BYTES[this.parser.method()]!, chunk, from, len);
    return 0;
  }

  onHeaderField(chunk: Buffer, from: number, len: number): number {
    this.head.field(true, 0, chunk, from, len);
    return this.checkSize();
  }

  onHeaderValue(chunk: Buffer, from: number, len: number): number {
    this.head.value(chunk, from, len);
    return this.checkSize();
  }

  private checkSize(): number {
    this.tooLarge = this.head.tooLarge();
    return this.tooLarge ? CB_ERROR : 0;
  }

  onHeadersComplete(_status: number, upgrade: boolean, keepAlive: boolean): number {
    if (upgrade || this.parser.method() === CONNECT) {
      this.head.open = false;
      out.stash();
      this.reject(NOT_IMPLEMENTED);
      return LLHTTP.PAUSED;
    }
    this.http10 = this.parser.isHttp10();
    this.keepAlive = keepAlive && !this.http10;
    this.isHead = this.parser.method() === METHOD_HEAD;
    this.chunked = this.head.sawTransferEncoding;
    this.head.finish(true, 0, this.xff.line, this.chunked, false);
    if (this.head.tooLarge()) {
      this.tooLarge = true;
      return CB_ERROR;
    }
    const o = origins[next]!;
    next = next + 1 === origins.length ? 0 : next + 1;
    o.acquire(this);
    return 0;
  }

  onBody(chunk: Buffer, from: number, len: number): number {
    out.body(chunk, from, len, this.chunked, this.toUpstream);
    return 0;
  }

  onMessageComplete(): number {
    if (this.chunked) out.putLastChunk();
    this.requestDone = true;
    return LLHTTP.PAUSED;
  }
}

const CONNECT = METHOD_BYTES.findIndex((b) => b !== undefined && b.toString('latin1') === 'CONNECT ');
const origins = process.argv.slice(2).map((u) => new Origin(u));
if (origins.length === 0) throw new Error('usage: relay.ts UPSTREAM_URL...');
let next = 0;

const server = net.createServer({ noDelay: true }, (socket) => {
  new Client(socket);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`relay listening on http://127.0.0.1:${(server.address() as net.AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
