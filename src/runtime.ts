// Builds the object graph from a Config and runs it: listeners, pools, router, health state and
// checks, DNS discovery, admin. A reload builds a complete new generation (reusing upstream
// state from the registry) and swaps it in with one assignment; in-flight requests finish on the
// generation they began on. A DNS change rebuilds only the members of the pools that resolve
// that name, off the request path. close() drains: readiness off, stop accepting, finish
// in-flight, force-close.

import { createBalancer } from './balancer/index.ts';
import type { Config, ListenAddress, UpstreamConfig } from './config/types.ts';
import { DnsDiscovery, dnsNameStatus, expandPool, type DnsNameStatus, type DnsWatch } from './discovery/dns.ts';
import { HealthChecker } from './health/checker.ts';
import { HealthState, type HealthShare } from './health/state.ts';
import { AccessLog } from './observability/access-log.ts';
import { EventLog, reloadEvent } from './observability/events.ts';
import { restartOnlyChanges } from './config/restart-only.ts';
import type { Logger } from './observability/log.ts';
import { Pool } from './pool/pool.ts';
import { Registry } from './pool/registry.ts';
import { createHandler, type Generation as RequestGeneration, type HandlerContext } from './server/handler.ts';
import { Listener, listenerFamilies, listenerTlsStatus } from './server/listener.ts';
import { compileRoute } from './server/route.ts';
import { Router } from './server/router.ts';
import type { TlsListenerStatus } from './tls/metrics.ts';
import { poolTlsMaterial, upstreamTlsWarning } from './tls/upstream.ts';
import { now as processClock, type Clock } from './util/clock.ts';
import { defaultRng, type Rng } from './util/rng.ts';
import { AdminServer } from './admin/server.ts';
import { NoConfigFileError, type AdminSource } from './admin/source.ts';
import { renderMetrics, type EventLoopStats, type ExtraFamily } from './admin/metrics.ts';
import { buildStatus, type Status } from './admin/status.ts';
import { packageVersion } from './version.ts';

/** One config generation: everything a request needs, swapped whole on reload. */
export interface Generation extends RequestGeneration {
  readonly config: Config;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly checkers: readonly HealthChecker[];
  /** The DNS subscription of each entry with `resolve`; unwatched once the generation is replaced. */
  readonly watches: ReadonlyMap<UpstreamConfig, DnsWatch>;
}

/** The DNS part of /status. */
export interface DnsStatus {
  /** `dns.servers`, or null for the system's resolvers. */
  readonly servers: readonly string[] | null;
  readonly names: readonly DnsNameStatus[];
}

/**
 * Longest a start or a reload waits for the first answer of names it has not looked up yet
 * (about one lookup round: 1 s per try, 2 tries). A name still without an answer then leaves
 * its pool answering 503 no-upstream until the answer comes.
 */
export const FIRST_LOOKUP_WAIT_MS = 2500;

/** The generation a DNS listener belongs to, set once it is built. */
interface GenerationRef {
  gen: Generation | null;
}

