// One client request from routing to the last byte: the attempt loop. Picks an upstream,
// runs an Attempt, and on failure decides by phase whether to try again elsewhere (retry.ts),
// then streams the response or answers with the proxy's own error. It owns the rule that
// every pool.start() gets exactly one pool.finish(), on every path.

import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Outcome } from '../core/outcome.ts';
import { observeOutcome } from '../health/passive.ts';
import type { Logger } from '../observability/log.ts';
import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import { ErrorCode, Phase, classify, isConnectFailure } from '../core/errors.ts';
import { Attempt, type AttemptOwner } from './forwarder.ts';
import { forwardResponseHeaders } from './headers.ts';
import { respondError } from './respond.ts';
import { backoffMs, isRetryable } from './retry.ts';

/** What an exchange needs from the process: passed once, shared by every request. */
export interface ExchangeContext {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  /** True once draining: responses say `Connection: close`. */
  isDraining(): boolean;
}

type Headers = Record<string, string | string[] | undefined>;

/** Request body as sent upstream: none, a replayable buffer, or a one-shot stream. */
export type Body = null | Buffer | IncomingMessage;

export class Exchange implements AttemptOwner {
  declare readonly ctx: ExchangeContext;
  declare readonly req: IncomingMessage;
  declare readonly res: ServerResponse;
  declare readonly pool: Pool;
  declare readonly opts: Dispatcher.DispatchOptions;
  declare readonly idempotent: boolean;
  declare readonly maxAttempts: number;
  /** The body can be sent again: none, or fully buffered. */
  declare readonly replayable: boolean;
  /** Upstreams already tried (allocated on first retry only). */
  declare tried: Upstream[] | null;
  declare tries: number;
  declare current: Attempt | null;
  declare lastFailure: ErrorCode | null;
  declare done: boolean;
  /** Why each retry happened, for the x-fairway-retries debug header (null = none yet). */
  declare retryLog: string | null;

