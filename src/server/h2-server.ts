// The HTTP/2 side of a TLS listener: the server `h2` connections are handed to after ALPN, its
// settings (concurrent streams, header list, flow-control windows), its sessions (idle timeout,
// GOAWAY on drain, cancel at the deadline) and the connection-level protections, among them the
// rapid-reset guard. One stream's request and response are h2.ts (H2Stream).

import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ServerLimits } from '../config/types.ts';
import type { Logger } from '../observability/log.ts';
import type { TlsMetricFamily } from '../tls/metrics.ts';
import type { Downstream } from './downstream.ts';
import { clientAddressOf } from '../proxy/headers.ts';
import { H2Stream, type SessionContext } from './h2.ts';

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** The error a session closed by the premature-reset rule is destroyed with (one object, never thrown). */
const RAPID_RESET = Object.assign(new Error('HTTP/2 rapid reset: streams cancelled much faster than completed'), { code: 'FAIRWAY_H2_RAPID_RESET' });

/** HTTP/2 defaults of every listener (not configurable in v1; the reasons are on each). */
export const H2_DEFAULTS = {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: what Envoy, nginx (128) and most servers allow. */
  maxConcurrentStreams: 100,
  /**
   * SETTINGS_INITIAL_WINDOW_SIZE: bytes of one request body a client may send ahead of the
   * upstream reading it. The protocol's 64 KiB - 1 caps an upload at one window per round trip
   * of WINDOW_UPDATEs through the event loop (see docs/tls.md for the measurement).
   */
  streamWindowBytes: 1024 * 1024,
  /** Connection receive window: all streams of a session together (bounds buffered upload bytes per connection). */
  connectionWindowBytes: 4 * 1024 * 1024,
  /**
   * nghttp2's RST_STREAM token bucket (Node ≥ 22.11 `streamResetBurst` / `streamResetRate`): a
   * client that resets more than `resetBurst` streams at once, then more than `resetRate` per
   * second, gets GOAWAY and the session ends, whatever else it does (a hard ceiling). The burst
   * is twice what a client can have open (a browser navigating away cancels every open stream;
   * twice in a row is still fine); 33/s is nghttp2's own rate: at that pace cancelling buys a
   * client nothing over the concurrency limit.
   */
  resetBurst: 200,
  resetRate: 33,
  /**
   * The premature-reset rule, Fairway's own: a session whose streams cancelled before their
   * response ended reach this many, and more than twice its completed streams, gets
   * GOAWAY(ENHANCE_YOUR_CALM) and is closed. 1.5× the concurrency limit, so cancelling every
   * open stream once can never trip it; it fires before the token bucket for a pure rapid-reset
   * client and never for one that completes most of its streams.
   */
  prematureResetMin: 150,
  /** Frames nghttp2 finds invalid, and streams refused for the concurrency limit, before the session ends. */
  maxInvalidFrames: 100,
  maxRejectedStreams: 100,
} as const;

export interface H2ServerOptions {
  readonly limits: ServerLimits;
  /** The pipeline's entry point. */
  readonly onStream: (client: Downstream) => void;
  readonly log: Logger;
  /** The listener as logs name it (read when something is logged). */
  readonly listener: () => string;
}

/** Counters of one listener's HTTP/2 server, read at scrape time. */
export interface H2Counters {
  /** Sessions opened since start. */
  sessions: number;
  /** Sessions closed by the premature-reset rule. */
  rapidResetCloses: number;
  /** Sessions that ended in a protocol error (nghttp2's own limits: reset rate, floods, invalid frames). */
  sessionErrors: number;
}

/** One session as its streams see it: the client's address, and the premature-reset count (trips once). */
class Session implements SessionContext {
  readonly clientAddress: string;
  cancelled = 0;
  completed = 0;
  tripped = false;
  private readonly session: ServerHttp2Session;
  private readonly owner: H2Server;

  constructor(session: ServerHttp2Session, owner: H2Server) {
    this.session = session;
    this.owner = owner;
    this.clientAddress = clientAddressOf(session.socket?.remoteAddress);
  }

  onStreamClosed(cancelled: boolean): void {
    if (!cancelled) {
      this.completed++;
      return;
    }
    this.cancelled++;
    if (this.tripped || this.cancelled < H2_DEFAULTS.prematureResetMin || this.cancelled <= 2 * this.completed) return;
    this.tripped = true;
    this.owner.onRapidReset(this.session, this.cancelled, this.completed);
  }
}

/**
 * The HTTP/2 server of one TLS listener (never listens itself: `accept()` is given the sockets
 * ALPN chose `h2` for). Tracks its sessions for drain and metrics.
 */
