// Builds the object graph from a Config and runs it: listeners, pools, router, health state and
// checks, admin. A reload builds a complete new generation (reusing upstream state from the
// registry) and swaps it in with one assignment; in-flight requests finish on the generation
// they began on. close() drains: readiness off, stop accepting, finish in-flight, force-close.

import { createBalancer } from './balancer/index.ts';
import type { Config } from './config/types.ts';
import { HealthChecker } from './health/checker.ts';
import { HealthState } from './health/state.ts';
import { EventLog } from './observability/events.ts';
import type { Logger } from './observability/log.ts';
import { Pool } from './pool/pool.ts';
import { Registry } from './pool/registry.ts';
import { createHandler, type Generation as RequestGeneration, type HandlerContext } from './server/handler.ts';
import { Listener, listenerFamilies, listenerTlsStatus } from './server/listener.ts';
import { Router } from './server/router.ts';
import type { TlsListenerStatus } from './tls/metrics.ts';
import { poolTlsMaterial, upstreamTlsWarning } from './tls/upstream.ts';
import { now as processClock, type Clock } from './util/clock.ts';
import { defaultRng, type Rng } from './util/rng.ts';
import { AdminServer } from './admin/server.ts';
import { NoConfigFileError, type AdminSource } from './admin/source.ts';
import { renderMetrics, type EventLoopStats } from './admin/metrics.ts';
import { buildStatus, type Status } from './admin/status.ts';
import { packageVersion } from './version.ts';

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

export class Runtime {
  readonly log: Logger;
  readonly clock: Clock;
  readonly rng: Rng;
  /** Epoch ms when the runtime started. */
  readonly startedAt: number;
  /** Health flips, ejections and reloads, for /status. */
  readonly events: EventLog;
  /** The only writer of upstream health state. */
  readonly health: HealthState;
  current: Generation;
  draining: boolean;
  readonly listeners: Listener[];
  admin: AdminServer | null;
  private readonly registry: Registry;
  private readonly reloadSource: (() => Config) | null;
  private readonly reusePort: boolean;

  private constructor(config: Config, opts: RuntimeOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? processClock;
    this.rng = opts.rng ?? defaultRng;
    this.startedAt = Date.now();
    this.events = new EventLog();
    this.health = new HealthState({
      log: this.log,
      clock: this.clock,
      events: this.events,
      currentPool: (name) => this.current.pools.get(name),
      currentPools: () => this.current.pools.values(),
    });
    this.registry = new Registry(this.health);
    this.reloadSource = opts.reloadSource ?? null;
    this.reusePort = opts.reusePort ?? false;
    this.draining = false;
    this.listeners = [];
    this.admin = null;
    this.current = this.build(config);
  }

  /** Builds the graph from `config`, binds every listener and the admin server, starts health checks. */
  static async start(config: Config, opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(config, opts);
    try {
      const handle = createHandler(rt.handlerContext());
      for (const address of config.listen) {
        const l = await Listener.open({ address, limits: config.server, handle, log: rt.log });
        rt.listeners.push(l);
        await l.listen(rt.reusePort);
      }
      if (config.admin !== null) {
        rt.admin = new AdminServer(rt.adminSource(), config.admin);
        await rt.admin.listen();
      }
      for (const c of rt.current.checkers) c.start();
    } catch (err) {
      await rt.close(0);
      throw err;
    }
    return rt;
  }

  /** The bound URL of each data-plane listener. */
  urls(): string[] {
    return this.listeners.map((l) => l.url());
  }

  /** Listening and not draining. */
  isReady(): boolean {
    if (this.draining || this.listeners.length === 0) return false;
    for (const l of this.listeners) if (!l.server.listening) return false;
    return true;
  }

  /**
   * Swaps in `config`. Upstreams present in both keep their state and connections; removed
   * ones close once idle. Listen addresses and the admin server are not rebound by a reload; a
   * TLS listener's certificates are read again (paths or contents may have changed), and one
   * that fails to load keeps serving its current certificate (logged and counted by its store).
   */
  async apply(config: Config): Promise<void> {
    const prev = this.current;
    const next = this.build(config);
    this.current = next;
    for (const c of prev.checkers) c.stop();
    for (const c of next.checkers) c.start();
    this.log.info({ pools: [...next.pools.keys()] }, 'config applied');
    await Promise.all(this.listeners.map((l) => this.reloadCertificates(l, config)));
  }

