// A raw `net` upstream for edge tests: it records every byte each connection sends, splits the
// bytes into requests with a strict HTTP/1.1 parser of its own (not llhttp, not undici: an
// independent reading), and answers each request in order with a small valid response or with
// whatever bytes a test configures (malformed responses included). Anything that is not a
// well-formed request (one valid Host; no body, one Content-Length or `Transfer-Encoding: chunked`) is a
// violation: recorded, answered 400, and the connection closed. A request with Connection: close
// is the last one read on its connection. Closed after each test.

import net from 'node:net';
import { onTestFinished } from 'vitest';

export interface RecordedRequest {
  /** Index of the connection it came on (0 = first accepted), and its order on that connection. */
  connection: number;
  index: number;
  method: string;
  target: string;
  version: string;
  /** [name, value] in order, as received. */
  headers: [string, string][];
  framing: 'none' | 'content-length' | 'chunked';
  body: Buffer;
}

export interface Violation {
  connection: number;
  /** Byte offset on the connection where the bad request starts. */
  offset: number;
  reason: string;
  /** Up to 200 bytes from `offset`, latin1. */
  excerpt: string;
}

/** What the upstream answers: raw bytes, optionally closing the connection after them. */
export type Reply = string | Buffer | { bytes: string | Buffer; close?: boolean } | null;
export type Responder = (req: RecordedRequest) => Reply;

export interface RecordingUpstream {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly violations: Violation[];
  /** Connections closed while a request was unfinished (the sender aborted mid-request). */
  readonly incomplete: { connection: number; bytes: number }[];
  /** Connections accepted so far. */
  connections(): number;
  /** Connections open now. */
  openConnections(): number;
  /** Every byte received on connection `i`. */
  received(i: number): Buffer;
  /** Answers each request (default: okReply). Null = no answer (the request hangs). */
  respond: Responder;
  close(): Promise<void>;
}

/** 200 with Content-Length whose body names the request: its x-test-id, or its target. */
export function okReply(req: RecordedRequest): string {
  const id = header(req, 'x-test-id') ?? req.target;
  const body = `ok ${id}`;
  return `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** The first value of header `name` (case-insensitive), or undefined. */
export function header(req: RecordedRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  return req.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** Starts a recording upstream on 127.0.0.1:0 (or `host`), closed when the test finishes. */
export async function startRecordingUpstream(opts: { respond?: Responder; host?: string } = {}): Promise<RecordingUpstream> {
  const received: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const up: RecordingUpstream = {
    url: '',
    requests: [],
    violations: [],
    incomplete: [],
    connections: () => received.length,
    openConnections: () => sockets.size,
    received: (i) => Buffer.concat(received[i] ?? []),
    respond: opts.respond ?? okReply,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((socket) => {
    const connection = received.length;
    const chunks: Buffer[] = [];
    received.push(chunks);
    sockets.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    let consumed = 0; // bytes of this connection already parsed into requests
    let index = 0;
    let broken = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (!broken && pending.length > 0) up.incomplete.push({ connection, bytes: pending.length });
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (broken) return;
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      for (;;) {
        const r = parseRequest(pending);
        if (r === null) return;
        if ('reason' in r) {
          broken = true;
          up.violations.push({ connection, offset: consumed, reason: r.reason, excerpt: pending.subarray(0, 200).toString('latin1') });
          socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
          return;
        }
        const req: RecordedRequest = { connection, index: index++, ...r.request };
        up.requests.push(req);
        pending = pending.subarray(r.length);
        consumed += r.length;
        const reply = up.respond(req);
        if (reply === null) continue;
        const bytes = typeof reply === 'string' || Buffer.isBuffer(reply) ? reply : reply.bytes;
        // The request said Connection: close, or the test asked to close: nothing more is read.
        if ((typeof reply === 'object' && !Buffer.isBuffer(reply) && reply.close) || /\bclose\b/i.test(header(req, 'connection') ?? '')) {
          broken = true;
          socket.end(bytes);
          return;
        }
        socket.write(bytes);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, opts.host ?? '127.0.0.1', () => r()));
  (up as { url: string }).url = `http://${opts.host ?? '127.0.0.1'}:${(server.address() as net.AddressInfo).port}`;
  onTestFinished(() => up.close());
  return up;
}

type Parsed = { request: Omit<RecordedRequest, 'connection' | 'index'>; length: number } | { reason: string } | null;

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field value: VCHAR, obs-text, SP, HTAB; no leading or trailing whitespace after trimming OWS. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^\/[\x21-\x7e]*$/;
/** RFC 9110 §7.2 Host = uri-host [ ":" port ]: a reg-name or bracketed IPv6, written out independently of src/. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(:\d{1,5})?$/;
const MAX_HEAD = 64 * 1024;

/**
 * Parses one request from the start of `buf` (RFC 9112, strictly: CRLF only, no obs-fold, one
 * Host, framing as in §6.3 with no ambiguity). Null = incomplete; `reason` = not well-formed.
 */
