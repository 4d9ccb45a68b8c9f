// Output bytes for the relay yardstick: one shared slab where every outgoing head is rewritten
// (hop-by-hop headers dropped, X-Forwarded-For appended, framing headers re-added) and small
// bodies are copied after their head, so a head and a small body leave as one Buffer. Owns no
// sockets: the relay feeds it llhttp's spans (`parseChunk`) and writes what comes out.

import { LLHTTP, type Parser } from './relay-llhttp.ts';

const SLAB_BYTES = 64 * 1024;
/** Largest head the relay forwards (request → 431, response → 502 above it), as Node's default. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Body pieces up to this size are copied into the slab behind their head instead of written alone. */
export const COPY_BODY_BYTES = 4096;

// The slab: [start, pos) is written but not yet taken. Only one message is built at a time
// (everything runs inside one synchronous parse), so one slab serves every connection.
let buf = Buffer.allocUnsafe(SLAB_BYTES);
let start = 0;
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  // Old slab stays alive while buffers taken from it are still queued on sockets.
  const pending = pos - start;
  const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, pending + n));
  buf.copy(next, 0, start, pos);
  buf = next;
  start = 0;
  pos = pending;
}

/** Appends `len` bytes of `src` from `from`. Byte loop for small spans (no view allocated). */
export function put(src: Buffer, from: number, len: number): void {
  ensure(len);
  if (len <= 64) {
    for (let i = 0; i < len; i++) buf[pos + i] = src[from + i]!;
  } else src.copy(buf, pos, from, from + len);
  pos += len;
}

export function putAll(src: Buffer): void {
  put(src, 0, src.length);
}

/** Bytes written since the last take(). */
export function used(): number {
  return pos - start;
}

/** Drops what was written after `rel` (relative to the last take()). */
export function rewind(rel: number): void {
  pos = start + rel;
}

/** The bytes written since the last take(), as a view into the slab; null when none. */
export function take(): Buffer | null {
  if (pos === start) return null;
  const b = buf.subarray(start, pos);
  start = pos;
  return b;
}

/** Copies out and drops the unfinished head (its parse continues with the next chunk). */
export function stash(): Buffer | null {
  if (pos === start) return null;
  const b = Buffer.from(buf.subarray(start, pos));
  pos = start;
  return b;
}

