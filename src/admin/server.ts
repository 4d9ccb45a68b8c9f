// The admin listener: its own node:http server (never reachable through a data-plane port),
// routing, the bearer token (everything but /healthz and /readyz) and POST /reload. What the
// bodies contain is status.ts and metrics.ts; how a reload works is Runtime's.

import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConfigError, formatIssue } from '../config/errors.ts';
import type { AdminConfig, Config } from '../config/types.ts';
import { bind, boundUrl, clientErrorHandler, type ClientErrorKind } from '../util/http-server.ts';
import { dashboardPage } from './dashboard.ts';
import { withoutSeries } from './explain.ts';
import { EventLoopMonitor, METRICS_CONTENT_TYPE } from './metrics.ts';
import { NoConfigFileError, type AdminSource } from './source.ts';

const JSON_TYPE = 'application/json; charset=utf-8';
const CLIENT_ERROR_STATUS: Readonly<Record<ClientErrorKind, string>> = {
  'headers-too-large': '431 Request Header Fields Too Large',
  'request-timeout': '408 Request Timeout',
  'bad-request': '400 Bad Request',
};
const TEXT_TYPE = 'text/plain; charset=utf-8';

type Handler = (s: AdminServer, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

interface Route {
  /** Methods served; HEAD is served wherever GET is. */
  readonly methods: readonly string[];
  /** Needs the bearer token when one is configured. */
  readonly auth: boolean;
  readonly handle: Handler;
}

/** True for 127.0.0.0/8, ::1 and localhost: addresses only this host can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/** SHA-256 of a token: fixed length, so timingSafeEqual leaks neither content nor length. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * True when the Authorization header carries `Bearer <token>` matching `expected` (a digest).
 * Constant time in the token; the scheme is case-insensitive (RFC 9110 §11.1).
 */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const m = /^bearer[ \t]+(.*?)[ \t]*$/i.exec(header);
  const token = m?.[1] ?? '';
  // Hash even a malformed header, so it costs the same as a wrong token. An empty token never
  // matches, so a misconfigured empty secret fails closed.
  const equal = timingSafeEqual(digest(token), expected);
  return equal && token !== '';
}

/**
 * The admin HTTP server. Routes: GET / (the dashboard page, open: it holds no data), GET
 * /healthz, GET /readyz (open), GET /metrics, GET /status (`?series=1` keeps the per-second
 * series), POST /reload (token when configured). Wrong method on a known path → 405 with Allow;
 * unknown path → 404. Every response is `cache-control: no-store`. A handler that throws
 * answers 500; nothing a client sends can crash the process.
 */
export class AdminServer {
  readonly source: AdminSource;
  readonly config: AdminConfig;
  readonly server: http.Server;
  private readonly tokenDigest: Buffer | null;
  private readonly eventLoop: EventLoopMonitor;
  /** POST /reload is refused: bound to a non-loopback address without a token (fail closed). */
  private readonly mutationsLocked: boolean;
  private closing: Promise<void> | null;

  constructor(source: AdminSource, config: AdminConfig) {
    this.source = source;
    this.config = config;
    // Fixed at start, like the listen address: a reload never rebinds the admin server, and
    // re-reading the token from a reloaded config could turn authentication off.
    this.tokenDigest = config.token === null ? null : digest(config.token);
    this.mutationsLocked = this.tokenDigest === null && !isLoopbackHost(config.listen.host);
    this.eventLoop = new EventLoopMonitor();
    this.closing = null;
    this.server = http.createServer(
      {
        // Explicit, so NODE_OPTIONS=--insecure-http-parser cannot weaken this listener either.
        insecureHTTPParser: false,
        maxHeaderSize: 16 * 1024,
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        keepAliveTimeout: 5_000,
        connectionsCheckingInterval: 1_000,
        joinDuplicateHeaders: false,
      },
      (req, res) => this.onRequest(req, res),
    );
    // Probes and scrapers are few; a flood of sockets must not starve the process.
    this.server.maxConnections = 256;
    this.server.on(
      'clientError',
      clientErrorHandler((kind) => `HTTP/1.1 ${CLIENT_ERROR_STATUS[kind]}\r\nconnection: close\r\ncontent-length: 0\r\ncache-control: no-store\r\n\r\n`),
    );
    // The upgrade handshake is not served here: close such sockets rather than leave them open.
    this.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
  }

  /** Binds the configured address; resolves with the URL (port 0 resolved). */
  async listen(): Promise<string> {
    await bind(this.server, this.config.listen);
    this.eventLoop.start();
    if (this.mutationsLocked) {
      this.source.log.warn(
        { admin: this.url() },
        'admin server on a non-loopback address without a token: POST /reload is refused (set admin.token)',
      );
    }
    return this.url();
  }

  /** `http://host:port` of the bound socket; '' before listen(). */
  url(): string {
    return boundUrl(this.server, 'http');
  }

  /** Stops accepting, closes every connection, resolves when closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.eventLoop.stop();
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  /** True when every data-plane listener is bound and nothing is draining. */
  isReady(): boolean {
    return this.source.isReady();
  }

  /** The exposition text for GET /metrics. */
  metricsText(): Promise<string> {
    return this.source.metrics(this.eventLoop.read());
  }

