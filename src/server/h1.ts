// The HTTP/1.1 adapters between node:http and the pipeline's Downstream contract: H1Response
// (the data-plane ServerResponse class itself, so a request costs no extra object) and
// H1Upgrade (a request that asked to switch protocols, answered on the raw socket). They
// translate calls; they decide nothing about routing, retries or health.

import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { ErrorCode } from '../core/errors.ts';
import { clientAddressOf, type CompiledRules } from '../proxy/headers.ts';
import { rawErrorResponse, respondError } from '../proxy/respond.ts';
import type { ClientCloseListener, Downstream } from './downstream.ts';
import type { RequestHead } from './edge-checks.ts';

function versionOf(req: IncomingMessage): number {
  return req.httpVersionMajor * 10 + req.httpVersionMinor;
}

function isSecure(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
}

/**
 * The ServerResponse of every data-plane request (installed with the `ServerResponse` server
 * option), and the request's Downstream. Request fields read through to `this.req`.
 */
export class H1Response extends ServerResponse implements Downstream {
  /** Told when the client leaves early; set by watch(). */
  closeListener: ClientCloseListener | null = null;

  get method(): string {
    return this.req.method ?? 'GET';
  }
  get target(): string {
    return this.req.url ?? '';
  }
  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }
  get version(): number {
    return versionOf(this.req);
  }
  get clientAddress(): string {
    return clientAddressOf(this.req.socket?.remoteAddress);
  }
  get secure(): boolean {
    return isSecure(this.req);
  }
  get body(): Readable {
    return this.req;
  }
  get head(): RequestHead {
    return this.req;
  }
  get upgrade(): string | null {
    return null;
  }
  get hasBody(): boolean | null {
    return null;
  }
  get headSent(): boolean {
    return this.headersSent;
  }
  get gone(): boolean {
    return (this.destroyed && !this.writableFinished) || (this.req.destroyed && !this.req.complete);
  }

  watch(listener: ClientCloseListener): void {
    this.closeListener = listener;
    this.on('close', onResponseClose);
  }

  sendHead(status: number, headers: string[]): void {
    // A request that asked to upgrade and is served plain: Node reads nothing more after it.
    // (rawHeaders, not req.headers: that getter builds an object of every field on first use.)
    if (hasField(this.req.rawHeaders, 'upgrade') && !hasField(headers, 'connection')) headers.push('connection', 'close');
    this.writeHead(status, headers);
    // Coalesce the head, a small body and its end into one write (one syscall): undici usually
    // delivers all three in the same tick. Uncorked on the next tick, so streaming is unaffected.
    this.cork();
    process.nextTick(uncork, this);
  }

  sendChunk(chunk: Buffer): boolean {
    return this.write(chunk);
  }

  whenDrained(fn: () => void): void {
    this.once('drain', fn);
  }

  sendEnd(): void {
    this.end();
  }

  sendError(code: ErrorCode, close: boolean, rules: CompiledRules | null = null): void {
    // A refusal that closes the connection condemns it: Node may already have parsed requests
    // pipelined behind this one, and none of them is served.
    if (close && this.req.socket !== null) condemn(this.req.socket);
    respondError(this, code, close, rules);
  }

  abort(err: Error): void {
    this.destroy(err);
  }

  tunnel(): void {
    throw new Error('not an upgrade request');
  }
}

/** Sockets whose connection was refused (an error answered with `Connection: close`). */
const condemned = new WeakSet<object>();

/** Marks a client connection as refused: nothing more it sends is served. */
export function condemn(socket: object): void {
  condemned.add(socket);
}

/** Whether the connection was refused (the listener drops later requests on it). */
export function isCondemned(socket: object): boolean {
  return condemned.has(socket);
}

/** Whether a flat [name, value, …] list has a field `lower` (any case). O(fields), allocates only on a length match. */
function hasField(headers: readonly string[], lower: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === lower.length && (name === lower || name.toLowerCase() === lower)) return true;
  }
  return false;
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

