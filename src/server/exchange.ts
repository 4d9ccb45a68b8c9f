// The state of one client request while the pipeline (handler.ts) runs it: the tries so far,
// the one `settle` that does every try's bookkeeping, and what happens once a response is
// accepted (streaming it to the client, its end, a failure mid-body, the client leaving). It owns
// two rules: every pool.start() gets exactly one pool.finish(), and every request ends in exactly
// one `complete()` (the access log line), on every path. Which upstream to try and whether to
// retry is handler.ts.

import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCode, Phase, STATUS_OF, classify, isConnectFailure } from '../core/errors.ts';
import { Outcome } from '../core/outcome.ts';
import type { HealthState } from '../health/state.ts';
import type { AccessLog, AccessRecord } from '../observability/access-log.ts';
import type { Logger } from '../observability/log.ts';
import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import { Attempt, type AttemptSink } from '../proxy/attempt.ts';
import { noteRelayed } from '../proxy/relay-gc.ts';
import { errorBody } from '../proxy/respond.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import { displayOrigin } from '../util/origin.ts';
import type { ClientCloseListener, Downstream } from './downstream.ts';
import { applyRules } from '../proxy/headers.ts';
import type { Route } from './route.ts';

/** What every request needs from the process: built once, shared by all. */
export interface PipelineContext {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly health: HealthState;
  /** True once draining: responses say `Connection: close`. */
  isDraining(): boolean;
}

/** How an Exchange is set up (handler.ts decides these once per request). */
export interface ExchangeOptions {
  readonly ctx: PipelineContext;
  readonly client: Downstream;
  readonly route: Route;
  /** Clock time the request arrived. */
  readonly startedAt: number;
  /** The client's Host (for the access log). */
  readonly host: string | null;
  /** The trace id the request travels with; null when it has none. */
  readonly traceId: string | null;
  readonly accessLog: AccessLog | null;
  /** What every try sends upstream (path, method, headers, body, timeouts, upgrade). */
  readonly dispatch: Dispatcher.DispatchOptions;
  /** The method is idempotent, or the request carries an Idempotency-Key. */
  readonly idempotent: boolean;
  /** The body can be sent again: none, or fully buffered. */
  readonly replayable: boolean;
}

/** 502/503/504 from an upstream: a failure for health and balancing, retried when allowed. */
export function isFailureStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

/** One client request in flight. Fields fixed in the constructor (one hidden class). */
export class Exchange implements ClientCloseListener, AttemptSink {
  declare readonly ctx: PipelineContext;
  declare readonly client: Downstream;
  declare readonly route: Route;
  declare readonly pool: Pool;
  declare readonly startedAt: number;
  declare readonly host: string | null;
  declare readonly traceId: string | null;
  declare readonly accessLog: AccessLog | null;
  /** Response body bytes sent to the client. */
  declare bytes: number;
  /** complete() ran. */
  declare completed: boolean;
  declare readonly dispatch: Dispatcher.DispatchOptions;
  declare readonly idempotent: boolean;
  declare readonly replayable: boolean;
  /** Upstreams already tried (allocated on the first retry only). */
  declare tried: Upstream[] | null;
  declare tries: number;
  declare current: Attempt | null;
  /** Code of the last failed try: what the client gets when no retry is possible. */
  declare lastFailure: ErrorCode | null;
  /** The response is complete, or the client is gone: nothing more to do. */
  declare done: boolean;
  /** Why each retry happened, for the x-fairway-retries header (null = none yet). */
  declare retryLog: string | null;

  constructor(opts: ExchangeOptions) {
    this.ctx = opts.ctx;
    this.client = opts.client;
    this.route = opts.route;
    this.pool = opts.route.pool;
    this.startedAt = opts.startedAt;
    this.host = opts.host;
    this.traceId = opts.traceId;
    this.accessLog = opts.accessLog;
    this.bytes = 0;
    this.completed = false;
    this.dispatch = opts.dispatch;
    this.idempotent = opts.idempotent;
    this.replayable = opts.replayable;
    this.tried = null;
    this.tries = 0;
    this.current = null;
    this.lastFailure = null;
    this.done = false;
    this.retryLog = null;
    opts.client.watch(this);
  }