export interface RuntimeOptions {
  log: Logger;
  clock?: Clock;
  rng?: Rng;
  /** Bind listeners with SO_REUSEPORT (multi-process workers). */
  reusePort?: boolean;
  /** Reads the config again for SIGHUP / POST /reload; null when there is no file. */
  reloadSource?: (() => Config) | null;
  /** Run active health checks in this process (default true; false in a cluster worker: the primary runs them). */
  activeChecks?: boolean;
  /** Where health findings go to reach other processes (cluster); absent = a single process. */
  share?: HealthShare;
  /** DNS lookup settings (tests shorten them). */
  dns?: { readonly timeoutMs?: number; readonly tries?: number; readonly firstLookupWaitMs?: number };
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
  /** The open access log (null when off); replaced when a reload changes its settings. */
  accessLog: AccessLog | null;
  /** Resolves the upstream names with `resolve`; lives as long as the runtime, across reloads. */
  readonly discovery: DnsDiscovery;
  private readonly registry: Registry;
  private readonly reloadSource: (() => Config) | null;
  /** The config the process started with: what listeners, admin server and limits were bound by. */
  private readonly startConfig: Config;
  private readonly reusePort: boolean;
  private readonly activeChecks: boolean;
  private readonly firstLookupWaitMs: number;

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
      ...(opts.share === undefined ? {} : { share: opts.share }),
    });
    this.registry = new Registry(this.health);
    this.reloadSource = opts.reloadSource ?? null;
    this.startConfig = config;
    this.reusePort = opts.reusePort ?? false;
    this.activeChecks = opts.activeChecks ?? true;
    this.draining = false;
    this.listeners = [];
    this.admin = null;
    this.accessLog = null;
    const dns = opts.dns ?? {};
    this.firstLookupWaitMs = dns.firstLookupWaitMs ?? FIRST_LOOKUP_WAIT_MS;
    this.discovery = new DnsDiscovery({
      servers: config.dns.servers,
      log: this.log,
      rng: this.rng,
      ...(dns.timeoutMs === undefined ? {} : { timeoutMs: dns.timeoutMs }),
      ...(dns.tries === undefined ? {} : { tries: dns.tries }),
    });
    // Built before any lookup: resolved entries have no address yet. Their first answers
    // arrive through the DNS listeners, which fill the pools (start() waits a little for them).
    const ref: GenerationRef = { gen: null };
    this.current = this.build(config, this.watchNames(config, ref), ref);
  }

  /** Builds the graph from `config`, binds every listener and the admin server, starts health checks. */
  static async start(config: Config, opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(config, opts);
    try {
      rt.discovery.start();
      await rt.firstAnswers(rt.current.watches);
      const handle = createHandler(rt.handlerContext());
      for (const address of config.listen) {
        const l = await Listener.open({ address, limits: config.server, handle, log: rt.log, onRefused: (r) => rt.accessLog?.write(r) });
        rt.listeners.push(l);
        await l.listen(rt.reusePort);
      }
      if (config.admin !== null) {
        rt.admin = new AdminServer(rt.adminSource(), config.admin);
        await rt.admin.listen();
      }
      if (rt.activeChecks) for (const c of rt.current.checkers) c.start();
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
   * Names the running config already resolves keep their addresses (no new lookup); a name new
   * to this config is looked up first, waiting up to FIRST_LOOKUP_WAIT_MS for its answer.
   */
  async apply(config: Config): Promise<void> {
    this.discovery.setServers(config.dns.servers);
    const ref: GenerationRef = { gen: null };
    const watches = this.watchNames(config, ref);
    await this.firstAnswers(watches);
    const next = this.build(config, watches, ref);
    const prev = this.current;
    this.current = next;
    for (const c of prev.checkers) c.stop();
    if (this.activeChecks) for (const c of next.checkers) c.start();
    // After the swap: a name both generations use never stopped, so it kept its addresses.
    for (const w of prev.watches.values()) w.unwatch();
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
      this.events.record(reloadEvent({ refused: err }));
      throw err;
    }
    await this.apply(config);
    const restartNeeded = restartOnlyChanges(this.startConfig, config);
    if (restartNeeded.length > 0) this.log.warn({ keys: restartNeeded }, 'reload: these changes take effect at the next restart');
    this.events.record(reloadEvent({ source: config.source, restartNeeded }));
    return config;
  }

  /** Prometheus text for this process (also what a cluster worker sends its primary). */
  async metrics(eventLoop: EventLoopStats | null): Promise<string> {
    const openConnections = await Promise.all(this.listeners.map(async (l) => ({ listener: l.url(), count: await l.connections() })));
    let tunnels = 0;
    for (const l of this.listeners) tunnels += l.tunnels.size;
    return renderMetrics(this, {
      openConnections,
      tunnels,
      eventLoop,
      version: packageVersion(),
      dns: this.discovery.stats(),
      families: [...listenerFamilies(this.listeners), ...accessLogFamilies(this.accessLog)],
    });
  }

  /** The /status document for this process, with each DNS name and its addresses. */
  status(): Status & { readonly dns: DnsStatus } {
    return { ...buildStatus(this), dns: { servers: this.current.config.dns.servers, names: this.discovery.stats().map(dnsNameStatus) } };
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
    await this.discovery.stop();
    await this.registry.closeAll();
    await this.accessLog?.close();
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  /**
   * The certificates of a TLS listener as the new config has them: the entry at its own place in
   * `listen` when that has its address, else the TLS entry with its address (several entries may
   * say port 0, so the first with the address can be a plain one).
   */
  private async reloadCertificates(l: Listener, config: Config): Promise<void> {
    const store = l.certificates;
    if (store === null) return;
    const same = (a: ListenAddress): boolean => a.host === l.address.host && a.port === l.address.port;
    const own = config.listen[this.listeners.indexOf(l)];
    const tls = (own !== undefined && same(own) ? own : config.listen.find((a) => same(a) && a.tls !== null))?.tls ?? null;
    try {
      await store.reload(tls ?? undefined);
    } catch (err) {
      this.log.error({ err, listener: l.url() }, 'certificates not reloaded: the current ones stay');
    }
  }

  /** What every request reads of this runtime (handler.ts); also what the library's createProxy serves with. */
  handlerContext(): HandlerContext {
    return {
      clock: this.clock,
      rng: this.rng,
      log: this.log,
      health: this.health,
      isDraining: () => this.draining,
      current: () => this.current,
    };
  }

  /** Opens, keeps or replaces the access log for `config` (off the request path). */
  private accessLogFor(config: Config): AccessLog | null {
    const want = config.accessLog;
    const open = this.accessLog;
    if (open !== null && want !== null && open.config.path === want.path && open.config.format === want.format) return open;
    if (open !== null) void open.close();
    this.accessLog = want === null ? null : new AccessLog(want, this.log);
    return this.accessLog;
  }

  /** Reopens the access log file (SIGUSR1, after log rotation). */
  reopenLogs(): void {
    this.accessLog?.reopen();
  }

  /**
   * Subscribes to the name of every entry with `resolve`. A listener refreshes its pool's
   * members once `ref` holds the generation and that generation is the running one (a change
   * seen while a reload is being prepared is read by its build instead).
   */
  private watchNames(config: Config, ref: GenerationRef): Map<UpstreamConfig, DnsWatch> {
    const watches = new Map<UpstreamConfig, DnsWatch>();
    for (const pc of config.pools.values()) {
      const pool = pc.name;
      for (const uc of pc.upstreams) {
        if (uc.resolveMs === null) continue;
        watches.set(uc, this.discovery.watch(uc.hostname, uc.resolveMs, () => this.onAddressesChanged(ref, pool)));
      }
    }
    return watches;
  }

  /** Waits (bounded) until every watched name has had its first lookup round. Never rejects. */
  private async firstAnswers(watches: ReadonlyMap<UpstreamConfig, DnsWatch>): Promise<void> {
    if (watches.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.firstLookupWaitMs);
    });
    await Promise.race([Promise.all([...watches.values()].map((w) => w.ready())), cap]);
    clearTimeout(timer);
  }

  /** A name's addresses changed: rebuild the members of `pool` in the running generation. */
  private onAddressesChanged(ref: GenerationRef, poolName: string): void {
    const gen = ref.gen;
    if (gen === null || gen !== this.current || this.draining) return;
    const pool = gen.pools.get(poolName);
    if (pool === undefined) return;
    const upstreams = this.registry.replacePool(expandPool(pool.config, (e) => gen.watches.get(e)?.addresses() ?? []));
    pool.setUpstreams(upstreams);
    for (const c of gen.checkers) if (c.pool === pool) c.syncMembers();
    this.log.info({ pool: poolName, upstreams: upstreams.map((u) => u.origin) }, 'pool members changed (dns)');
  }

  private build(config: Config, watches: Map<UpstreamConfig, DnsWatch>, ref: GenerationRef): Generation {
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
      const expanded = expandPool(pc, (e) => watches.get(e)?.addresses() ?? []);
      const upstreams = this.registry.upstreamsFor(expanded, nextEntries);
      const balancer = createBalancer(pc.balancer, { rng: this.rng, decayMs: pc.ewmaDecayMs, loadFactor: pc.hash?.loadFactor ?? null });
      // The pool keeps the configured entries (names, not addresses): a DNS change expands them again.
      const pool = new Pool(pc, upstreams, balancer, this.clock);
      pools.set(pc.name, pool);
      if (pc.healthCheck !== null) checkers.push(new HealthChecker(pool, pc.healthCheck, this.health, this.log, this.clock));
    }
    this.registry.commit(nextEntries);
    const router = new Router(config.routes, (r) => compileRoute(r, pools.get(r.pool)!));
    const gen: Generation = {
      config,
      pools,
      checkers,
      watches,
      router,
      maxBodyBytes: config.server.maxBodyBytes,
      edge: { maxHeaderCount: config.server.maxHeaderCount, maxUrlBytes: config.server.maxUrlBytes },
      tracing: config.tracing,
      accessLog: this.accessLogFor(config),
    };
    ref.gen = gen;
    return gen;
  }
}

/** The access log's counters for /metrics (nothing when it is off). */
function accessLogFamilies(log: AccessLog | null): ExtraFamily[] {
  if (log === null) return [];
  const path: [string, string][] = [['path', log.config.path]];
  return [
    { name: 'fairway_access_log_lines_total', type: 'counter', help: 'Access log lines handed to the writer.', samples: [{ labels: path, value: log.written }] },
    { name: 'fairway_access_log_dropped_total', type: 'counter', help: 'Access log lines dropped because the write buffer was full (a stuck or full disk).', samples: [{ labels: path, value: log.dropped }] },
    { name: 'fairway_access_log_write_errors_total', type: 'counter', help: 'Failed access log writes or opens (the proxy keeps serving).', samples: [{ labels: path, value: log.errors }] },
  ];
}
