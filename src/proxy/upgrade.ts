// WebSocket (HTTP/1.1 Upgrade) proxying over the same pools, balancers and bookkeeping as plain
// requests: undici performs the upstream handshake, then the two sockets are spliced. The
// tunnel is torn down when either side closes or errors. No retries once the handshake was sent.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Outcome } from '../core/outcome.ts';
import { observeOutcome } from '../health/passive.ts';
import type { Pool } from '../pool/pool.ts';
import type { Upstream } from '../pool/upstream.ts';
import { STATUS_CODES } from 'node:http';
import { ErrorCode, Phase, classify, isConnectFailure } from '../core/errors.ts';
import { rawErrorResponse } from './respond.ts';
import type { ExchangeContext } from './exchange.ts';
import { forwardResponseHeaders } from './headers.ts';

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** Writes a proxy error as a raw HTTP response on a socket that asked to upgrade, then closes it. */
export function rejectUpgrade(socket: Duplex, code: ErrorCode): void {
  if (socket.writable) socket.end(rawErrorResponse(code));
  else socket.destroy();
}

function headerBlock(status: number, list: readonly string[]): string {
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < list.length; i += 2) s += `${list[i]}: ${list[i + 1]}\r\n`;
  return `${s}\r\n`;
}

/** One upgrade attempt: the client socket waits while undici does the upstream handshake. */
export class UpgradeAttempt implements Dispatcher.DispatchHandler {
  private declare readonly ctx: ExchangeContext;
  private declare readonly pool: Pool;
  private declare readonly u: Upstream;
  private declare readonly client: Duplex;
  private declare readonly head: Buffer;
  private declare readonly tunnels: Set<Duplex>;
  private declare readonly startedAt: number;
  private declare phase: Phase;
  private declare finished: boolean;
  private declare headersAt: number;

  constructor(ctx: ExchangeContext, pool: Pool, u: Upstream, client: Duplex, head: Buffer, tunnels: Set<Duplex>) {
    this.ctx = ctx;
    this.pool = pool;
    this.u = u;
    this.client = client;
    this.head = head;
    this.tunnels = tunnels;
    this.phase = Phase.Connect;
    this.finished = false;
    this.headersAt = 0;
    this.startedAt = ctx.clock();
    pool.start(u, this.startedAt, false);
    client.on('error', () => {}); // errors end in 'close'
    client.once('close', () => this.settle(Outcome.Neutral, 'client-abort'));
  }

  onRequestStart(controller: Controller): void {
    if (this.client.destroyed) controller.abort(new Error('client closed'));
    this.phase = Phase.RequestSent;
  }

  onRequestUpgrade(_c: Controller, status: number, headers: Headers, upstream: Duplex): void {
    this.headersAt = this.ctx.clock();
    const client = this.client;
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    // Upgrade and Connection are hop-by-hop, but a 101 must carry them: forward the upstream's.
    const list = forwardResponseHeaders(headers);
    list.push('connection', 'Upgrade', 'upgrade', String(headers['upgrade'] ?? 'websocket'));
    client.write(headerBlock(status, list));
    if (this.head.length > 0) upstream.write(this.head);
    this.tunnels.add(client);
    const teardown = (): void => {
      this.tunnels.delete(client);
      client.destroy();
      upstream.destroy();
      this.settle(Outcome.Success, 'ok');
    };
    // Either side ending ends the tunnel: the server socket is half-open capable, so a client
    // FIN alone would otherwise leave both sockets open.
    upstream.on('error', teardown);
    upstream.on('end', teardown);
    upstream.on('close', teardown);
    client.on('end', teardown);
    client.on('close', teardown);
    upstream.pipe(client);
    client.pipe(upstream);
  }

  // A non-101 answer: relay it as a close-delimited response, then close.
  onResponseStart(_c: Controller, status: number, headers: Headers): void {
    if (status < 200) return;
    this.headersAt = this.ctx.clock();
    this.phase = Phase.ResponseStarted;
    const list = forwardResponseHeaders(headers);
    list.push('connection', 'close');
    this.client.write(headerBlock(status, list));
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    this.client.write(chunk);
  }

  onResponseEnd(): void {
    this.settle(Outcome.Success, 'ok');
    this.client.end();
  }

  onResponseError(_c: Controller, err: Error): void {
    const code = classify(err, this.phase);
    const connect = this.phase === Phase.Connect && isConnectFailure(code);
    this.settle(this.client.destroyed ? Outcome.Neutral : connect ? Outcome.ConnectFailure : Outcome.Failure, code);
    if (this.phase === Phase.ResponseStarted) this.client.destroy();
    else rejectUpgrade(this.client, code);
  }

  private settle(outcome: Outcome, code: string): void {
    if (this.finished) return;
    this.finished = true;
    const now = this.ctx.clock();
    const latency = (this.headersAt > 0 ? this.headersAt : now) - this.startedAt;
    this.pool.finish(this.u, now, latency, outcome !== Outcome.Failure && outcome !== Outcome.ConnectFailure);
    observeOutcome(this.pool, this.u, outcome, now, code, this.ctx.log);
  }
}

/** Handles a server 'upgrade' event for a routed pool. */
export function proxyUpgrade(
  ctx: ExchangeContext,
  pool: Pool,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  path: string,
  /** From forwardRequestHeaders: hop-by-hop already removed; undici adds Upgrade/Connection. */
  headers: string[],
  tunnels: Set<Duplex>,
): void {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined) return rejectUpgrade(client, ErrorCode.BadRequest);
  const u = pool.pick(null, ctx.clock());
  if (u === undefined || u.dispatcher === null) return rejectUpgrade(client, ErrorCode.NoUpstream);
  pool.counters.requests++;
  const attempt = new UpgradeAttempt(ctx, pool, u, client, head, tunnels);
  u.dispatcher.dispatch(
    {
      path,
      method: 'GET',
      headers,
      upgrade,
      headersTimeout: pool.config.retry.perTryTimeoutMs,
    },
    attempt,
  );
}