  /** Sends one try to `u` (counted as started in the pool). Never throws. */
  begin(u: Upstream, now: number): Attempt {
    const isRetry = this.tries > 0;
    this.tries++;
    if (this.tried !== null) this.tried.push(u);
    const a = new Attempt(u, now, this.dispatch.headersTimeout ?? 0);
    this.current = a;
    this.pool.start(u, now, isRetry);
    try {
      u.dispatcher!.dispatch(this.dispatch, a);
    } catch (err) {
      // dispatch() throws only for options undici refuses (a header value, a target): the
      // request's fault, never the upstream's.
      this.ctx.log.debug({ err, pool: this.pool.name, upstream: u.origin }, 'dispatch refused');
      a.error = Object.assign(new Error('request refused by the upstream client'), { code: 'UND_ERR_INVALID_ARG', cause: err });
      a.abort(a.error);
    }
    return a;
  }

  /**
   * The one place a try's bookkeeping happens, exactly once per try whatever ends it: the
   * pool's in-flight and balancer feedback, counters, the latency histogram and passive health.
   */
  settle(a: Attempt, outcome: Outcome, code: string): void {
    if (a.settled) return;
    a.settled = true;
    const now = this.ctx.clock();
    const latencyMs = (a.headersAt > 0 ? a.headersAt : now) - a.startedAt;
    const u = a.upstream;
    if (outcome === Outcome.Failure || outcome === Outcome.ConnectFailure) u.failures++;
    const status = a.status;
    u.responses[status === 0 ? 0 : Math.min(5, (status / 100) | 0)]!++;
    u.latency.record(latencyMs);
    this.pool.finish(u, now, latencyMs, outcome === Outcome.Success || outcome === Outcome.Neutral);
    this.ctx.health.observe(this.pool, u, outcome, now, code);
  }

  /** What a failed try means for the upstream: its phase and code decide. */
  static outcomeOf(code: ErrorCode, phase: Phase): Outcome {
    if (code === ErrorCode.BadRequest || code === ErrorCode.BodyTooLarge || code === ErrorCode.ClientAbort) return Outcome.Neutral;
    return isConnectFailure(code) && phase === Phase.Connect ? Outcome.ConnectFailure : Outcome.Failure;
  }

  /** The client is gone before its response was complete. */
  get clientGone(): boolean {
    return this.client.gone;
  }

  /** Ends the exchange with the proxy's own error response (never after the head was sent). */
  fail(code: ErrorCode): void {
    if (this.done) return;
    this.done = true;
    // An unread or partly read request body means the connection cannot be reused.
    this.client.sendError(code, this.ctx.isDraining() || code === ErrorCode.BodyTooLarge, this.route.responseHeaders);
    this.bytes = errorBodyBytes(this.client, code);
    this.complete(STATUS_OF[code], code);
  }

  /**
   * The request is over (answered, failed, or the client left): writes its access log line.
   * Exactly once per exchange; costs nothing when the access log is off.
   */
  complete(status: number, error: string | null): void {
    if (this.completed) return;
    this.completed = true;
    const log = this.accessLog;
    if (log === null) return;
    const a = this.current;
    writeAccess(log, this.client, {
      host: this.host,
      status,
      bytes: this.bytes,
      durationMs: this.ctx.clock() - this.startedAt,
      pool: this.pool.name,
      upstream: a === null ? null : displayOrigin(a.upstream.origin),
      tries: this.tries,
      error,
      traceId: this.traceId,
    });
  }

  // ── once a response is accepted ─────────────────────────────────────────────────────────

  /** Streams `a`'s response to the client: the head now, the body as it comes. */
  deliver(a: Attempt, headers: string[]): void {
    const client = this.client;
    const rules = this.route.responseHeaders;
    if (rules !== null) applyRules(headers, rules);
    if (this.retryLog !== null) headers.push('x-fairway-retries', this.retryLog);
    if (this.ctx.isDraining()) headers.push('connection', 'close');
    client.sendHead(a.status, headers);
    a.accept(this);
  }

