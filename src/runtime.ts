// Builds the object graph from a Config and runs it: listeners, pools, router, health checks,
// admin. A reload builds a complete new generation (reusing upstream state from the registry)
// and swaps it in with one assignment; in-flight requests finish on the generation they began
// on. close() drains: readiness off, stop accepting, finish in-flight, then force-close.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createBalancer } from './balancer/index.ts';
import type { Config } from './config/types.ts';
import { HealthChecker } from './health/checker.ts';
import type { Logger } from './observability/log.ts';
import { Pool } from './pool/pool.ts';
import { Registry } from './pool/registry.ts';
import { ErrorCode } from './core/errors.ts';
import type { ExchangeContext } from './proxy/exchange.ts';
import { clientAddressOf, forwardRequestHeaders } from './proxy/headers.ts';
import { proxyUpgrade, rejectUpgrade } from './proxy/upgrade.ts';
import { createRequestHandler, originFormPath, type Generation as RequestGeneration } from './server/handler.ts';
import { Listener } from './server/listener.ts';
import { Router, hostname } from './server/router.ts';
import { now as processClock, type Clock } from './util/clock.ts';
import { defaultRng, type Rng } from './util/rng.ts';
import { AdminServer } from './admin/server.ts';
import { NoConfigFileError, runtimeSource } from './admin/source.ts';

/** One config generation: everything a request needs, swapped whole on reload. */
export interface Generation extends RequestGeneration {
  readonly config: Config;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly checkers: readonly HealthChecker[];
}

export interface RuntimeOptions {
  log: Logger;
  clock?: Clock;
  rng?: Rng;
  /** Bind listeners with SO_REUSEPORT (multi-process workers). */
  reusePort?: boolean;
  /** Reads the config again for SIGHUP / POST /reload; null when there is no file. */
  reloadSource?: (() => Config) | null;
}

export class Runtime implements ExchangeContext {
  readonly log: Logger;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly startedAt: number;
  current: Generation;
  draining: boolean;
  readonly listeners: Listener[];
  admin: AdminServer | null;
  private readonly registry: Registry;
  /** Ends expired ejections on idle pools too, so /status and metrics never show a stale state. */
  private readonly readmitTimer: NodeJS.Timeout;
  private readonly reloadSource: (() => Config) | null;
  private readonly reusePort: boolean;

  private constructor(config: Config, opts: RuntimeOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? processClock;
    this.rng = opts.rng ?? defaultRng;
    this.startedAt = Date.now();
    this.registry = new Registry();
    this.reloadSource = opts.reloadSource ?? null;
    this.reusePort = opts.reusePort ?? false;
    this.draining = false;
    this.listeners = [];
    this.admin = null;
    this.current = this.build(config);
    this.readmitTimer = setInterval(() => {
      const now = this.clock();
      for (const pool of this.current.pools.values()) if (now >= pool.nextReadmitAt) pool.readmitExpired(now);
    }, 250);
    this.readmitTimer.unref();
  }

  /** Builds the graph from `config`, binds every listener and the admin server, starts health checks. */
  static async start(config: Config, opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(config, opts);
    try {
      const onRequest = createRequestHandler({
        clock: rt.clock,
        rng: rt.rng,
        log: rt.log,
        isDraining: () => rt.draining,
        current: () => rt.current,
      });
      for (const address of config.listen) {
        const l: Listener = new Listener(address, config.server, onRequest, (req, socket, head) =>
          rt.onUpgrade(l, req, socket, head),
        );
        rt.listeners.push(l);
        await l.listen(rt.reusePort);
      }
      if (config.admin !== null) {
        rt.admin = new AdminServer(runtimeSource(rt), config.admin);
        await rt.admin.listen();
      }
      for (const c of rt.current.checkers) c.start();
    } catch (err) {
      await rt.close(0);
      throw err;
    }
    return rt;
  }

  isDraining(): boolean {
    return this.draining;
  }

  /** The bound URL of each data-plane listener. */
  urls(): string[] {
    return this.listeners.map((l) => l.url());
  }

  /**
   * Swaps in `config`. Upstreams present in both keep their state and connections; removed
   * ones close once idle. Listen addresses and the admin server are not rebound by a reload.
   */
  apply(config: Config): void {
    const prev = this.current;
    const next = this.build(config);
    this.current = next;
    for (const c of prev.checkers) c.stop();
    for (const c of next.checkers) c.start();
    this.log.info({ pools: [...next.pools.keys()] }, 'config applied');
  }

  /**
   * Reads and validates the config source again and applies it. Throws the ConfigError
   * (nothing changes) when it is invalid.
   */
  reload(): Config {
    if (this.reloadSource === null) throw new NoConfigFileError('no config file to reload (started from flags)');
    const config = this.reloadSource();
    this.apply(config);
    return config;
  }

  private build(config: Config): Generation {
    const nextEntries = this.registry.newGeneration();
    const pools = new Map<string, Pool>();
    const checkers: HealthChecker[] = [];
    for (const pc of config.pools.values()) {
      const upstreams = this.registry.upstreamsFor(pc, nextEntries);
      const balancer = createBalancer(pc.balancer, { rng: this.rng, decayMs: pc.ewmaDecayMs, loadFactor: pc.hash?.loadFactor });
      const pool = new Pool(pc, upstreams, balancer, this.clock);
      pool.log = this.log;
      pools.set(pc.name, pool);
      if (pc.healthCheck !== null) checkers.push(new HealthChecker(pool, pc.healthCheck, this.log, this.clock));
    }
    this.registry.commit(nextEntries);
    const router = new Router(config.routes, (r) => pools.get(r.pool)!);
    return { config, pools, checkers, router, maxBodyBytes: config.server.maxBodyBytes };
  }

  private onUpgrade(l: Listener, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    if (this.draining) return rejectUpgrade(socket, ErrorCode.Draining);
    const fwd = forwardRequestHeaders(req.rawHeaders, clientAddressOf(req.socket.remoteAddress), 'http');
    const path = originFormPath(req.url);
    if (fwd.hostCount > 1 || path === null) return rejectUpgrade(socket, ErrorCode.BadRequest);
    const pool = this.current.router.match(hostname(fwd.host ?? undefined), path);
    if (pool === undefined) return rejectUpgrade(socket, ErrorCode.NoRoute);
    proxyUpgrade(this, pool, req, socket, head, path, fwd.headers, l.tunnels);
  }

  /**
   * Graceful stop: readiness turns 503 at once, listeners stop accepting, idle keep-alive
   * connections are closed as they become idle, in-flight requests get up to `drainMs`
   * (responses say `Connection: close`), then everything left is closed.
   */
  async close(drainMs: number = this.current.config.shutdown.drainTimeoutMs): Promise<void> {
    this.draining = true;
    clearInterval(this.readmitTimer);
    for (const c of this.current.checkers) c.stop();
    const closed = Promise.all(this.listeners.map((l) => l.close()));
    const sweep = setInterval(() => {
      for (const l of this.listeners) l.server.closeIdleConnections();
    }, 50);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([closed, deadline]);
    clearInterval(sweep);
    clearTimeout(timer);
    for (const l of this.listeners) {
      l.server.closeAllConnections();
      for (const t of l.tunnels) t.destroy();
    }
    await closed;
    await this.admin?.close();
    await this.registry.closeAll();
  }
}