export function parseRequest(buf: Buffer): Parsed {
  const headEnd = buf.indexOf('\r\n\r\n');
  const headPart = buf.subarray(0, headEnd === -1 ? Math.min(buf.length, MAX_HEAD + 4) : headEnd).toString('latin1');
  if (/(^|[^\r])\n/.test(headPart)) return { reason: 'bare LF in the head' };
  if (/\r[^\n]/.test(headPart)) return { reason: 'bare CR in the head' };
  if (headEnd === -1) return buf.length > MAX_HEAD ? { reason: 'head larger than 64 KiB' } : null;

  const lines = headPart.split('\r\n');
  const m = /^([^ ]+) ([^ ]+) (HTTP\/1\.1)$/.exec(lines[0]!);
  if (m === null) return { reason: `bad request line ${JSON.stringify(lines[0])}` };
  const [, method, target, version] = m as unknown as [string, string, string, string];
  if (!TCHAR.test(method)) return { reason: 'bad method' };
  if (!TARGET.test(target)) return { reason: `target not in origin-form: ${JSON.stringify(target)}` };

  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) return { reason: 'obs-fold' };
    const colon = line.indexOf(':');
    if (colon <= 0) return { reason: `field line without a name: ${JSON.stringify(line)}` };
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TCHAR.test(name)) return { reason: `bad field name ${JSON.stringify(name)}` };
    if (!FIELD_VALUE.test(value)) return { reason: `bad field value for ${name}` };
    headers.push([name, value]);
  }
  const named = (n: string): string[] => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  if (named('host').length !== 1) return { reason: `${named('host').length} Host fields` };
  if (!HOST.test(named('host')[0]!)) return { reason: `Host not a host[:port]: ${JSON.stringify(named('host')[0])}` };
  if (headers.some(([k]) => /^(transfer_encoding|content_length)$/i.test(k))) return { reason: 'framing look-alike field' };
  const te = named('transfer-encoding');
  const cl = named('content-length');
  if (te.length > 0 && cl.length > 0) return { reason: 'Content-Length with Transfer-Encoding' };
  if (te.length > 1 || (te.length === 1 && te[0]!.toLowerCase() !== 'chunked')) return { reason: `Transfer-Encoding ${JSON.stringify(te)}` };
  if (cl.length > 1 || (cl.length === 1 && !/^\d{1,15}$/.test(cl[0]!))) return { reason: `Content-Length ${JSON.stringify(cl)}` };

  const bodyStart = headEnd + 4;
  const request = { method, target, version, headers };
  if (cl.length === 1) {
    const n = Number(cl[0]);
    if (buf.length < bodyStart + n) return null;
    return { request: { ...request, framing: 'content-length', body: Buffer.from(buf.subarray(bodyStart, bodyStart + n)) }, length: bodyStart + n };
  }
  if (te.length === 0) return { request: { ...request, framing: 'none', body: Buffer.alloc(0) }, length: bodyStart };
  const chunked = parseChunked(buf, bodyStart);
  if (chunked === null || 'reason' in chunked) return chunked;
  return { request: { ...request, framing: 'chunked', body: chunked.body }, length: chunked.end };
}

/** Strict chunked body from `at`: hex sizes without extensions or spaces, CRLFs, no trailers. */
function parseChunked(buf: Buffer, at: number): { body: Buffer; end: number } | { reason: string } | null {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol === -1) return buf.length - i > 32 ? { reason: 'chunk size line too long' } : null;
    const line = buf.subarray(i, eol).toString('latin1');
    if (!/^[0-9a-fA-F]{1,15}$/.test(line)) return { reason: `bad chunk size line ${JSON.stringify(line)}` };
    const size = parseInt(line, 16);
    i = eol + 2;
    if (size === 0) {
      if (buf.length < i + 2) return null;
      if (buf[i] !== 0x0d || buf[i + 1] !== 0x0a) return { reason: 'trailers or junk after the last chunk' };
      return { body: Buffer.concat(parts), end: i + 2 };
    }
    if (buf.length < i + size + 2) return null;
    parts.push(Buffer.from(buf.subarray(i, i + size)));
    if (buf[i + size] !== 0x0d || buf[i + size + 1] !== 0x0a) return { reason: 'chunk data not followed by CRLF' };
    i += size + 2;
  }
}