/** One shared 'close' listener for every response, instead of a closure per request. */
function onResponseClose(this: H1Response): void {
  if (!this.writableFinished) this.closeListener?.onClientClose();
}

/** The status line and header block of a response written straight to a socket. */
function headBlock(status: number, headers: readonly string[]): string {
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

/**
 * A request that asked to switch protocols (node:http's 'upgrade' event: no ServerResponse, the
 * socket is ours). A 101 from the upstream becomes a tunnel; any other answer is relayed as a
 * response that closes the connection, since the client's side of it is no longer HTTP-framed.
 */
export class H1Upgrade implements Downstream {
  readonly method: string;
  readonly target: string;
  readonly rawHeaders: readonly string[];
  readonly version: number;
  readonly clientAddress: string;
  readonly secure: boolean;
  readonly head: RequestHead;
  readonly body: Readable;
  readonly upgrade: string | null;
  readonly hasBody: boolean | null;
  headSent: boolean;
  private readonly socket: Duplex;
  /** Bytes the client sent after its request head (already the new protocol). */
  private readonly early: Buffer;
  /** Open tunnels of the listener, for metrics and shutdown. */
  private readonly tunnels: Set<Duplex>;

  /** `upgrade`: the protocol asked for (websocket), or null to serve the request as a plain one. */
  constructor(req: IncomingMessage, socket: Duplex, head: Buffer, tunnels: Set<Duplex>, upgrade: string | null) {
    this.method = req.method ?? 'GET';
    this.target = req.url ?? '';
    this.rawHeaders = req.rawHeaders;
    this.version = versionOf(req);
    this.clientAddress = clientAddressOf(req.socket?.remoteAddress);
    this.secure = isSecure(req);
    this.head = req;
    this.body = req;
    this.upgrade = upgrade;
    this.hasBody = null;
    this.headSent = false;
    this.socket = socket;
    this.early = head;
    this.tunnels = tunnels;
    socket.on('error', ignore); // errors end in 'close'
  }

  get gone(): boolean {
    return this.socket.destroyed;
  }

  watch(listener: ClientCloseListener): void {
    this.socket.once('close', () => listener.onClientClose());
  }

  sendHead(status: number, headers: string[]): void {
    headers.push('connection', 'close');
    this.headSent = true;
    this.socket.write(headBlock(status, headers));
  }

  sendChunk(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  whenDrained(fn: () => void): void {
    this.socket.once('drain', fn);
  }

  sendEnd(): void {
    this.socket.end();
  }

  sendError(code: ErrorCode, _close = true, rules: CompiledRules | null = null): void {
    if (this.headSent || !this.socket.writable) {
      this.socket.destroy();
      return;
    }
    this.headSent = true;
    condemn(this.socket);
    this.socket.end(rawErrorResponse(code, rules));
  }

  abort(): void {
    this.socket.destroy();
  }

  tunnel(status: number, headers: string[], upstream: Duplex, onClosed: () => void): void {
    const client = this.socket;
    if (client.destroyed) {
      upstream.destroy();
      onClosed();
      return;
    }
    this.headSent = true;
    client.write(headBlock(status, headers));
    if (this.early.length > 0) upstream.write(this.early);
    this.tunnels.add(client);
    let open = true;
    const teardown = (): void => {
      if (!open) return;
      open = false;
      this.tunnels.delete(client);
      client.destroy();
      upstream.destroy();
      onClosed();
    };
    // Either side ending ends the tunnel: the server socket is half-open capable, so a client
    // FIN alone would otherwise leave both sockets open.
    upstream.on('error', teardown);
    upstream.on('end', teardown);
    upstream.on('close', teardown);
    client.on('end', teardown);
    client.on('close', teardown);
    upstream.pipe(client);
    client.pipe(upstream);
  }
}

function ignore(): void {}
