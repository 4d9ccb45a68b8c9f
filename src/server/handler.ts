// The request path, top to bottom, for every client protocol (a Downstream adapter per
// protocol: h1.ts) and for WebSocket upgrades alike:
//
//   route → checks → pool → body → ┌─ pick → attempt → verdict ─┐ → respond
//                                  └──── retry decision ◄───────┘   (loop ≤ attempts)
//
// `serve()` is that loop as one async function. Everything a try does on the wire is
// proxy/attempt.ts; the bookkeeping of each try (settle) and the streaming of an accepted
// response is exchange.ts; proxy-produced errors go through the Downstream.

import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCode, Phase, STATUS_OF, classify } from '../core/errors.ts';
import { Outcome } from '../core/outcome.ts';
import { NO_KEY } from '../balancer/types.ts';
import type { AccessLog } from '../observability/access-log.ts';
import type { Pool } from '../pool/pool.ts';
import { Verdict } from '../proxy/attempt.ts';
import { applyRules, forwardRequestHeaders, forwardResponseHeaders, type CompiledRules } from '../proxy/headers.ts';
import { noteRelayedStream } from '../proxy/relay-gc.ts';
import { collectBody, limitBody } from '../proxy/replay-buffer.ts';
import { ALLOWED_METHODS } from '../proxy/respond.ts';
import { backoffMs, isIdempotent, isRetryable } from '../proxy/retry.ts';
import { isValidTraceparent, newTraceparent, traceIdOf } from '../proxy/trace.ts';
import type { Downstream } from './downstream.ts';
import { Reject, checkHost, checkRequestHead, type EdgeLimits, type EdgeRejection } from './edge-checks.ts';
import { CLIENT_CLOSED_STATUS, Exchange, errorBodyBytes, isFailureStatus, writeAccess, type PipelineContext } from './exchange.ts';
import { hasDotSegment, rewritePath, type Route } from './route.ts';
import { hostname, type Router } from './router.ts';

/** The config generation a request resolves once, at its start, and keeps to its end. */
export interface Generation {
  readonly router: Router<Route>;
  readonly maxBodyBytes: number;
  /** server.maxHeaderCount and server.maxUrlSize, for the edge checks. */
  readonly edge: EdgeLimits;
  /** Create a traceparent for requests without a valid one. */
  readonly tracing: boolean;
  /** null = no access log (nothing is built per request for it). */
  readonly accessLog: AccessLog | null;
}

export interface HandlerContext extends PipelineContext {
  current(): Generation;
}

/** Returns the entry point every protocol adapter hands its requests to. */
export function createHandler(ctx: HandlerContext): (client: Downstream) => void {
  return function handle(client) {
    void serve(ctx, client);
  };
}

/**
 * Serves one client request from routing to the last byte. Never rejects: a bug is logged and
 * answered 502 `internal` (or the client is aborted when the response had started).
 */
