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

/** Upstream sockets per upstream, as undici-dispatch's Pool `connections`. */
const MAX_PER_ORIGIN = 128;
const CB_ERROR = -1;
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

/** Writes one Buffer of body (or re-chunked body) output; small pieces go into the slab instead. */
function body(chunk: Buffer, from: number, len: number, chunked: boolean, send: (b: Buffer) => void): void {
  if (chunked) {
    const big = out.putChunk(chunk, from, len);
    if (big === null) return;
    flush(send);
    send(big);
    out.putCrlf();
  } else if (len <= out.COPY_BODY_BYTES) out.put(chunk, from, len);
  else {
    flush(send);
    send(chunk.subarray(from, from + len));
  }
}

function flush(send: (b: Buffer) => void): void {
  const b = out.take();
  if (b !== null) send(b);
}

/** One upstream: its idle sockets (a stack: the warmest is reused) and the clients waiting for one. */
class Origin {
  readonly host: string;
  readonly port: number;
  readonly idle: UpConn[];
  open: number;
  readonly waiters: (Client | null)[];
  waitHead: number;

  constructor(url: string) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.idle = [];
    this.open = 0;
    this.waiters = [];
    this.waitHead = 0;
  }

  /** Hands `c` an idle socket now, or queues it (opening a socket while under the cap). O(1). */
  acquire(c: Client): void {
    const u = this.idle.pop();
    if (u !== undefined) {
      u.attach(c);
      return;
    }
    this.waiters.push(c);
    if (this.open < MAX_PER_ORIGIN) {
      this.open++;
      new UpConn(this);
    }
  }

  /** A socket is free: the oldest live waiter gets it, else it goes idle. */
  release(u: UpConn): void {
    const c = this.nextWaiter();
    if (c === null) this.idle.push(u);
    else u.attach(c);
  }

  nextWaiter(): Client | null {
    while (this.waitHead < this.waiters.length) {
      const c = this.waiters[this.waitHead]!;
      this.waiters[this.waitHead++] = null;
      if (this.waitHead === this.waiters.length) {
        this.waiters.length = 0;
        this.waitHead = 0;
      }
      if (c !== null && !c.closed) return c;
    }
    return null;
  }

  /** A socket closed: forget it. */
  remove(u: UpConn): void {
    this.open--;
    const i = this.idle.indexOf(u);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

/** One pooled upstream socket and its response parser. */
class UpConn implements ParserHandler {
  readonly origin: Origin;
  readonly socket: net.Socket;
  readonly parser: Parser;
  readonly head: out.HeadWriter;
  client: Client | null;
  connected: boolean;
  inHead: boolean;
  headSent: boolean;
  chunked: boolean;
  keepAlive: boolean;
  status: number;
  done: boolean;
  readonly resumeRead: () => void;

  constructor(origin: Origin) {
    this.origin = origin;
    this.parser = new Parser(PARSER_TYPE.Response, this);
    this.head = new out.HeadWriter();
    this.client = null;
    this.connected = false;
    this.inHead = false;
    this.headSent = false;
    this.chunked = false;
    this.keepAlive = false;
    this.status = 0;
    this.done = false;
    this.resumeRead = () => this.socket.resume();
    this.socket = net.connect({ host: origin.host, port: origin.port, noDelay: true });
    this.socket.on('connect', () => {
      this.connected = true;
      this.origin.release(this);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', () => {});
    this.socket.on('close', () => this.onClose());
  }

  attach(c: Client): void {
    this.client = c;
    this.inHead = false;
    this.headSent = false;
    this.done = false;
    c.attached(this);
  }

  onData(chunk: Buffer): void {
    const c = this.client;
    if (c === null) {
      this.socket.destroy(); // bytes on an idle socket: not a response to anything
      return;
    }
    const down = c.socket;
    down.cork();
    if (this.head.partial !== null) {
      out.putAll(this.head.partial);
      this.head.partial = null;
    }
    const ret = this.parser.execute(chunk);
    if (this.inHead && ret === LLHTTP.OK) this.head.partial = out.stash();
    else flush(c.send);
    down.uncork();
    if (ret === LLHTTP.PAUSED && this.done) {
      // Anything after the response is a protocol error from a pipelining-1 upstream.
      const extra = chunk.length - this.parser.stoppedAt > 0;
      this.finish(c, extra);
    } else if (ret !== LLHTTP.OK) {
      out.stash();
      this.socket.destroy();
    } else if (down.writableNeedDrain) {
      this.socket.pause();
      down.once('drain', this.resumeRead);
    }
  }

  /** The upstream closed its side: that ends a close-delimited body. */
  private onEnd(): void {
    const c = this.client;
    if (c === null || !this.headSent) return; // 'close' follows and reports the failure
    c.socket.cork();
    const ret = this.parser.finish();
    flush(c.send);
    c.socket.uncork();
    if (ret === LLHTTP.PAUSED && this.done) this.finish(c, true);
  }

  /** The response is complete: the client goes on, the socket goes back to the pool or closes. */
  private finish(c: Client, broken: boolean): void {
    this.client = null;
    if (this.keepAlive && !broken && c.requestDone) {
      this.parser.resume();
      this.origin.release(this);
    } else this.socket.destroy();
    c.exchangeDone();
  }

  private onClose(): void {
    this.origin.remove(this);
    this.parser.free();
    const c = this.client;
    this.client = null;
    if (c !== null) c.upstreamFailed(this.headSent);
    else if (!this.connected) {
      // Refused or reset while connecting: the waiter this socket was opened for gets a 502.
      const w = this.origin.nextWaiter();
      if (w !== null) w.upstreamFailed(false);
    }
  }

  onMessageBegin(): number {
    this.head.begin(null);
    this.inHead = true;
    return 0;
  }

  onSpan(chunk: Buffer, from: number, len: number): number {
    this.head.statusSpan(this.parser.statusCode(), chunk, from, len);
    return 0;
  }

  onHeaderField(chunk: Buffer, from: number, len: number): number {
    this.head.field(false, this.parser.statusCode(), chunk, from, len);
    return this.head.tooLarge() ? CB_ERROR : 0;
  }

  onHeaderValue(chunk: Buffer, from: number, len: number): number {
    this.head.value(chunk, from, len);
    return this.head.tooLarge() ? CB_ERROR : 0;
  }

  onHeadersComplete(status: number, _upgrade: boolean, keepAlive: boolean): number {
    const c = this.client!;
    this.inHead = false;
    this.status = status;
    this.keepAlive = keepAlive;
    const informational = status < 200;
    const hasBody = !(c.isHead || informational || status === 204 || status === 304);
    // No Content-Length (chunked or close-delimited upstream): re-chunked to an HTTP/1.1 client,
    // close-delimited to an HTTP/1.0 one (which is closed after every response anyway).
    this.chunked = hasBody && !this.head.sawContentLength && !c.http10;
    this.head.finish(false, status, null, this.chunked, !informational && !c.keepAlive);
    if (!informational) this.headSent = true;
    return c.isHead ? 1 : 0;
  }

  onBody(chunk: Buffer, from: number, len: number): number {
    body(chunk, from, len, this.chunked, this.client!.send);
    return 0;
  }

  onMessageComplete(): number {
    if (this.status < 200) return 0; // 1xx: forwarded; the final response follows
    if (this.chunked) out.putLastChunk();
    this.done = true;
    return LLHTTP.PAUSED;
  }
}

/** One client connection and its request parser; one exchange at a time. */
class Client implements ParserHandler {
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
  inHead: boolean;
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
    this.inHead = false;
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
    if (this.head.partial !== null) {
      out.putAll(this.head.partial);
      this.head.partial = null;
    }
    const ret = this.parser.execute(chunk);
    if (this.inHead && ret === LLHTTP.OK) this.head.partial = out.stash();
    else flush(this.toUpstream);
    if (ret === LLHTTP.PAUSED) {
      if (this.parser.stoppedAt < chunk.length) {
        this.input = chunk.subarray(this.parser.stoppedAt);
        this.socket.pause();
      }
    } else if (ret !== LLHTTP.OK) {
      out.stash();
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
    this.inHead = true;
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
    this.inHead = false;
    if (upgrade || this.parser.method() === CONNECT) {
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
    body(chunk, from, len, this.chunked, this.toUpstream);
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
