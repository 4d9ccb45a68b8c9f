// createProxy(): Fairway as a request handler inside an application's own node:http server (or
// a framework's: fastify, express). The application owns the server and its listening; Fairway
// brings routing, balancing, health checks, retries and the rest through the same Runtime and
// request pipeline as the CLI (server/handler.ts), with a thin adapter for the application's
// request objects (hosted.ts). No listener, no admin server, no signal handlers.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../core/errors.ts';
import { respondError, rawErrorResponse } from '../proxy/respond.ts';
import { Runtime } from '../runtime.ts';
import { createHandler } from '../server/handler.ts';
import { upgradeHandler } from '../server/listener.ts';
import type { EmbeddedConfig } from './config.ts';
import { HostedRequest } from './hosted.ts';
import { ConfigFeed, loggerOf, observe, type CommonOptions, type Observable } from './instance.ts';

/** `{ config }` (listen optional and unused; no admin) or `{ configFile }`, plus options. */
export type CreateProxyOptions = ({ readonly config: EmbeddedConfig; readonly configFile?: undefined } | { readonly configFile: string; readonly config?: undefined }) &
  CommonOptions;

/** Fairway inside an existing server. */
export interface EmbeddedProxy extends Observable {
  /** `server.on('request', proxy.handle)`, or call it from a route. Never throws. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** `server.on('upgrade', proxy.handleUpgrade)`: WebSocket handshakes are tunnelled. */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Validates and applies the config again (or `config`); rejects with FairwayConfigError, the running one stays. */
  reload(config?: EmbeddedConfig): Promise<void>;
  /**
   * Drains: requests arriving from now on get 503 `draining`, in-flight ones get up to
   * `shutdown.drainTimeout`, then open tunnels and upstream connections are closed. The server
   * stays the application's to close. Idempotent.
   */
  close(): Promise<void>;
}

/** How often close() looks at the in-flight count while draining (ms). */
const DRAIN_POLL_MS = 20;

/**
 * Builds the proxy (pools, health checks) for use inside an existing server. Resolves once it
 * can serve.
 * @throws FairwayConfigError for an invalid config (nothing started).
 */
export async function createProxy(opts: CreateProxyOptions): Promise<EmbeddedProxy> {
  const feed = new ConfigFeed(opts, opts.env ?? process.env, { embedded: true });
  const config = feed.load();
  const rt = await Runtime.start({ ...config, listen: [], admin: null }, { log: loggerOf(opts.log), reloadSource: () => feed.load() });
  const serve = createHandler(rt.handlerContext());
  const tunnels = new Set<Duplex>();
  const upgrade = upgradeHandler(serve, tunnels);
  let closed = false;
  let closing: Promise<void> | null = null;

  const drain = async (): Promise<void> => {
    rt.draining = true;
    const deadline = Date.now() + rt.current.config.shutdown.drainTimeoutMs;
    while (Date.now() < deadline && (inFlight(rt) > 0 || tunnels.size > 0)) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    closed = true;
    for (const t of tunnels) t.destroy();
    await rt.close(0);
  };

  return {
    handle: (req, res) => {
      if (closed) return respondError(res, ErrorCode.Draining, true);
      serve(new HostedRequest(req, res));
    },
    handleUpgrade: (req, socket, head) => {
      if (closed) {
        socket.on('error', () => {});
        socket.end(rawErrorResponse(ErrorCode.Draining));
        return;
      }
      upgrade(req, socket, head);
    },
    reload: (next) => feed.reload(rt, next),
    close: () => (closing ??= drain()),
    ...observe(rt),
  };
}

/** Tries in flight over every pool of the current generation. */
function inFlight(rt: Runtime): number {
  let n = 0;
  for (const pool of rt.current.pools.values()) for (const u of pool.upstreams) n += u.inflight;
  return n;
}