export async function serve(ctx: HandlerContext, client: Downstream): Promise<void> {
  let ex: Exchange | null = null;
  const gen = ctx.current();
  const startedAt = ctx.clock();
  try {
    // ── 1. route and checks ─────────────────────────────────────────────────────────────────
    const draining = ctx.isDraining();
    // What Node's parser lets through and an upstream must never see (edge-checks.ts): version,
    // target, field count, ambiguous framing, Host. Refused with the connection closed.
    const head = client.head;
    const refusal = head !== null ? checkRequestHead(head, gen.edge) : checkH2Head(client, gen.edge);
    if (refusal !== null) return reject(ctx, gen, client, startedAt, null, refusal.code as ErrorCode, true, null);
    const fwd = forwardRequestHeaders(client.rawHeaders, client.clientAddress, client.secure ? 'https' : 'http');
    // A reverse proxy does not tunnel CONNECT (HTTP/1.1's is refused by the listener itself).
    if (client.method === 'CONNECT') return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.MethodNotAllowed, draining, null);
    const target = originFormPath(client.target);
    if (target === null) return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.BadRequest, draining, null);
    if (target === '*') return answerAsterisk(client, draining);
    if (client.upgrade !== null && draining) return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.Draining, true, null);
    const route = gen.router.match(hostname(fwd.host ?? undefined), target);
    if (route === undefined) return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.NoRoute, draining, null);
    // A dot segment would let the upstream resolve the request out of the rewritten prefix.
    if (route.rewriteFrom !== null && hasDotSegment(target)) return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.BadRequest, draining, route);
    const pool = route.pool;
    const maxBody = gen.maxBodyBytes;
    // The body is not read: close the connection rather than drain an unwanted upload.
    if (maxBody > 0 && fwd.contentLength > maxBody) return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.BodyTooLarge, true, route);

    // ── 2. what the upstream sees: path rewrite, header rules, trace context ──────────────
    const path = route.rewriteFrom === null ? target : rewritePath(target, route.rewriteFrom, route.rewriteTo);
    const headers = fwd.headers;
    if (route.requestHeaders !== null) applyRules(headers, route.requestHeaders);
    const traceId = traceContext(headers, fwd.traceparent, fwd.tracestate, gen.tracing);

    // ── 3. the pool counts the request (retries are budgeted against it) ─────────────────
    pool.counters.requests++;
    pool.budget.recordRequest(startedAt);

    // ── 4. the body: none, buffered whole so a retry can send it again, or streamed once ──
    const retry = pool.config.retry;
    let body: Buffer | Readable | null = null;
    let replayable = true;
    if (client.hasBody ?? (fwd.chunked || fwd.contentLength > 0)) {
      // -1 (chunked) fits the buffer until proven otherwise.
      if (retry.attempts > 1 && fwd.contentLength <= retry.bufferBytes) {
        const collected = await collectBody(client.body, retry.bufferBytes);
        if (collected === null) return logEarly(ctx, gen, client, startedAt, fwd.host, CLIENT_CLOSED_STATUS, ErrorCode.ClientAbort, pool);
        if (Buffer.isBuffer(collected)) {
          if (maxBody > 0 && collected.length > maxBody) return reject(ctx, gen, client, startedAt, fwd.host, ErrorCode.BodyTooLarge, true, route);
          body = collected;
        }
      }
      if (body === null) {
        // Without Content-Length the size limit is enforced while the body streams.
        body = maxBody > 0 && fwd.contentLength < 0 ? limitBody(client.body, maxBody) : client.body;
        noteRelayedStream(body);
        replayable = false;
      }
    }
    const dispatch: Dispatcher.DispatchOptions = {
      path,
      method: client.method as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: retry.perTryTimeoutMs,
      bodyTimeout: pool.config.timeouts.idleMs,
      upgrade: client.upgrade,
    };
    ex = new Exchange({
      ctx,
      client,
      route,
      startedAt,
      host: fwd.host,
      traceId,
      accessLog: gen.accessLog,
      dispatch,
      idempotent: isIdempotent(client.method, fwd.hasIdempotencyKey),
      replayable,
    });

    // ── 5. the attempt loop ───────────────────────────────────────────────────────────────
    // A consistent-hash pool's key, once per request (a retry walks on from the same key).
    const key = pool.keyOf === null ? NO_KEY : pool.keyOf(client.rawHeaders, target, client.clientAddress);
    for (;;) {
      const now = ctx.clock();
      const u = pool.pick(ex.tried, now, key);
      if (u === undefined || u.dispatcher === null) {
        if (ex.tries === 0) pool.counters.noUpstream++;
        return ex.fail(ex.lastFailure ?? ErrorCode.NoUpstream);
      }
      const a = ex.begin(u, now);
      const verdict = await a.verdict;
      if (ex.done) {
        // The client left while this try ran: it says nothing about the upstream.
        ex.settle(a, Outcome.Neutral, ErrorCode.ClientAbort);
        return;
      }
      if (verdict !== Verdict.Failed) a.headersAt = ctx.clock();

      if (verdict === Verdict.Upgraded) return ex.tunnel(a, forwardResponseHeaders(a.headers!, a.status));
      if (verdict === Verdict.Head && a.error === null) {
        // A 502/503/504 answer is retried like a failure when the rules allow; its body is dropped.
        if (isFailureStatus(a.status) && mayRetry(ex, pool, Phase.ResponseHeaders, ErrorCode.UpstreamStatus)) {
          ex.settle(a, Outcome.Failure, ErrorCode.UpstreamStatus);
          a.drop();
          if (!(await backoff(ex, pool, String(a.status)))) return;
          continue;
        }
        try {
          ex.deliver(a, forwardResponseHeaders(a.headers!, a.status));
        } catch (err) {
          // The client protocol refused a header value: a malformed response, nothing was sent.
          ctx.log.debug({ err, upstream: u.origin }, 'response headers rejected');
          a.abort(err as Error);
          ex.settle(a, Outcome.Failure, ErrorCode.BadResponse);
          ex.fail(ErrorCode.BadResponse);
        }
        return;
      }

      // ── the try failed before any byte of its response reached the client ────────────
      const code = classify(a.error, a.phase);
      ex.settle(a, Exchange.outcomeOf(code, a.phase), code);
      ctx.log.debug({ pool: pool.name, upstream: u.origin, code, phase: a.phase, err: a.error?.message }, 'try failed');
      ex.lastFailure = code;
      if (!mayRetry(ex, pool, a.phase, code)) return ex.fail(code);
      if (!(await backoff(ex, pool, code))) return;
    }
  } catch (err) {
    onBug(ctx, client, ex, err);
  }
}

