// The relay yardstick's upstream side: per upstream, a small pool of keep-alive node:net sockets
// (idle stack, FIFO of waiting clients, a cap), each with an llhttp response parser whose output
// (rewritten head, body re-chunked when the upstream sent no length) goes to the client it serves,
// corked per read. Owns no client sockets: it talks to a `Downstream`. No timeouts, no retries.

import net from 'node:net';
import * as out from './relay-head.ts';
import { LLHTTP, PARSER_TYPE, Parser, type ParserHandler } from './relay-llhttp.ts';

/** Upstream sockets per upstream, as undici-dispatch's Pool `connections`. */
const MAX_PER_ORIGIN = 128;
/** A callback result llhttp turns into a parse error. */
export const CB_ERROR = -1;

/** What an upstream socket needs from the client connection it serves. */
export interface Downstream {
  readonly socket: net.Socket;
  /** Writes to the client. */
  readonly send: (b: Buffer) => void;
  readonly closed: boolean;
  readonly isHead: boolean;
  readonly http10: boolean;
  readonly requestDone: boolean;
  /** The client's keep-alive; cleared when the response must end with the connection. */
  keepAlive: boolean;
  /** `u` is now this client's upstream: send what was kept. */
  attached(u: UpConn): void;
  /** The response is complete; called outside any parse. */
  exchangeDone(): void;
  /** The upstream socket died; `headSent` says whether the client already has a response head. */
  upstreamFailed(headSent: boolean): void;
}

/** One upstream: its idle sockets (a stack: the warmest is reused) and the clients waiting for one. */
export class Origin {
  readonly host: string;
  readonly port: number;
  readonly idle: UpConn[];
  open: number;
  readonly waiters: (Downstream | null)[];
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
  acquire(c: Downstream): void {
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

  nextWaiter(): Downstream | null {
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

  /** A socket closed: forget it. O(idle) (rare). */
  remove(u: UpConn): void {
    this.open--;
    const i = this.idle.indexOf(u);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

/** One pooled upstream socket and its response parser. */
export class UpConn implements ParserHandler {
  readonly origin: Origin;
  readonly socket: net.Socket;
  readonly parser: Parser;
  readonly head: out.HeadWriter;
  client: Downstream | null;
  connected: boolean;
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

  attach(c: Downstream): void {
    this.client = c;
    this.headSent = false;
    this.done = false;
    c.attached(this);
  }

  private onData(chunk: Buffer): void {
    const c = this.client;
    if (c === null) {
      this.socket.destroy(); // bytes on an idle socket: not a response to anything
      return;
    }
    const down = c.socket;
    down.cork();
    const ret = out.parseChunk(this.parser, this.head, chunk, c.send);
    down.uncork();
    if (ret === LLHTTP.PAUSED && this.done) {
      // Anything after the response is a protocol error from a pipelining-1 upstream.
      this.finish(c, this.parser.stoppedAt < chunk.length);
    } else if (ret !== LLHTTP.OK) this.socket.destroy();
    else if (down.writableNeedDrain) {
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
    out.flush(c.send);
    c.socket.uncork();
    if (ret === LLHTTP.PAUSED && this.done) this.finish(c, true);
  }

  /** The response is complete: the socket goes back to the pool (or closes), the client goes on. */
  private finish(c: Downstream, broken: boolean): void {
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
    out.body(chunk, from, len, this.chunked, this.client!.send);
    return 0;
  }

  onMessageComplete(): number {
    if (this.status < 200) return 0; // 1xx: forwarded; the final response follows
    if (this.chunked) out.putLastChunk();
    this.done = true;
    return LLHTTP.PAUSED;
  }
}
