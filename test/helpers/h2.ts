// HTTP/2 and TLS clients for tests against a TLS listener: an h2 session trusting the test CA
// (closed after the test), one request that reads the whole response (never hangs), a raw
// frame-writing client for attacks Node's client cannot make, and a TLS listen entry for startProxy.

import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import tls from 'node:tls';
import { onTestFinished } from 'vitest';
import type { CertFiles } from './certs.ts';

export interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Trailers the response carried, or null. */
  trailers: IncomingHttpHeaders | null;
}

export interface H2ConnectOptions {
  /** PEM of the CA to trust (verification on); absent = no verification. */
  readonly ca?: string;
  readonly servername?: string;
  readonly settings?: http2.Settings;
}

/** An h2 session to `url` (https://127.0.0.1:PORT), connected; destroyed after the test. */
export async function h2Connect(url: string, opts: H2ConnectOptions = {}): Promise<ClientHttp2Session> {
  const session = http2.connect(url, {
    ...(opts.ca === undefined ? { rejectUnauthorized: false } : { ca: opts.ca }),
    servername: opts.servername ?? 'localhost',
    ...(opts.settings === undefined ? {} : { settings: opts.settings }),
  });
  session.on('error', () => {});
  onTestFinished(() => {
    if (!session.destroyed) session.destroy();
  });
  // Resolved once the server's SETTINGS arrived (remoteSettings are defaults before that).
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
    setTimeout(() => reject(new Error(`h2 connect to ${url} timed out`)), 5000).unref();
  });
  return session;
}

/**
 * One request on `session`: `headers` (`:path` at least; `:method` defaults to GET), an optional
 * body (written whole, then ended). Resolves with the whole response; rejects on a stream error
 * or after `timeoutMs`.
 */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body: Buffer | null = null, timeoutMs = 10_000): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === null });
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`h2 request ${String(headers[':path'])} timed out`));
    }, timeoutMs);
    let status = 0;
    let head: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      head = h;
      status = Number(h[':status']);
    });
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      clearTimeout(timer);
      resolve({ status, headers: head, body: Buffer.concat(chunks), trailers });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body !== null) req.end(body);
  });
}

/** A TLS `listen` entry for startProxy's config object, on 127.0.0.1:0. */
export function tlsListen(certificates: readonly CertFiles[], over: { http2?: boolean; minVersion?: string } = {}): Record<string, unknown> {
  return {
    address: '127.0.0.1:0',
    tls: { certificates: certificates.map((c) => ({ cert: c.certFile, key: c.keyFile })), ...over },
  };
}

/** One HTTP/2 frame: 9-byte header (length, type, flags, stream id) + payload. */
export function h2Frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

export const FrameType = { Data: 0, Headers: 1, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, WindowUpdate: 8 } as const;

/**
 * A raw HTTP/2 client over TLS that writes frames itself, as attack tools do (Node's own client
 * cannot send HEADERS and RST_STREAM back to back, nor flood). It reads every frame the server
 * sends (GOAWAY codes kept) unless paused. Destroyed after the test.
 */
export class RawH2 {
  readonly socket: tls.TLSSocket;
  /** Error codes of the GOAWAY frames received, in order. */
  readonly goaways: number[] = [];
  /** [stream id, error code] of the RST_STREAM frames received, in order. */
  readonly resets: [number, number][] = [];
  /** Types of every frame received so far. */
  readonly received = new Set<number>();
  closed = false;
  private nextStream = 1;
  private buf: Buffer = Buffer.alloc(0);

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.once('close', () => (this.closed = true));
    socket.on('data', (d: Buffer) => this.read(d));
  }

  /** Connects with ALPN h2 and sends the preface and an empty SETTINGS frame. */
  static async connect(port: number): Promise<RawH2> {
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' });
    onTestFinished(() => void socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN gave ${String(socket.alpnProtocol)}, not h2`);
    socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    socket.write(h2Frame(FrameType.Settings, 0, 0));
    return new RawH2(socket);
  }

  /**
   * GET `path` on a new stream (HPACK: static-table :method GET and :scheme https, literal
   * :authority localhost and :path, never indexed). With `cancel`, RST_STREAM(CANCEL) follows in
   * the same write. Returns the stream id.
   */
  get(path: string, cancel = false): number {
    const id = this.nextStream;
    this.nextStream += 2;
    const headers = h2Frame(FrameType.Headers, 0x5 /* END_STREAM | END_HEADERS */, id, this.headerBlock(0x82 /* :method GET */, path));
    this.socket.write(cancel ? Buffer.concat([headers, this.rstFrame(id)]) : headers);
    return id;
  }

  /** POST `path` on a new stream whose body follows in data() frames. Returns the stream id. */
  post(path: string): number {
    const id = this.nextStream;
    this.nextStream += 2;
    this.socket.write(h2Frame(FrameType.Headers, 0x4 /* END_HEADERS */, id, this.headerBlock(0x83 /* :method POST */, path)));
    return id;
  }

  /** Body bytes on stream `id` in DATA frames of at most 16 KiB; `end` sets END_STREAM on the last. */
  data(id: number, body: Buffer, end: boolean): void {
    for (let at = 0; at < body.length; at += 16_384) {
      const last = at + 16_384 >= body.length;
      this.socket.write(h2Frame(FrameType.Data, last && end ? 0x1 : 0, id, body.subarray(at, at + 16_384)));
    }
  }

  private headerBlock(method: number, path: string): Buffer {
    const authority = Buffer.from('localhost');
    const p = Buffer.from(path);
    return Buffer.concat([Buffer.from([method, 0x87, 0x01, authority.length]), authority, Buffer.from([0x04, p.length]), p]);
  }

  /** RST_STREAM(CANCEL) for `id`. */
  cancel(id: number): void {
    this.socket.write(this.rstFrame(id));
  }

  private rstFrame(id: number): Buffer {
    const code = Buffer.alloc(4);
    code.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
    return h2Frame(FrameType.RstStream, 0, id, code);
  }

  private read(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      this.received.add(this.buf[3]!);
      if (this.buf[3] === FrameType.GoAway) this.goaways.push(this.buf.readUInt32BE(13));
      if (this.buf[3] === FrameType.RstStream) this.resets.push([this.buf.readUInt32BE(5) & 0x7fffffff, this.buf.readUInt32BE(9)]);
      this.buf = this.buf.subarray(9 + len);
    }
  }
}