  /**
   * Reads and validates the config source again and applies it. Rejects with the ConfigError
   * (nothing changes) when it is invalid; either way the reload is recorded as an event.
   */
  async reload(): Promise<Config> {
    if (this.reloadSource === null) throw new NoConfigFileError('no config file to reload (started from flags)');
    let config: Config;
    try {
      config = this.reloadSource();
    } catch (err) {
      this.events.record({ at: new Date().toISOString(), type: 'reload', ok: false, reason: (err as Error).message.split('\n')[0] ?? 'invalid config' });
      throw err;
    }
    await this.apply(config);
    this.events.record({ at: new Date().toISOString(), type: 'reload', ok: true, reason: `applied ${config.source ?? 'config'}` });
    return config;
  }

  /** Prometheus text for this process (also what a cluster worker sends its primary). */
  async metrics(eventLoop: EventLoopStats | null): Promise<string> {
    const openConnections = await Promise.all(this.listeners.map(async (l) => ({ listener: l.url(), count: await l.connections() })));
    let tunnels = 0;
    for (const l of this.listeners) tunnels += l.tunnels.size;
    return renderMetrics(this, { openConnections, tunnels, eventLoop, version: packageVersion(), families: listenerFamilies(this.listeners) });
  }

  /** The /status document for this process. */
  status(): Status {
    return buildStatus(this);
  }

  /** The TLS listeners for /status (certificates, HTTP/2). */
  tls(): TlsListenerStatus[] {
    return listenerTlsStatus(this.listeners);
  }

  /** What the admin server reads and asks for: a narrow view of this runtime. */
  adminSource(): AdminSource {
    return {
      log: this.log,
      isReady: () => this.isReady(),
      isDraining: () => this.draining,
      metrics: (eventLoop) => this.metrics(eventLoop),
      status: async () => this.status(),
      reload: () => this.reload(),
    };
  }

  /**
   * Graceful stop: readiness turns 503 at once, listeners stop accepting, idle keep-alive
   * connections are closed as they become idle, in-flight requests get up to `drainMs`
   * (responses say `Connection: close`), then everything left is closed.
   */
  async close(drainMs: number = this.current.config.shutdown.drainTimeoutMs): Promise<void> {
    this.draining = true;
    this.health.close();
    for (const c of this.current.checkers) c.stop();
    const closed = Promise.all(this.listeners.map((l) => l.close()));
    const sweep = setInterval(() => {
      for (const l of this.listeners) l.closeIdle();
    }, 50);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([closed, deadline]);
    clearInterval(sweep);
    clearTimeout(timer);
    for (const l of this.listeners) l.closeAll();
    await closed;
    await this.admin?.close();
    await this.registry.closeAll();
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  /** The certificates of a TLS listener as the new config has them (matched by address). */
  private async reloadCertificates(l: Listener, config: Config): Promise<void> {
    const store = l.certificates;
    if (store === null) return;
    const tls = config.listen.find((a) => a.host === l.address.host && a.port === l.address.port)?.tls ?? null;
    try {
      await store.reload(tls ?? undefined);
    } catch (err) {
      this.log.error({ err, listener: l.url() }, 'certificates not reloaded: the current ones stay');
    }
  }

  /** What every request reads of this runtime (handler.ts). */
  private handlerContext(): HandlerContext {
    return {
      clock: this.clock,
      rng: this.rng,
      log: this.log,
      health: this.health,
      isDraining: () => this.draining,
      current: () => this.current,
    };
  }

  private build(config: Config): Generation {
    const nextEntries = this.registry.newGeneration();
    const pools = new Map<string, Pool>();
    const checkers: HealthChecker[] = [];
    // Upstream TLS files first: one that went bad since validation fails this build before any
    // upstream is touched (the running generation stays).
    for (const pc of config.pools.values()) {
      poolTlsMaterial(pc.tls);
      const tlsWarning = upstreamTlsWarning(pc.name, pc.tls);
      if (tlsWarning !== null) this.log.warn({ pool: pc.name }, tlsWarning);
    }
    for (const pc of config.pools.values()) {
      const upstreams = this.registry.upstreamsFor(pc, nextEntries);
      const balancer = createBalancer(pc.balancer, { rng: this.rng, decayMs: pc.ewmaDecayMs });
      const pool = new Pool(pc, upstreams, balancer, this.clock);
      pools.set(pc.name, pool);
      if (pc.healthCheck !== null) checkers.push(new HealthChecker(pool, pc.healthCheck, this.health, this.log, this.clock));
    }
    this.registry.commit(nextEntries);
    const router = new Router(config.routes, (r) => pools.get(r.pool)!);
    return { config, pools, checkers, router, maxBodyBytes: config.server.maxBodyBytes };
  }
}