const CRLF = Buffer.from('\r\n');
const COLON_SP = Buffer.from(': ');
const SP_HTTP11_CRLF = Buffer.from(' HTTP/1.1\r\n');
const CHUNKED_LINE = Buffer.from('Transfer-Encoding: chunked\r\n');
const CLOSE_LINE = Buffer.from('Connection: close\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const statusPrefix: Buffer[] = [];

/** What a header name is to the relay. */
export const HeaderKind = { Keep: 0, HopByHop: 1, TransferEncoding: 2, ForwardedFor: 3, ContentLength: 4 } as const;

const NAMES: [string, number][] = [
  ['connection', HeaderKind.HopByHop],
  ['keep-alive', HeaderKind.HopByHop],
  ['proxy-connection', HeaderKind.HopByHop],
  ['te', HeaderKind.HopByHop],
  ['trailer', HeaderKind.HopByHop],
  ['upgrade', HeaderKind.HopByHop],
  ['transfer-encoding', HeaderKind.TransferEncoding],
  ['x-forwarded-for', HeaderKind.ForwardedFor],
  ['content-length', HeaderKind.ContentLength],
];
/** Known names by length (lower-case bytes), so most headers are ruled out by length alone. */
const BY_LENGTH: { name: Buffer; kind: number }[][] = [];
for (const [n, kind] of NAMES) (BY_LENGTH[n.length] ??= []).push({ name: Buffer.from(n), kind });

/** Kind of the header name in `b[from, from + len)`, ASCII case-insensitive (RFC 9110 §5.1). O(len). */
export function classify(b: Buffer, from: number, len: number): number {
  const cands = BY_LENGTH[len];
  if (cands === undefined) return HeaderKind.Keep;
  for (let c = 0; c < cands.length; c++) {
    const name = cands[c]!.name;
    let i = 0;
    while (i < len && (b[from + i]! | 0x20) === name[i]) i++;
    if (i === len) return cands[c]!.kind;
  }
  return HeaderKind.Keep;
}

const Line = { None: 0, Open: 1, Done: 2 } as const;
const Hdr = { None: 0, Field: 1, Value: 2 } as const;

/**
 * Rewrites one message head into the slab as llhttp's spans arrive: start line as HTTP/1.1,
 * hop-by-hop headers (RFC 9110 §7.6.1: Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Transfer-Encoding, Upgrade) dropped, `xff` appended to X-Forwarded-For or added as a new one.
 * One per parser; all state is reset by `begin()`. Allocates nothing per header.
 */
export class HeadWriter {
  line: number;
  hdr: number;
  /** Slab offset (relative to the last take) where the current header line starts. */
  fieldRel: number;
  kind: number;
  sawTransferEncoding: boolean;
  sawContentLength: boolean;
  sawForwardedFor: boolean;
  /** The unfinished head of this parser between two chunks (see `stash`). */
  partial: Buffer | null;
  /** ", <client address>" for requests (appended to X-Forwarded-For), null for responses. */
  xffAppend: Buffer | null;
  /** Between begin() and finish(): the head is being written. */
  open: boolean;

  constructor() {
    this.line = Line.None;
    this.hdr = Hdr.None;
    this.fieldRel = 0;
    this.kind = HeaderKind.Keep;
    this.sawTransferEncoding = false;
    this.sawContentLength = false;
    this.sawForwardedFor = false;
    this.partial = null;
    this.xffAppend = null;
    this.open = false;
  }

  begin(xffAppend: Buffer | null): void {
    this.xffAppend = xffAppend;
    this.open = true;
    this.line = Line.None;
    this.hdr = Hdr.None;
    this.sawTransferEncoding = false;
    this.sawContentLength = false;
    this.sawForwardedFor = false;
  }

  /** Request-line piece: the method on the first call, then the URL bytes. */
  requestSpan(method: Buffer, chunk: Buffer, from: number, len: number): void {
    if (this.line === Line.None) {
      putAll(method);
      this.line = Line.Open;
    }
    put(chunk, from, len);
  }

  /** Status-line piece (the reason phrase); the code is llhttp's. */
  statusSpan(status: number, chunk: Buffer, from: number, len: number): void {
    if (this.line === Line.None) {
      putAll(statusPrefix[status] ?? (statusPrefix[status] = Buffer.from(`HTTP/1.1 ${status} `)));
      this.line = Line.Open;
    }
    put(chunk, from, len);
  }

  /** Ends the start line; for a response without a reason phrase, writes it whole. */
  private endLine(isRequest: boolean, status: number): void {
    if (this.line === Line.Done) return;
    if (isRequest) putAll(SP_HTTP11_CRLF);
    else {
      if (this.line === Line.None) putAll(statusPrefix[status] ?? (statusPrefix[status] = Buffer.from(`HTTP/1.1 ${status} `)));
      putAll(CRLF);
    }
    this.line = Line.Done;
  }

  field(isRequest: boolean, status: number, chunk: Buffer, from: number, len: number): void {
    if (this.hdr === Hdr.Value) this.endHeader();
    if (this.hdr === Hdr.None) {
      this.endLine(isRequest, status);
      this.fieldRel = used();
      this.hdr = Hdr.Field;
    }
    put(chunk, from, len);
  }

  value(chunk: Buffer, from: number, len: number): void {
    if (this.hdr === Hdr.Field) this.startValue();
    if (this.kind === HeaderKind.Keep || this.kind === HeaderKind.ForwardedFor || this.kind === HeaderKind.ContentLength) put(chunk, from, len);
  }

  private startValue(): void {
    const nameLen = used() - this.fieldRel;
    this.kind = classify(buf, start + this.fieldRel, nameLen);
    if (this.kind === HeaderKind.HopByHop || this.kind === HeaderKind.TransferEncoding) {
      if (this.kind === HeaderKind.TransferEncoding) this.sawTransferEncoding = true;
      rewind(this.fieldRel);
    } else {
      if (this.kind === HeaderKind.ContentLength) this.sawContentLength = true;
      putAll(COLON_SP);
    }
    this.hdr = Hdr.Value;
  }

  private endHeader(): void {
    const xffAppend = this.xffAppend;
    if (this.hdr === Hdr.Field) this.startValue();
    if (this.kind !== HeaderKind.HopByHop && this.kind !== HeaderKind.TransferEncoding) {
      // Appended to the first X-Forwarded-For line only (RFC 7239 §7.1 wants the last; a client
      // sending several is outside the bench's traffic).
      if (this.kind === HeaderKind.ForwardedFor && xffAppend !== null && !this.sawForwardedFor) {
        this.sawForwardedFor = true;
        putAll(xffAppend);
      }
      putAll(CRLF);
    }
    this.hdr = Hdr.None;
  }

  /**
   * Ends the head: the last header, then `xffLine` when no X-Forwarded-For was seen (requests),
   * the chunked framing and Connection: close lines as asked, and CRLF.
   */
  finish(isRequest: boolean, status: number, xffLine: Buffer | null, chunked: boolean, close: boolean): void {
    if (this.hdr !== Hdr.None) this.endHeader();
    this.endLine(isRequest, status);
    if (xffLine !== null && !this.sawForwardedFor) putAll(xffLine);
    if (chunked) putAll(CHUNKED_LINE);
    if (close) putAll(CLOSE_LINE);
    putAll(CRLF);
    this.open = false;
  }

  /** True once the head is larger than MAX_HEAD_BYTES. */
  tooLarge(): boolean {
    return used() > MAX_HEAD_BYTES;
  }
}

/** Appends one chunk of a chunked body (size line, data, CRLF); data above COPY_BODY_BYTES is returned to be written as is. */
export function putChunk(chunk: Buffer, from: number, len: number): Buffer | null {
  const size = `${len.toString(16)}\r\n`;
  ensure(size.length);
  pos += buf.write(size, pos, 'latin1');
  if (len <= COPY_BODY_BYTES) {
    put(chunk, from, len);
    putAll(CRLF);
    return null;
  }
  return chunk.subarray(from, from + len);
}


export function putLastChunk(): void {
  putAll(LAST_CHUNK);
}

/** Writes what the slab holds to `send`. */
export function flush(send: (b: Buffer) => void): void {
  const b = take();
  if (b !== null) send(b);
}

/** One piece of body (re-chunked when `chunked`): small pieces are copied behind the head, large ones written as they are. */
export function body(chunk: Buffer, from: number, len: number, chunked: boolean, send: (b: Buffer) => void): void {
  if (chunked) {
    const big = putChunk(chunk, from, len);
    if (big === null) return;
    flush(send);
    send(big);
    putAll(CRLF);
  } else if (len <= COPY_BODY_BYTES) put(chunk, from, len);
  else {
    flush(send);
    send(chunk.subarray(from, from + len));
  }
}

/**
 * Parses `chunk`, sending the output of the parse to `send`, except an unfinished head: that is
 * kept in `head.partial` and put back before the next chunk. Returns llhttp's errno (on an error
 * the partial output is dropped). The slab is empty again when this returns.
 */
export function parseChunk(parser: Parser, head: HeadWriter, chunk: Buffer, send: (b: Buffer) => void): number {
  if (head.partial !== null) {
    putAll(head.partial);
    head.partial = null;
  }
  const ret = parser.execute(chunk);
  if (ret !== LLHTTP.OK && ret !== LLHTTP.PAUSED) stash();
  else if (head.open) head.partial = stash();
  else flush(send);
  return ret;
}
