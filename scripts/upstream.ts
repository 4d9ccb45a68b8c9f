// A small, scriptable upstream server for the demo, the tests and the benchmarks. Each answers
// with its name by default; behaviours (delay, status, resets, hangs, echo, large bodies) can be
// switched at run time. Run as a process: `node scripts/upstream.ts --name a --port 3001`.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';

export type Behavior =
  | { kind: 'ok' }
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'reset-before-headers' }
  | { kind: 'close-before-headers' }
  | { kind: 'reset-mid-body' }
  | { kind: 'hang' }
  | { kind: 'slow-body'; chunkMs: number; chunks: number }
  | { kind: 'echo' }
  | { kind: 'size'; bytes: number };

export interface UpstreamOptions {
  name: string;
  host?: string;
  port?: number;
  behavior?: Behavior;
  /** Status of GET /health (default 200). */
  healthStatus?: number;
  /** Keep-alive timeout of this server (Node default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Append the x-test-id of every request to this file as it arrives (survives SIGKILL). */
  idLog?: string;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  id: string | null;
  bodyBytes: number;
  bodySha256: string;
}

export interface RunningUpstream {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** Requests seen (not counting /health). */
  hits: number;
  healthHits: number;
  readonly requests: RecordedRequest[];
  behavior: Behavior;
  healthStatus: number;
  /** Requests currently being handled. */
  active: number;
  /** Client connections this server has seen close (its keep-alive timeout included). */
  connectionsClosed: number;
  server: http.Server;
  close(): Promise<void>;
}

const BIG = Buffer.alloc(64 * 1024, 'x');

/** Starts an upstream on host:port (default 127.0.0.1:0). */
export async function startUpstream(opts: UpstreamOptions): Promise<RunningUpstream> {
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  const state: RunningUpstream = {
    name: opts.name,
    url: '',
    port: 0,
    hits: 0,
    healthHits: 0,
    requests: [],
    behavior: opts.behavior ?? { kind: 'ok' },
    healthStatus: opts.healthStatus ?? 200,
    active: 0,
    connectionsClosed: 0,
    server: null as unknown as http.Server,
    close: async () => {},
  };
  const body = Buffer.from(`${opts.name}\n`);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/health') {
      state.healthHits++;
      res.writeHead(state.healthStatus, { 'content-type': 'text/plain', 'content-length': '3' });
      res.end(state.healthStatus < 400 ? 'ok\n' : 'no\n');
      req.resume();
      return;
    }
    state.hits++;
    state.active++;
    if (opts.idLog !== undefined) {
      const id = req.headers['x-test-id'];
      if (typeof id === 'string') appendFileSync(opts.idLog, `${id}\n`);
    }
    res.once('close', () => state.active--);
    const hash = createHash('sha256');
    let bytes = 0;
    const chunks: Buffer[] = [];
    const b = state.behavior;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
      if (b.kind === 'echo') {
        if (!res.write(c)) {
          req.pause();
          res.once('drain', () => req.resume());
        }
      } else if (bytes <= 1 << 20) chunks.push(c);
    });
    if (b.kind === 'echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': opts.name });
      res.flushHeaders();
    }
    req.on('end', () => {
      const idHeader = req.headers['x-test-id'];
      state.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        id: typeof idHeader === 'string' ? idHeader : null,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
      });
      respond(req, res, b);
    });
  };

  const respond = (req: IncomingMessage, res: ServerResponse, b: Behavior): void => {
    switch (b.kind) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-upstream': opts.name });
        res.end(body);
        return;
      case 'delay':
        setTimeout(() => respond(req, res, { kind: 'ok' }), b.ms);
        return;
      case 'status':
        res.writeHead(b.status, { 'content-type': 'text/plain', 'content-length': body.length, 'x-upstream': opts.name });
        res.end(body);
        return;
      case 'reset-before-headers':
        req.socket.resetAndDestroy();
        return;
      case 'close-before-headers':
        req.socket.destroy();
        return;
      case 'reset-mid-body':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1_000_000, 'x-upstream': opts.name });
        res.write(BIG, () => setTimeout(() => req.socket.resetAndDestroy(), 10));
        return;
      case 'hang':
        hung.add(res);
        return;
      case 'slow-body': {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': opts.name });
        let n = 0;
        const tick = (): void => {
          if (res.destroyed) return;
          if (n++ >= b.chunks) {
            res.end();
            return;
          }
          res.write(`${opts.name}-${n}\n`);
          setTimeout(tick, b.chunkMs);
        };
        tick();
        return;
      }
      case 'echo':
        res.end();
        return;
      case 'size': {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.bytes, 'x-upstream': opts.name });
        let left = b.bytes;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, BIG.length);
            left -= n;
            const ok = res.write(n === BIG.length ? BIG : BIG.subarray(0, n));
            if (!ok && left > 0) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
    }
  };

  const server = http.createServer({ keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000 }, handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => {
      sockets.delete(s);
      state.connectionsClosed++;
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  Object.assign(state, {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    server,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return state;
}

/** Parses a behaviour from the command line: ok | delay:50 | status:503 | size:16384 | hang | echo … */
export function parseBehavior(s: string): Behavior {
  const [kind, arg] = s.split(':');
  switch (kind) {
    case 'delay':
      return { kind: 'delay', ms: Number(arg ?? 50) };
    case 'status':
      return { kind: 'status', status: Number(arg ?? 503) };
    case 'size':
      return { kind: 'size', bytes: Number(arg ?? 16384) };
    case 'slow-body':
      return { kind: 'slow-body', chunkMs: Number(arg ?? 100), chunks: 10 };
    case 'ok':
    case 'hang':
    case 'echo':
    case 'reset-before-headers':
    case 'close-before-headers':
    case 'reset-mid-body':
      return { kind } as Behavior;
    default:
      throw new Error(`unknown behavior '${s}'`);
  }
}

// As a process: print the URL on stdout, stop on SIGTERM/SIGINT.
if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      name: { type: 'string', default: 'upstream' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      behavior: { type: 'string', default: 'ok' },
      'id-log': { type: 'string' },
    },
  });
  const up = await startUpstream({
    name: values.name,
    host: values.host,
    port: Number(values.port),
    behavior: parseBehavior(values.behavior),
    ...(values['id-log'] !== undefined ? { idLog: values['id-log'] } : {}),
  });
  process.stdout.write(`${up.name} listening on ${up.url}\n`);
  const stop = (): void => {
    void up.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
