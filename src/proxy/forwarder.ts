// One try of a request on one upstream: an undici dispatch handler that streams the response
// straight into the client's ServerResponse with backpressure and records the phase reached.
// It decides nothing about retries: every outcome goes back to its Exchange.

import type { Dispatcher } from 'undici';
import type { Upstream } from '../pool/upstream.ts';
import { Phase } from '../core/errors.ts';

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** What an Attempt reports to the request that owns it. */
export interface AttemptOwner {
  /** Response headers arrived. Return true to stream this response to the client. */
  onAttemptHeaders(a: Attempt, status: number, headers: Headers): boolean;
  /** A body chunk of an accepted response. Return false to apply backpressure. */
  onAttemptData(a: Attempt, chunk: Buffer): boolean;
  onAttemptEnd(a: Attempt): void;
  onAttemptError(a: Attempt, err: Error): void;
}

/** One try. Allocated per try (not per chunk); fields fixed in the constructor. */
export class Attempt implements Dispatcher.DispatchHandler {
  declare readonly owner: AttemptOwner;
  declare readonly upstream: Upstream;
  declare readonly startedAt: number;
  /** Clock time response headers arrived (0 before). */
  declare headersAt: number;
  declare phase: Phase;
  declare status: number;
  declare controller: Controller | null;
  /** The response of this try is being thrown away (a retry replaced it). */
  declare discarded: boolean;
  /** pool.finish() was called for this try. */
  declare finished: boolean;
  private resumeFn: (() => void) | null;

  constructor(owner: AttemptOwner, upstream: Upstream, startedAt: number) {
    this.owner = owner;
    this.upstream = upstream;
    this.startedAt = startedAt;
    this.headersAt = 0;
    this.phase = Phase.Connect;
    this.status = 0;
    this.controller = null;
    this.discarded = false;
    this.finished = false;
    this.resumeFn = null;
  }

  /** Called when a connected socket is about to carry the request: from here on the upstream may see it. */
  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.discarded) {
      controller.abort(new Error('attempt discarded'));
      return;
    }
    this.phase = Phase.RequestSent;
  }

  onResponseStart(controller: Controller, status: number, headers: Headers): void {
    if (status < 200) return; // 1xx informational: undici handles 100-continue; not forwarded
    this.status = status;
    this.phase = Phase.ResponseHeaders;
    if (this.discarded) return;
    if (!this.owner.onAttemptHeaders(this, status, headers)) {
      this.discarded = true;
    }
    void controller;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.discarded) return;
    if (!this.owner.onAttemptData(this, chunk)) {
      controller.pause();
    }
  }

  onResponseEnd(): void {
    if (this.discarded) return;
    this.owner.onAttemptEnd(this);
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.discarded && this.finished) return;
    this.owner.onAttemptError(this, err);
  }

  /** A `drain` listener that resumes the upstream stream; created once per try, on first use. */
  get resume(): () => void {
    return (this.resumeFn ??= () => this.controller?.resume());
  }

  /** Stops this try (client gone, or replaced). Safe to call more than once. */
  abort(reason: Error): void {
    this.discarded = true;
    const c = this.controller;
    if (c !== null && !c.aborted) c.abort(reason);
  }
}