export class H2Server {
  readonly server: http2.Http2Server;
  readonly sessions = new Set<ServerHttp2Session>();
  readonly counters: H2Counters = { sessions: 0, rapidResetCloses: 0, sessionErrors: 0 };
  private readonly opts: H2ServerOptions;
  /** Draining: every session gets GOAWAY, new ones as soon as they start. */
  private closing = false;

  constructor(opts: H2ServerOptions) {
    this.opts = opts;
    const limits = opts.limits;
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: H2_DEFAULTS.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
        initialWindowSize: H2_DEFAULTS.streamWindowBytes,
        enablePush: false,
      },
      maxHeaderListPairs: limits.maxHeaderCount + 4, // + the four request pseudo-headers
      maxSessionInvalidFrames: H2_DEFAULTS.maxInvalidFrames,
      maxSessionRejectedStreams: H2_DEFAULTS.maxRejectedStreams,
      streamResetBurst: H2_DEFAULTS.resetBurst,
      streamResetRate: H2_DEFAULTS.resetRate,
    });
    this.server.on('session', (s: ServerHttp2Session) => this.onSession(s));
    // A session's socket error ends in 'close'; never an uncaught exception.
    this.server.on('sessionError', ignore);
  }

  /** Serves one TLS socket that negotiated `h2`. */
  accept(socket: Duplex): void {
    this.server.emit('connection', socket);
  }

  /** Starts a drain: GOAWAY to every session (open streams finish), and to every later one at once. */
  close(): void {
    this.closing = true;
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  /** Drain deadline: cancels every stream and session left (their streams get RST_STREAM(CANCEL)). */
  destroy(): void {
    for (const s of this.sessions) if (!s.destroyed) s.destroy();
  }

  /** The premature-reset rule tripped: GOAWAY(ENHANCE_YOUR_CALM), then every stream and upstream request ends. */
  onRapidReset(session: ServerHttp2Session, cancelled: number, completed: number): void {
    this.counters.rapidResetCloses++;
    this.opts.log.warn(
      { listener: this.opts.listener(), client: session.socket?.remoteAddress, cancelled, completed },
      'HTTP/2 session closed: it cancels streams faster than it completes them (rapid reset)',
    );
    // The code is used only together with an error: destroy(undefined, code) sends
    // GOAWAY(NO_ERROR), and goaway() before destroy() sends two GOAWAYs (both checked).
    if (!session.destroyed) session.destroy(RAPID_RESET, NGHTTP2_ENHANCE_YOUR_CALM);
  }

  private onSession(session: ServerHttp2Session): void {
    this.sessions.add(session);
    this.counters.sessions++;
    session.once('close', () => this.sessions.delete(session));
    session.on('error', (err: Error) => {
      if (err !== RAPID_RESET) this.counters.sessionErrors++;
    });
    const context = new Session(session, this);
    const onStream = this.opts.onStream;
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]) => {
      onStream(new H2Stream(stream, headers, flags, raw, context));
    });
    // The connection window is not a setting: it grows by a WINDOW_UPDATE on stream 0.
    session.setLocalWindowSize(H2_DEFAULTS.connectionWindowBytes);
    const idleMs = this.opts.limits.keepAliveTimeoutMs;
    // Idle like an HTTP/1.1 keep-alive connection: GOAWAY, streams still open may finish.
    if (idleMs > 0) session.setTimeout(idleMs, () => session.close());
    if (this.closing) session.close();
  }
}

function ignore(): void {}

/** One listener's HTTP/2 server as a scrape reads it. */
export interface H2MetricsSource {
  readonly listener: string;
  readonly h2: H2Server;
}

/**
 * Families, each present (possibly empty): open sessions, sessions since start, sessions closed
 * by the premature-reset rule, sessions ended by a protocol error (nghttp2's limits: reset
 * rate, floods, invalid frames). Label `listener`. O(listeners).
 */
export function h2MetricFamilies(sources: readonly H2MetricsSource[]): TlsMetricFamily[] {
  const family = (name: string, type: 'gauge' | 'counter', help: string, value: (h2: H2Server) => number): TlsMetricFamily => ({
    name,
    type,
    help,
    samples: sources.map((s) => ({ labels: [['listener', s.listener]] as const, value: value(s.h2) })),
  });
  return [
    family('fairway_http2_sessions', 'gauge', 'Open HTTP/2 client sessions.', (h2) => h2.sessions.size),
    family('fairway_http2_sessions_total', 'counter', 'HTTP/2 client sessions opened.', (h2) => h2.counters.sessions),
    family('fairway_http2_rapid_reset_closes_total', 'counter', 'HTTP/2 sessions closed for cancelling streams much faster than completing them (rapid reset).', (h2) => h2.counters.rapidResetCloses),
    family('fairway_http2_session_errors_total', 'counter', 'HTTP/2 sessions ended by a protocol error (reset rate limit, flood, invalid frames).', (h2) => h2.counters.sessionErrors),
  ];
}
