// One try of a request on one upstream: the undici dispatch handler. It records how far the try
// got (its phase), hands the request loop one verdict as a promise (a response head, a 101 with
// its socket, or a failure), and once the loop accepts the response, streams the body to the
// client with backpressure and reports the end. It decides nothing: retries and bookkeeping
// belong to the loop and its Exchange (server/).

import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Phase } from '../core/errors.ts';
import type { Upstream } from '../pool/upstream.ts';
import type { ResponseHeaders } from './headers.ts';
import { MAX_RESPONSE_FIELDS, responseHeadProblem } from './response-checks.ts';

type Controller = Dispatcher.DispatchController;

/** What `Attempt.verdict` resolves with. */
export const Verdict = {
  /** Response headers arrived (status ≥ 200): see `status` and `headers`. */
  Head: 0,
  /** The try failed before its response was accepted: see `error` and `phase`. */
  Failed: 1,
  /** The upstream switched protocols (101): see `socket`. */
  Upgraded: 2,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Where an accepted response goes, and who hears how it ended. */
export interface AttemptSink {
  /** A body chunk; false = stop until the sink calls `attempt.resume()`. */
  onAttemptData(a: Attempt, chunk: Buffer): boolean;
  /** The whole response arrived. */
  onAttemptEnd(a: Attempt): void;
  /** The response failed after it was accepted (bytes may have gone to the client). */
  onAttemptError(a: Attempt, err: Error): void;
}

/** Header fields in undici's parsed headers (arrays count once per value). Rare path only. */
function countFields(headers: ResponseHeaders): number {
  let n = 0;
  for (const name in headers) {
    const v = headers[name];
    n += Array.isArray(v) ? v.length : 1;
  }
  return n;
}

/**
 * Per-try timeouts below this are kept by a timer of the try's own: undici's header timeout runs
 * on its coarse timers (a ~0.5 s tick), which fire up to about 1 s late (a 300 ms timeout took
 * 1.0 s), a large error for a short timeout and a negligible one for the 30 s default, which
 * keeps costing nothing extra.
 */
export const PRECISE_TIMEOUT_BELOW_MS = 5000;

function onTryTimeout(a: Attempt): void {
  a.timeOut();
}

/** `new Promise(capture)` hands out its resolve function without a closure per attempt. */
let captured: ((v: Verdict) => void) | null = null;
function capture(resolve: (v: Verdict) => void): void {
  captured = resolve;
}

/**
 * One try. Allocated per try, fields fixed in the constructor. Until `accept()`, body chunks
 * that arrive in the same tick as the head wait in `pending` (at most what one socket read
 * brought); after it they stream straight to the sink.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  declare readonly upstream: Upstream;
  /** Clock time the try was dispatched. */
  declare readonly startedAt: number;
  /** Resolves once: the first of head, upgrade or failure. */
  declare readonly verdict: Promise<Verdict>;
  declare private resolveVerdict: ((v: Verdict) => void) | null;
  /** Clock time response headers (or the 101) arrived; 0 before. */
  declare headersAt: number;
  declare phase: Phase;
  /** Response status (0 before headers). */
  declare status: number;
  declare headers: ResponseHeaders | null;
  /** The failure, once there is one. */
  declare error: Error | null;
  /** The upstream socket after a 101. */
  declare socket: Duplex | null;
  declare controller: Controller | null;
  /** Where the body goes once accepted; null before. */
  declare sink: AttemptSink | null;
  /** Chunks that arrived before accept(): a Buffer, a list of them, or null. */
  declare pending: Buffer | Buffer[] | null;
  /** The response ended before accept(). */
  declare endedEarly: boolean;
  /** This try's response is thrown away (a retry replaced it, or the client left). */
  declare discarded: boolean;
  /** Its bookkeeping was done (Exchange.settle): exactly once per try. */
  declare settled: boolean;
  declare private resumeFn: (() => void) | null;
  /** Per-try timeout (ms) when below PRECISE_TIMEOUT_BELOW_MS, else 0 (undici's own applies). */
  declare private readonly timeoutMs: number;
  declare private timer: NodeJS.Timeout | null;

  /** `timeoutMs`: the per-try timeout, request sent → response head (0 = none). */
  constructor(upstream: Upstream, startedAt: number, timeoutMs = 0) {
    this.upstream = upstream;
    this.startedAt = startedAt;
    this.timeoutMs = timeoutMs > 0 && timeoutMs < PRECISE_TIMEOUT_BELOW_MS ? timeoutMs : 0;
    this.timer = null;
    this.verdict = new Promise<Verdict>(capture);
    this.resolveVerdict = captured;
    captured = null;
    this.headersAt = 0;
    this.phase = Phase.Connect;
    this.status = 0;
    this.headers = null;
    this.error = null;
    this.socket = null;
    this.controller = null;
    this.sink = null;
    this.pending = null;
    this.endedEarly = false;
    this.discarded = false;
    this.settled = false;
    this.resumeFn = null;
  }

  /** Gives the loop its verdict; only the first call counts. */
  private decide(v: Verdict): void {
    const resolve = this.resolveVerdict;
    if (resolve === null) return;
    this.resolveVerdict = null;
    resolve(v);
  }

  // ── undici's side ───────────────────────────────────────────────────────────────────────

  /** A connected socket is about to carry the request: from here on the upstream may see it. */
  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.discarded) {
      controller.abort(new Error('attempt discarded'));
      return;
    }
    this.phase = Phase.RequestSent;
    // Started where undici starts its header timeout: as the request is written.
    if (this.timeoutMs > 0 && this.timer === null) this.timer = setTimeout(onTryTimeout, this.timeoutMs, this);
  }

  /** No response head within the per-try timeout: fails the try as undici's timeout would. */
  timeOut(): void {
    this.timer = null;
    if (this.resolveVerdict === null) return;
    const err = Object.assign(new Error(`no response head within ${this.timeoutMs} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    this.abort(err);
    this.decide(Verdict.Failed);
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  onRequestUpgrade(controller: Controller, status: number, headers: ResponseHeaders, socket: Duplex): void {
    this.clearTimer();
    this.controller = controller;
    this.status = status;
    this.headers = headers;
    this.phase = Phase.ResponseHeaders;
    this.socket = socket;
    if (this.discarded) {
      socket.destroy();
      return;
    }
    this.decide(Verdict.Upgraded);
  }

  onResponseStart(controller: Controller, status: number, headers: ResponseHeaders): void {
    if (status >= 100 && status < 200) return; // 1xx informational: undici handles 100-continue; not forwarded
    this.clearTimer();
    this.controller = controller;
    // Stricter than undici's parser (response-checks.ts): refused as a malformed response, and the
    // connection is dropped with the try, so nothing of it can reach another client.
    const raw = (controller as { rawHeaders?: readonly unknown[] | null }).rawHeaders;
    const fields = raw == null ? countFields(headers) : raw.length / 2;
    const problem = responseHeadProblem(status, fields, headers['transfer-encoding'], MAX_RESPONSE_FIELDS);
    if (problem !== null) {
      this.phase = Phase.ResponseHeaders;
      this.status = 0;
      this.discarded = true;
      this.error = Object.assign(new Error(`upstream response refused: ${problem}`), { code: 'FAIRWAY_BAD_RESPONSE' });
      this.decide(Verdict.Failed);
      controller.abort(this.error);
      return;
    }
    this.status = status;
    this.headers = headers;
    this.phase = Phase.ResponseHeaders;
    this.decide(Verdict.Head);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.discarded) return;
    const sink = this.sink;
    if (sink === null) {
      const p = this.pending;
      this.pending = p === null ? chunk : Array.isArray(p) ? (p.push(chunk), p) : [p, chunk];
      return;
    }
    if (!sink.onAttemptData(this, chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.discarded) return;
    if (this.sink === null) this.endedEarly = true;
    else this.sink.onAttemptEnd(this);
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.clearTimer();
    if (this.error === null) this.error = err;
    if (this.resolveVerdict !== null) {
      this.decide(Verdict.Failed);
      return;
    }
    if (this.discarded) return;
    // After a verdict: an accepted response reports its failure; one not yet accepted finds
    // `error` set when the loop gets to it.
    this.sink?.onAttemptError(this, err);
  }

  // ── the loop's side ─────────────────────────────────────────────────────────────────────

  /**
   * Starts streaming the response to `sink`: first what arrived with the head, then the rest as
   * it comes; reports an end or a failure that happened meanwhile. Called once, after the head
   * was sent to the client (so the phase is ResponseStarted).
   */
  accept(sink: AttemptSink): void {
    this.sink = sink;
    this.phase = Phase.ResponseStarted;
    const p = this.pending;
    this.pending = null;
    let more = true;
    if (p !== null) {
      if (Array.isArray(p)) for (let i = 0; i < p.length; i++) more = sink.onAttemptData(this, p[i]!) && more;
      else more = sink.onAttemptData(this, p);
    }
    if (this.error !== null) sink.onAttemptError(this, this.error);
    else if (this.endedEarly) sink.onAttemptEnd(this);
    else if (!more) this.controller?.pause();
  }

  /** Resumes a paused body (the sink's drain listener); created once per try, on first use. */
  get resume(): () => void {
    return (this.resumeFn ??= () => this.controller?.resume());
  }

  /**
   * Throws this try's response away but lets it run to its end, so the connection is kept
   * for the next request (a 503 that is retried elsewhere). Safe to repeat.
   */
  drop(): void {
    this.discarded = true;
    this.pending = null;
  }

  /**
   * Stops this try at once (the client left): aborts the upstream request, or, before it was
   * even sent, fails the verdict now and aborts it when undici starts it. Safe to repeat.
   */
  abort(reason: Error): void {
    this.clearTimer();
    this.discarded = true;
    this.pending = null;
    if (this.error === null) this.error = reason;
    const c = this.controller;
    if (c === null) this.decide(Verdict.Failed);
    else if (!c.aborted) c.abort(reason);
  }
}