  constructor(
    ctx: ExchangeContext,
    req: IncomingMessage,
    res: ServerResponse,
    pool: Pool,
    opts: Dispatcher.DispatchOptions,
    idempotent: boolean,
    replayable: boolean,
  ) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.pool = pool;
    this.opts = opts;
    this.idempotent = idempotent;
    this.maxAttempts = pool.config.retry.attempts;
    this.replayable = replayable;
    this.tried = null;
    this.tries = 0;
    this.current = null;
    this.lastFailure = null;
    this.done = false;
    this.retryLog = null;
  }

  /** Starts the first try. Called once. */
  start(): void {
    (this.res as ProxyResponse).exchange = this;
    this.res.on('close', onResponseClose);
    this.tryNext();
  }

  /** Picks an upstream and dispatches one try; answers 503 at once when the pool is empty. */
  private tryNext(): void {
    if (this.done) return;
    const now = this.ctx.clock();
    const u = this.pool.pick(this.tried, now);
    if (u === undefined || u.dispatcher === null) {
      if (this.tries === 0) this.pool.counters.noUpstream++;
      this.finishWithError(this.lastFailure ?? ErrorCode.NoUpstream);
      return;
    }
    const isRetry = this.tries > 0;
    this.tries++;
    if (this.tried !== null) this.tried.push(u);
    const attempt = new Attempt(this, u, now);
    this.current = attempt;
    this.pool.start(u, now, isRetry);
    try {
      u.dispatcher.dispatch(this.opts, attempt);
    } catch (err) {
      // dispatch() throws only for invalid options (a bug or a header undici refuses).
      this.settle(attempt, Outcome.Neutral, ErrorCode.Internal);
      this.ctx.log.error({ err, pool: this.pool.name, upstream: u.origin }, 'dispatch failed');
      this.finishWithError(ErrorCode.BadRequest);
    }
  }

  // ── AttemptOwner ────────────────────────────────────────────────────────────────────────

  onAttemptHeaders(a: Attempt, status: number, headers: Headers): boolean {
    const now = this.ctx.clock();
    a.headersAt = now;
    if (this.done) {
      this.settle(a, Outcome.Neutral, ErrorCode.ClientAbort);
      return false;
    }
    if (status === 502 || status === 503 || status === 504) {
      // A failure for health and balancing whatever happens next.
      if (this.retryAllowed(Phase.ResponseHeaders, ErrorCode.UpstreamStatus)) {
        this.settle(a, Outcome.Failure, ErrorCode.UpstreamStatus);
        this.scheduleRetry(`${status}`);
        return false; // the rest of this response is read and dropped, keeping the connection
      }
    }
    const res = this.res;
    const list = forwardResponseHeaders(headers);
    if (this.retryLog !== null) list.push('x-fairway-retries', this.retryLog);
    if (this.ctx.isDraining()) list.push('connection', 'close');
    try {
      res.writeHead(status, list);
    } catch (err) {
      // Node refused a header value: treat as a malformed response, before any byte was sent.
      this.ctx.log.debug({ err, upstream: a.upstream.origin }, 'response headers rejected');
      a.abort(err as Error);
      this.settle(a, Outcome.Failure, ErrorCode.BadResponse);
      this.finishWithError(ErrorCode.BadResponse);
      return false;
    }
    a.phase = Phase.ResponseStarted;
    // Coalesce the head, a small body and its end into one write (one syscall): undici usually
    // delivers all three in the same tick. Uncorked on the next tick, so streaming is unaffected.
    res.cork();
    process.nextTick(uncork, res);
    return true;
  }

  onAttemptData(a: Attempt, chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', a.resume);
    return false;
  }

  onAttemptEnd(a: Attempt): void {
    const failed = a.status === 502 || a.status === 503 || a.status === 504;
    this.settle(a, failed ? Outcome.Failure : Outcome.Success, ErrorCode.UpstreamStatus);
    this.done = true;
    this.res.end();
  }

  onAttemptError(a: Attempt, err: Error): void {
    if (a.finished) return;
    if (this.done || a !== this.current || this.clientGone()) {
      // The client left (perhaps mid-upload, failing the body stream), or this try was
      // replaced: says nothing about the upstream.
      if (a === this.current) this.done = true;
      this.settle(a, Outcome.Neutral, ErrorCode.ClientAbort);
      return;
    }
    const phase = a.phase;
    const code = classify(err, phase);
    if (code === ErrorCode.BadRequest || code === ErrorCode.BodyTooLarge) {
      // undici refused to send this request, or its body outgrew the limit: nothing to do
      // with the upstream, nothing to retry.
      this.settle(a, Outcome.Neutral, code);
      this.finishWithError(code);
      return;
    }
    this.settle(a, isConnectFailure(code) && phase === Phase.Connect ? Outcome.ConnectFailure : Outcome.Failure, code);
    this.ctx.log.debug({ pool: this.pool.name, upstream: a.upstream.origin, code, phase, err: err.message }, 'try failed');

    if (phase === Phase.ResponseStarted) {
      // Bytes already went to the client: never retried, never a truncated body that looks complete.
      this.done = true;
      this.res.destroy(err);
      return;
    }
    this.lastFailure = code;
    if (this.retryAllowed(phase, code)) {
      this.scheduleRetry(code);
      return;
    }
    this.finishWithError(code);
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  /** Ends the bookkeeping of a try: pool.finish + passive health, exactly once per try. */
  private settle(a: Attempt, outcome: Outcome, code: string): void {
    if (a.finished) return;
    a.finished = true;
    const now = this.ctx.clock();
    const latencyMs = (a.headersAt > 0 ? a.headersAt : now) - a.startedAt;
    const u = a.upstream;
    const ok = outcome === Outcome.Success || outcome === Outcome.Neutral;
    if (outcome === Outcome.Failure || outcome === Outcome.ConnectFailure) u.failures++;
    const status = a.status;
    u.responses[status === 0 ? 0 : Math.min(5, (status / 100) | 0)]!++;
    u.latencySumSec += latencyMs / 1000;
    u.latency.record(latencyMs);
    this.pool.finish(u, now, latencyMs, ok);
    observeOutcome(this.pool, u, outcome, now, code, this.ctx.log);
  }

  /** Whether another try may follow a failure in `phase` with `code`. Takes budget when yes. */
  private retryAllowed(phase: Phase, code: ErrorCode): boolean {
    if (this.tries >= this.maxAttempts) return false;
    if (!isRetryable(phase, code, this.idempotent, this.bodyReplayableAfter(phase))) return false;
    if (this.pool.members.length === 0) return false;
    if (!this.pool.budget.tryAcquire(this.ctx.clock())) {
      this.pool.counters.budgetExhausted++;
      return false;
    }
    return true;
  }

  /**
   * A buffered (or absent) body can always be sent again. A streamed body can be only when the
   * failed try never connected: undici had not read from it yet.
   */
  private bodyReplayableAfter(phase: Phase): boolean {
    if (this.replayable) return true;
    const body = this.opts.body as Readable;
    // undici writes (and so reads) a stream body only once connected (client-h1 writeH1): a
    // try that failed in the connect phase left every byte in the stream. (readableDidRead is
    // no guide: the http server's own buffering sets it.)
    return phase === Phase.Connect && !body.destroyed && !body.readableEnded;
  }

  private scheduleRetry(reason: string): void {
    this.pool.counters.retries++;
    this.retryLog = this.retryLog === null ? reason : `${this.retryLog},${reason}`;
    const r = this.pool.config.retry;
    const delay = backoffMs(this.tries, r.backoffBaseMs, r.backoffMaxMs, this.ctx.rng);
    // The first retry creates the list of tried upstreams: a request that succeeds at once
    // never allocates it.
    this.tried ??= [this.current!.upstream];
    setTimeout(retryLater, delay, this);
  }

  /** Runs the next try (called by the backoff timer). */
  retry(): void {
    this.tryNext();
  }

  private finishWithError(code: ErrorCode): void {
    if (this.done) return;
    this.done = true;
    // An unread or partly read request body means the connection cannot be reused.
    respondError(this.res, code, this.ctx.isDraining() || code === ErrorCode.BodyTooLarge);
  }

  /** The client connection is gone before its response was complete. */
  private clientGone(): boolean {
    return (this.res.destroyed && !this.res.writableFinished) || (this.req.destroyed && !this.req.complete);
  }

  /** The client connection closed. If the response was not complete, stop the try. */
  onClientClose(): void {
    if (this.res.writableFinished) return;
    this.done = true;
    const a = this.current;
    if (a !== null && !a.finished) a.abort(new Error('client closed'));
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

/** Backoff timer callback: a plain function with the exchange as argument, no closure per retry. */
function retryLater(ex: Exchange): void {
  ex.retry();
}

/**
 * The data-plane ServerResponse: carries its Exchange so one shared 'close' listener can reach
 * it, instead of a closure per request.
 */
export class ProxyResponse extends ServerResponse {
  exchange: Exchange | null = null;
}

function onResponseClose(this: ProxyResponse): void {
  this.exchange?.onClientClose();
}