/**
 * The edge rules an HTTP/2 request still needs (nghttp2 checked framing and field syntax, and
 * its header list limits): a valid `:authority`/Host and the target length.
 */
function checkH2Head(client: Downstream, limits: EdgeLimits): EdgeRejection | null {
  let host: string | null = null;
  let count = 0;
  const raw = client.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host' && count++ === 0) host = raw[i + 1]!;
  }
  return checkHost(host, count, 1, 1) ?? (client.target.length > limits.maxUrlBytes ? Reject.TargetTooLong : null);
}

/**
 * W3C Trace Context: a valid incoming traceparent goes on unchanged with its tracestate; a
 * missing or invalid one (its tracestate with it) is replaced by a new one when tracing is on.
 * Appends to `headers`; returns the trace id the request travels with, or null.
 */
function traceContext(headers: string[], traceparent: string | null, tracestate: string | null, tracing: boolean): string | null {
  if (traceparent !== null && isValidTraceparent(traceparent)) {
    headers.push('traceparent', traceparent);
    if (tracestate !== null) headers.push('tracestate', tracestate);
    return traceIdOf(traceparent);
  }
  if (!tracing) return null;
  const fresh = newTraceparent();
  headers.push('traceparent', fresh);
  return traceIdOf(fresh);
}

/** Answers a request the pipeline refuses before any try, and logs it. */
function reject(ctx: HandlerContext, gen: Generation, client: Downstream, startedAt: number, host: string | null, code: ErrorCode, close: boolean, route: Route | null): void {
  client.sendError(code, close, route?.responseHeaders ?? null);
  logEarly(ctx, gen, client, startedAt, host, STATUS_OF[code], code, route?.pool ?? null, errorBodyBytes(client, code));
}

/** The access log line of a request that ended before an Exchange existed. */
function logEarly(ctx: HandlerContext, gen: Generation, client: Downstream, startedAt: number, host: string | null, status: number, error: string | null, pool: Pool | null, bytes = 0): void {
  const log = gen.accessLog;
  if (log === null) return;
  writeAccess(log, client, { host, status, bytes, durationMs: ctx.clock() - startedAt, pool: pool?.name ?? null, upstream: null, tries: 0, error, traceId: null });
}

/**
 * Whether another try may follow a failure with `code` in `phase`: attempts left, the retry
 * table (retry.ts), a body that can be sent again, and the pool's retry budget (taken when yes).
 */