  // ── request handling ────────────────────────────────────────────────────────────────────

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      // A body we never read would otherwise be drained to keep the connection alive.
      if (hasBody(req)) res.setHeader('connection', 'close');
      const path = pathOf(req.url);
      const route = path === null ? undefined : ROUTES.get(path);
      if (route !== undefined && !route.auth) return this.dispatch(route, req, res);
      // Everything else needs the token first, so an unauthenticated caller learns nothing,
      // not even which paths exist.
      if (this.tokenDigest !== null && !bearerMatches(req.headers.authorization, this.tokenDigest)) {
        res.setHeader('www-authenticate', 'Bearer realm="fairway-admin"');
        return send(res, 401, TEXT_TYPE, 'unauthorized\n');
      }
      if (route === undefined) return send(res, 404, TEXT_TYPE, 'not found\n');
      this.dispatch(route, req, res);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private dispatch(route: Route, req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? '';
    const allowed = route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
    if (!allowed) {
      res.setHeader('allow', route.methods.includes('GET') ? [...route.methods, 'HEAD'].join(', ') : route.methods.join(', '));
      return send(res, 405, TEXT_TYPE, 'method not allowed\n');
    }
    const out = route.handle(this, req, res);
    if (out instanceof Promise) out.catch((err: unknown) => this.fail(res, err));
  }

  private fail(res: ServerResponse, err: unknown): void {
    this.source.log.error({ err }, 'admin request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(res, 500, TEXT_TYPE, 'internal error\n');
  }

  /** POST /reload: same as SIGHUP. */
  async reload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Browsers send Origin on every POST; the admin API has no browser client, so any POST
    // carrying one is a cross-site form or a DNS-rebinding page (CSRF guard).
    if (req.headers.origin !== undefined) return sendJson(res, 403, { error: 'cross-origin requests are refused' });
    if (this.mutationsLocked) {
      return sendJson(res, 403, { error: 'reload over HTTP needs admin.token when the admin server is not on loopback' });
    }
    const log = this.source.log;
    let config: Config;
    try {
      config = await this.source.reload();
    } catch (err) {
      if (err instanceof ConfigError) {
        const issues = err.issues.map(formatIssue);
        log.error({ issues }, 'reload refused: invalid config; the running config stays');
        return sendJson(res, 400, { error: 'invalid config', issues });
      }
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof NoConfigFileError) return sendJson(res, 409, { error: message });
      log.error({ err }, 'reload failed');
      return sendJson(res, 500, { error: 'reload failed', message });
    }
    sendJson(res, 200, {
      status: 'applied',
      source: config.source,
      pools: [...config.pools.values()].map((p) => ({ name: p.name, balancer: p.balancer, upstreams: p.upstreams.length })),
      routes: config.routes.length,
    });
  }
}

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  // The page carries no data (its script reads /status with the token), so it is open like /healthz.
  ['/', { methods: ['GET'], auth: false, handle: (_s, _req, res) => sendPage(res) }],
  ['/healthz', { methods: ['GET'], auth: false, handle: (_s, _req, res) => send(res, 200, TEXT_TYPE, 'ok\n') }],
  [
    '/readyz',
    {
      methods: ['GET'],
      auth: false,
      handle: (s, _req, res) => (s.isReady() ? send(res, 200, TEXT_TYPE, 'ready\n') : send(res, 503, TEXT_TYPE, s.source.isDraining() ? 'draining\n' : 'not ready\n')),
    },
  ],
  [
    '/metrics',
    {
      methods: ['GET'],
      auth: true,
      handle: async (s, _req, res) => send(res, 200, METRICS_CONTENT_TYPE, await s.metricsText()),
    },
  ],
  [
    '/status',
    {
      methods: ['GET'],
      auth: true,
      handle: async (s, req, res) => {
        const doc = await s.source.status();
        // The dashboard asks for the series (compact JSON: it polls every second); people get the rest, indented.
        if (hasQueryFlag(req.url, 'series')) send(res, 200, JSON_TYPE, JSON.stringify(doc));
        else sendJson(res, 200, withoutSeries(doc));
      },
    },
  ],
  ['/reload', { methods: ['POST'], auth: true, handle: (s, req, res) => s.reload(req, res) }],
]);

/**
 * The path of the request target without the query: origin-form as is, absolute-form
 * (`http://host/metrics`, which HTTP/1.1 servers must accept, RFC 9112 §3.2.2) by its path;
 * null for anything else (`*`, authority-form, garbage).
 */
function pathOf(url: string | undefined): string | null {
  if (url === undefined) return null;
  if (url[0] === '/') {
    const q = url.indexOf('?');
    return q === -1 ? url : url.slice(0, q);
  }
  if (!/^https?:\/\//i.test(url)) return null;
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

/** True when the query string has `name=1` (or `name=true`, or a bare `name`). */
function hasQueryFlag(url: string | undefined, name: string): boolean {
  const q = url?.indexOf('?') ?? -1;
  if (url === undefined || q === -1) return false;
  const v = new URLSearchParams(url.slice(q + 1)).get(name);
  return v === '' || v === '1' || v === 'true';
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  const buf = Buffer.from(body, 'utf8');
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', buf.length);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.end(buf);
}

function sendPage(res: ServerResponse): void {
  const page = dashboardPage();
  for (const [name, value] of Object.entries(page.headers)) res.setHeader(name, value);
  res.statusCode = 200;
  res.setHeader('content-length', page.body.length);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.end(page.body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON_TYPE, `${JSON.stringify(value, null, 2)}\n`);
}
