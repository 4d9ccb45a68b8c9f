// The Downstream adapter for a request served by someone else's node:http server (the library's
// createProxy(): the application owns the server, Fairway only its handler). It wraps the
// application's own IncomingMessage/ServerResponse (which may be a framework's subclass) instead
// of replacing the response class as Fairway's own listener does (server/h1.ts H1Response).
// It translates calls; what happens to the request is server/handler.ts's.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ErrorCode } from '../core/errors.ts';
import { clientAddressOf, type CompiledRules } from '../proxy/headers.ts';
import { respondError } from '../proxy/respond.ts';
import type { ClientCloseListener, Downstream } from '../server/downstream.ts';
import type { RequestHead } from '../server/edge-checks.ts';

/** One request of a hosting server, as the pipeline sees it. One object per request. */
export class HostedRequest implements Downstream {
  readonly method: string;
  readonly target: string;
  readonly rawHeaders: readonly string[];
  readonly version: number;
  readonly clientAddress: string;
  readonly secure: boolean;
  readonly head: RequestHead;
  readonly body: Readable;
  readonly hasBody: boolean | null;
  readonly upgrade: string | null;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.target = req.url ?? '';
    this.rawHeaders = req.rawHeaders;
    this.version = req.httpVersionMajor * 10 + req.httpVersionMinor;
    this.clientAddress = clientAddressOf(req.socket?.remoteAddress);
    this.secure = (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
    this.head = req;
    this.body = req;
    this.hasBody = null;
    this.upgrade = null;
  }

  get headSent(): boolean {
    return this.res.headersSent;
  }

  get gone(): boolean {
    const { req, res } = this;
    return (res.destroyed && !res.writableFinished) || (req.destroyed && !req.complete);
  }

  watch(listener: ClientCloseListener): void {
    const res = this.res;
    res.once('close', () => {
      if (!res.writableFinished) listener.onClientClose();
    });
  }

  sendHead(status: number, headers: string[]): void {
    const res = this.res;
    res.writeHead(status, headers);
    // As Fairway's own listener does: the head, a small body and its end leave in one write.
    res.cork();
    process.nextTick(() => res.uncork());
  }

  sendChunk(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  whenDrained(fn: () => void): void {
    this.res.once('drain', fn);
  }

  sendEnd(): void {
    this.res.end();
  }

  sendError(code: ErrorCode, close: boolean, rules: CompiledRules | null = null): void {
    respondError(this.res, code, close, rules);
  }

  abort(err: Error): void {
    this.res.destroy(err);
  }

  tunnel(): void {
    throw new Error('not an upgrade request');
  }
}