function mayRetry(ex: Exchange, pool: Pool, phase: Phase, code: ErrorCode): boolean {
  if (ex.tries >= pool.config.retry.attempts) return false;
  if (!isRetryable(phase, code, ex.idempotent, bodyReplayableAfter(ex, phase))) return false;
  if (!pool.budget.tryAcquire(ex.ctx.clock())) {
    pool.counters.budgetExhausted++;
    return false;
  }
  return true;
}

/**
 * A buffered (or absent) body can always be sent again. A streamed one only when the failed try
 * never connected: undici writes (and so reads) a stream body only once connected (client-h1
 * writeH1), so a connect-phase failure left every byte in the stream. (readableDidRead is no
 * guide: the http server's own buffering sets it.)
 */
function bodyReplayableAfter(ex: Exchange, phase: Phase): boolean {
  if (ex.replayable) return true;
  const body = ex.dispatch.body as Readable;
  return phase === Phase.Connect && !body.destroyed && !body.readableEnded;
}

/** Counts a retry and waits the full-jitter backoff; false when the client left meanwhile. */
async function backoff(ex: Exchange, pool: Pool, reason: string): Promise<boolean> {
  pool.counters.retries++;
  // The list of upstreams to avoid starts with the first retry: a request that succeeds at once
  // never allocates it.
  ex.tried ??= [ex.current!.upstream];
  ex.retryLog = ex.retryLog === null ? reason : `${ex.retryLog},${reason}`;
  const r = pool.config.retry;
  const delay = backoffMs(ex.tries, r.backoffBaseMs, r.backoffMaxMs, ex.ctx.rng);
  await new Promise((resolve) => setTimeout(resolve, delay));
  return !ex.done;
}

/** A bug surfaced while serving: log it, answer 502 `internal` or abort, and settle the try. */
function onBug(ctx: HandlerContext, client: Downstream, ex: Exchange | null, err: unknown): void {
  try {
    ctx.log.error({ err }, 'request failed unexpectedly');
    const a = ex?.current;
    if (ex !== null && a != null && !a.settled) {
      a.abort(err instanceof Error ? err : new Error(String(err)));
      ex.settle(a, Outcome.Neutral, ErrorCode.Internal);
    }
    if (client.headSent) client.abort(err instanceof Error ? err : new Error(String(err)));
    else {
      client.sendError(ErrorCode.Internal, true);
      if (ex !== null) ex.bytes = errorBodyBytes(client, ErrorCode.Internal);
    }
    ex?.complete(STATUS_OF[ErrorCode.Internal], ErrorCode.Internal);
  } catch {
    // Nothing sensible is left to do for this request; the process must keep running.
  }
}

/**
 * `OPTIONS *` asks about the server itself, which is this proxy (RFC 9110 §9.3.7): answered
 * here. Any other method with `*` is malformed (400). Never forwarded: upstreams are not the
 * server the client addressed, and undici cannot send it anyway.
 */
function answerAsterisk(client: Downstream, draining: boolean): void {
  if (client.method !== 'OPTIONS' || client.upgrade !== null) return client.sendError(ErrorCode.BadRequest, draining);
  const headers = ['allow', ALLOWED_METHODS, 'content-length', '0'];
  if (draining) headers.push('connection', 'close');
  client.sendHead(204, headers);
  client.sendEnd();
}

/**
 * The request target in origin form. Absolute-form ("http://host/p?q", RFC 9112 §3.2.2) is
 * reduced to its path and query; "*" (OPTIONS) passes as is; anything else is null (400).
 */
export function originFormPath(url: string | undefined): string | null {
  if (url === undefined || url.length === 0) return null;
  const c = url.charCodeAt(0);
  if (c === 47 /* / */) return url;
  if (url === '*') return url;
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const slash = url.indexOf('/', url.indexOf('//') + 2);
    if (slash === -1) {
      const q = url.indexOf('?');
      return q === -1 ? '/' : `/${url.slice(q)}`;
    }
    return url.slice(slash);
  }
  return null;
}
