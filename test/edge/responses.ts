// The client side of the edge tests: raw-socket exchanges with a deadline, and a strict parser
// of the HTTP/1.1 responses a proxy sends back (so a test can say "well-formed responses, then
// a close", never "some bytes came back").

import net from 'node:net';

export interface ParsedResponse {
  status: number;
  reason: string;
  headers: [string, string][];
  body: Buffer;
}

export interface ParsedStream {
  /** Complete responses, in order (1xx interim responses included). */
  responses: ParsedResponse[];
  /** Bytes after the last complete response (an aborted response, if any). */
  rest: number;
  /** Why the bytes are not HTTP/1.1 responses, or null. */
  malformed: string | null;
}

/** First value of `name` (case-insensitive) in a parsed response. */
export function responseHeader(r: ParsedResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  return r.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/**
 * Splits `buf` into HTTP/1.1 responses (none of them to HEAD: the parser cannot know). A body
 * is framed by Content-Length, chunked, or, without either, runs to the end when `closed`.
 */
export function parseResponses(buf: Buffer, closed = true): ParsedStream {
  const responses: ParsedResponse[] = [];
  let at = 0;
  for (;;) {
    if (at === buf.length) return { responses, rest: 0, malformed: null };
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd === -1) {
      const partial = buf.subarray(at).toString('latin1');
      if (!partial.startsWith('HTTP/1.1 ') && !'HTTP/1.1 '.startsWith(partial)) return { responses, rest: buf.length - at, malformed: `not a status line: ${JSON.stringify(partial.slice(0, 40))}` };
      return { responses, rest: buf.length - at, malformed: null };
    }
    const lines = buf.subarray(at, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 ([1-5]\d\d) ([\t\x20-\x7e\x80-\xff]*)$/.exec(lines[0]!);
    if (m === null) return { responses, rest: buf.length - at, malformed: `bad status line ${JSON.stringify(lines[0])}` };
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const hm = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/.exec(line);
      if (hm === null) return { responses, rest: buf.length - at, malformed: `bad field line ${JSON.stringify(line)}` };
      headers.push([hm[1]!, hm[2]!]);
    }
    const status = Number(m[1]);
    const r: ParsedResponse = { status, reason: m[2]!, headers, body: Buffer.alloc(0) };
    const cl = headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v);
    const te = headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v.toLowerCase());
    if (cl.length > 0 && te.length > 0) return { responses, rest: buf.length - at, malformed: 'Content-Length with Transfer-Encoding' };
    if (cl.length > 1 || (cl.length === 1 && !/^\d+$/.test(cl[0]!))) return { responses, rest: buf.length - at, malformed: `Content-Length ${JSON.stringify(cl)}` };
    let end = headEnd + 4;
    if (status < 200 || status === 204 || status === 304) {
      // no body
    } else if (cl.length === 1) {
      const n = Number(cl[0]);
      if (buf.length < end + n) return { responses, rest: buf.length - at, malformed: null };
      r.body = buf.subarray(end, end + n);
      end += n;
    } else if (te.length > 0) {
      if (te.length !== 1 || te[0] !== 'chunked') return { responses, rest: buf.length - at, malformed: `Transfer-Encoding ${JSON.stringify(te)}` };
      const c = dechunk(buf, end);
      if (typeof c === 'string') return { responses, rest: buf.length - at, malformed: c };
      if (c === null) return { responses, rest: buf.length - at, malformed: null };
      r.body = c.body;
      end = c.end;
    } else {
      // Delimited by the close: complete only once the connection closed.
      if (!closed) return { responses, rest: buf.length - at, malformed: null };
      r.body = buf.subarray(end);
      end = buf.length;
    }
    responses.push(r);
    at = end;
  }
}

function dechunk(buf: Buffer, at: number): { body: Buffer; end: number } | string | null {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol === -1) return null;
    const line = buf.subarray(i, eol).toString('latin1');
    if (!/^[0-9a-fA-F]+$/.test(line)) return `bad chunk size ${JSON.stringify(line)}`;
    const size = parseInt(line, 16);
    i = eol + 2;
    if (size === 0) {
      // Trailers (none expected from a proxy), then the empty line.
      const endOfTrailers = buf.indexOf('\r\n\r\n', i - 2);
      if (endOfTrailers === -1) return null;
      return { body: Buffer.concat(parts), end: endOfTrailers + 4 };
    }
    if (buf.length < i + size + 2) return null;
    parts.push(buf.subarray(i, i + size));
    if (buf[i + size] !== 0x0d || buf[i + size + 1] !== 0x0a) return 'chunk not followed by CRLF';
    i += size + 2;
  }
}

export interface RawExchange {
  bytes: Buffer;
  text: string;
  /** The server closed the connection before the deadline. */
  closed: boolean;
  parsed: ParsedStream;
}

/**
 * Writes `bytes` (one write, or one per element) on a new connection to `url` and reads until
 * the server closes it, or, with `responses: n`, until n final (≥ 200) responses are complete.
 * Never waits longer than `timeoutMs` (then `closed` is false). `halfClose` sends FIN after.
 */
export function rawExchange(
  url: string,
  bytes: string | Buffer | readonly (string | Buffer)[],
  opts: { responses?: number; timeoutMs?: number; halfClose?: boolean } = {},
): Promise<RawExchange> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const s = net.connect(Number(u.port), u.hostname, () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) s.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : (b as Buffer));
      if (opts.halfClose) s.end();
    });
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const all = Buffer.concat(chunks);
      resolve({ bytes: all, text: all.toString('latin1'), closed, parsed: parseResponses(all, closed) });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.responses !== undefined) {
        const p = parseResponses(Buffer.concat(chunks), false);
        if (p.responses.filter((r) => r.status >= 200).length >= opts.responses) finish(false);
      }
    });
    s.on('close', () => finish(true));
    s.on('error', () => {});
  });
}
