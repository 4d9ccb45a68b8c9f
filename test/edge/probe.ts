// Probe harness for what Node's own HTTP machinery does with hostile bytes: a bare node:http
// server that records every event (request handed to the handler, clientError, upgrade,
// connect), and a raw-socket sender. Used by llhttp-probes.test.ts; closed after each test.

import http from 'node:http';
import net from 'node:net';
import { onTestFinished } from 'vitest';
import { waitFor } from '../helpers/wait.ts';

export type ProbeEvent =
  | {
      kind: 'request';
      method: string;
      url: string;
      version: string;
      rawHeaders: string[];
      /** The body as read (latin1), or null while unread / when reading failed. */
      body: string | null;
      /** The error the request stream ended with (e.g. ECONNRESET when the body was bad). */
      bodyError: string | null;
      trailers: string[];
      /** Node's `req.upgrade`. */
      upgrade: boolean;
    }
  | { kind: 'clientError'; code: string; reason: string | undefined }
  | { kind: 'upgrade'; url: string; upgrade: string | undefined; headBytes: number }
  | { kind: 'connect'; url: string };

export interface ProbeResult {
  /** Everything the server wrote back, latin1. */
  response: string;
  /** Status codes of the responses in `response`, in order. */
  statuses: number[];
  events: ProbeEvent[];
}

export interface ProbeServer {
  readonly server: http.Server;
  /** Sends `bytes` on a new connection, half-closes it, and waits until the server is done with it. */
  send(bytes: string | Buffer): Promise<ProbeResult>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Reads the whole body, then answers 200 "ok". */
export const readThenOk: Handler = (req, res) => {
  req.on('end', () => res.end('ok'));
  req.resume();
};

/**
 * A node:http server on 127.0.0.1:0 with `options` (insecureHTTPParser: false unless given),
 * answering with `handler` (default readThenOk). clientError answers 400 and closes, as Node's
 * default does, after recording err.code and err.reason.
 */
export async function startProbeServer(
  options: http.ServerOptions = {},
  handler: Handler = readThenOk,
  setup?: (server: http.Server) => void,
): Promise<ProbeServer> {
  let events: ProbeEvent[] = [];
  const open = new Set<net.Socket>();
  const server = http.createServer({ insecureHTTPParser: false, ...options }, (req, res) => {
    const ev: ProbeEvent & { kind: 'request' } = {
      kind: 'request',
      method: req.method ?? '',
      url: req.url ?? '',
      version: req.httpVersion,
      rawHeaders: req.rawHeaders,
      body: null,
      bodyError: null,
      trailers: [],
      upgrade: (req as http.IncomingMessage & { upgrade: boolean }).upgrade,
    };
    events.push(ev);
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', () => {
      ev.body = body;
      ev.trailers = req.rawTrailers;
    });
    req.on('error', (e: NodeJS.ErrnoException) => (ev.bodyError = e.code ?? e.message));
    handler(req, res);
  });
  server.on('connection', (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: net.Socket) => {
    events.push({ kind: 'clientError', code: err.code ?? '', reason: err.reason });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    events.push({ kind: 'upgrade', url: req.url ?? '', upgrade: req.headers.upgrade, headBytes: head.length });
    socket.end('HTTP/1.1 418 Upgrade Seen\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    events.push({ kind: 'connect', url: req.url ?? '' });
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  setup?.(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    server,
    async send(bytes) {
      events = [];
      const response = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes));
        let out = '';
        s.setEncoding('latin1');
        s.on('data', (d: string) => (out += d));
        s.on('close', () => resolve(out));
        s.on('error', () => {});
        s.setTimeout(5000, () => {
          s.destroy();
          reject(new Error(`no close within 5 s; got ${JSON.stringify(out.slice(0, 200))}`));
        });
      });
      // The server side is done when its socket closed and every request stream settled.
      await waitFor(
        () => open.size === 0 && events.every((e) => e.kind !== 'request' || e.body !== null || e.bodyError !== null),
        { timeoutMs: 3000, message: 'the server to finish with the connection' },
      );
      const statuses = [...response.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      return { response, statuses, events };
    },
  };
}

/** `n` header lines "x0: 1\r\n" … (n fields). */
export function fields(n: number, sep = ': '): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `x${i}${sep}1\r\n`;
  return s;
}