  /** Relays a 101: the upstream socket and the client are spliced until either side ends. */
  tunnel(a: Attempt, headers: string[]): void {
    this.done = true;
    // Upgrade and Connection are hop-by-hop, but a 101 must carry them: the upstream's choice.
    const upgrade = a.headers?.['upgrade'];
    headers.push('connection', 'Upgrade', 'upgrade', typeof upgrade === 'string' ? upgrade : (this.client.upgrade ?? 'websocket'));
    this.client.tunnel(a.status, headers, a.socket as Duplex, () => {
      this.settle(a, Outcome.Success, 'ok');
      this.complete(a.status, null);
    });
  }

  onAttemptData(a: Attempt, chunk: Buffer): boolean {
    this.bytes += chunk.length;
    noteRelayed(chunk.length);
    if (this.client.sendChunk(chunk)) return true;
    this.client.whenDrained(a.resume);
    return false;
  }

  onAttemptEnd(a: Attempt): void {
    this.settle(a, isFailureStatus(a.status) ? Outcome.Failure : Outcome.Success, ErrorCode.UpstreamStatus);
    this.done = true;
    this.client.sendEnd();
    this.complete(a.status, null);
  }

  onAttemptError(a: Attempt, err: Error): void {
    if (this.done || this.client.gone) {
      this.done = true;
      this.settle(a, Outcome.Neutral, ErrorCode.ClientAbort);
      this.complete(CLIENT_CLOSED_STATUS, ErrorCode.ClientAbort);
      return;
    }
    // Bytes already went to the client: never retried, never a truncated body that looks complete.
    const code = classify(err, Phase.ResponseStarted);
    this.settle(a, Outcome.Failure, code);
    this.ctx.log.debug({ pool: this.pool.name, upstream: a.upstream.origin, code, err: err.message }, 'response failed mid-body');
    this.done = true;
    this.client.abort(err);
    this.complete(a.status, code);
  }

  /** The client connection closed before its response was complete: stop the running try. */
  onClientClose(): void {
    if (this.done) return;
    this.done = true;
    this.complete(CLIENT_CLOSED_STATUS, ErrorCode.ClientAbort);
    const a = this.current;
    if (a !== null && !a.settled) {
      // A streaming try ends here (its abort is ignored once discarded); a try the loop still
      // waits on is settled by the loop when its verdict comes.
      if (a.sink !== null) this.settle(a, Outcome.Neutral, ErrorCode.ClientAbort);
      a.abort(CLIENT_CLOSED);
    }
  }
}

const CLIENT_CLOSED = Object.assign(new Error('client closed'), { code: 'FAIRWAY_CLIENT_CLOSED' });

/** What the access log says of a request whose client left before its response (nginx's 499). */
export const CLIENT_CLOSED_STATUS = 499;

/** What the pipeline knows of a finished request beyond the client's own fields. */
export type RequestSummary = Omit<AccessRecord, 'client' | 'method' | 'path' | 'version' | 'referer' | 'userAgent'>;

/** The header value of `name` (lower-case) in a flat raw list, or null. Only for the access log. */
function headerOf(raw: readonly string[], name: string): string | null {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1]!;
  return null;
}

/** Body bytes the proxy's own error response for `code` sends `client` (none to a HEAD). */
export function errorBodyBytes(client: Downstream, code: ErrorCode): number {
  return client.method === 'HEAD' ? 0 : errorBody(code).length;
}

/** Writes one access log line for `client`'s request. */
export function writeAccess(log: AccessLog, client: Downstream, r: RequestSummary): void {
  const combined = log.config.format === 'combined';
  log.write({
    ...r,
    client: client.clientAddress,
    method: client.method,
    path: client.target,
    version: client.version,
    referer: combined ? headerOf(client.rawHeaders, 'referer') : null,
    userAgent: combined ? headerOf(client.rawHeaders, 'user-agent') : null,
  });
}
