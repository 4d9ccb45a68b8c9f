// Keeps upstream state across config reloads and DNS membership changes (pingora-style
// carry-over): an upstream whose pool name and origin are unchanged keeps its object, so health,
// EWMA, counters and keep-alive connections survive. Upstreams that left the config (or whose
// address left DNS) are retired and closed when idle. It resolves no names: it is handed
// expanded upstream lists (discovery/expand.ts), one entry per address.

import { Pool as UndiciPool } from 'undici';
import type { HealthCheckConfig, PoolConfig, UpstreamConfig } from '../config/types.ts';
import { connectTlsFor, poolTlsMaterial } from '../tls/upstream.ts';
import { closeRetired } from './pool.ts';
import { Upstream } from './upstream.ts';

/** What the registry asks of the health state when upstreams join or their checks change. */
export interface HealthMembership {
  /** A new upstream's state before any check. */
  initialize(u: Upstream, healthCheck: HealthCheckConfig | null): void;
  /** Active checks were removed from a kept upstream's pool. */
  clearActive(u: Upstream): void;
}

/**
 * The settings that shape an upstream's connection pool; a change means a new dispatcher. The
 * TLS part is the material's fingerprint: a reload with a new CA, client certificate or
 * servername (or new contents in the same files) replaces the pool and its connections.
 */
function dispatcherKey(cfg: PoolConfig): string {
  const t = cfg.timeouts;
  return `${t.connectMs}/${t.keepAliveMs}/${cfg.maxConnectionsPerUpstream}/${poolTlsMaterial(cfg.tls)?.fingerprint ?? '-'}`;
}

/** An upstream entry as the registry builds it: as configured, or one discovered address of it. */
export type UpstreamEntry = UpstreamConfig & {
  /** The discovered address (discovery/expand.ts), or null / absent for a configured one. */
  readonly address?: string | null;
};

/** The DNS name an entry's address came from, or null when the address was configured. */
function dnsNameOf(uc: UpstreamEntry): string | null {
  return uc.address === undefined || uc.address === null ? null : uc.hostname;
}

/**
 * undici connection pool for one upstream: keep-alive, capped, strict parsing, HTTP/1.1 only
 * (also over TLS: ALPN is not offered, so an https upstream never switches to h2). An https://
 * upstream is verified and identified as its pool's `tls` says (tls/upstream.ts); SNI and the
 * name verified are the configured host name, also for an upstream dialled by a resolved address.
 */
export function createDispatcher(upstream: Pick<UpstreamConfig, 'origin' | 'hostname'>, cfg: PoolConfig): UndiciPool {
  const t = cfg.timeouts;
  const tls = connectTlsFor(upstream.origin, upstream.hostname, cfg.tls);
  return new UndiciPool(upstream.origin, {
    connections: cfg.maxConnectionsPerUpstream,
    pipelining: 1,
    keepAliveTimeout: t.keepAliveMs,
    // Never trust a longer Keep-Alive hint than our own idle timeout: close before the upstream does.
    keepAliveMaxTimeout: t.keepAliveMs,
    headersTimeout: t.responseMs,
    bodyTimeout: t.idleMs,
    connect: tls === null ? { timeout: t.connectMs } : { timeout: t.connectMs, ...tls },
    connectTimeout: t.connectMs,
    allowH2: false,
    strictContentLength: true,
  });
}

interface Entry {
  upstream: Upstream;
  key: string;
  pool: string;
}

export class Registry {
  private entries = new Map<string, Entry>();
  private readonly health: HealthMembership;

  constructor(health: HealthMembership) {
    this.health = health;
  }

  /**
   * Returns the upstreams for `cfg`, reusing those already known by pool name + origin.
   * Weight changes apply to the kept object. Call `commit()` once the whole new config is built.
   */
  upstreamsFor(cfg: PoolConfig & { readonly upstreams: readonly UpstreamEntry[] }, next: Map<string, Entry>): Upstream[] {
    const key = dispatcherKey(cfg);
    const out: Upstream[] = [];
    for (const uc of cfg.upstreams) {
      const id = `${cfg.name}\n${uc.origin}`;
      const old = this.entries.get(id);
      const dnsName = dnsNameOf(uc);
      const servername = uc.scheme === 'https' ? dnsName : null;
      let u: Upstream;
      if (old !== undefined && !old.upstream.retired) {
        u = old.upstream;
        u.weight = uc.weight;
        if (cfg.healthCheck === null) this.health.clearActive(u);
        if (old.key !== key || u.dispatcher === null || u.dnsName !== dnsName) {
          const prev = u.dispatcher;
          u.dispatcher = createDispatcher(uc, cfg);
          prev?.close().catch(() => {});
        }
      } else {
        u = new Upstream(uc.origin, uc.weight, createDispatcher(uc, cfg), cfg.name);
        this.health.initialize(u, cfg.healthCheck);
      }
      u.dnsName = dnsName;
      next.set(id, { upstream: u, key, pool: cfg.name });
      out.push(u);
    }
    return out;
  }

  /** Makes `next` current; upstreams not in it are retired (closed once idle). */
  commit(next: Map<string, Entry>): void {
    for (const [id, e] of this.entries) {
      if (next.has(id)) continue;
      e.upstream.retired = true;
      if (e.upstream.inflight === 0) closeRetired(e.upstream);
    }
    this.entries = next;
  }

  /**
   * One pool's new member list between reloads (its DNS addresses changed): the pool's
   * upstreams that stay keep their objects, new ones are created, gone ones retired (closed
   * once idle); other pools are untouched. Off the request path. O(upstreams).
   */
  replacePool(cfg: PoolConfig & { readonly upstreams: readonly UpstreamEntry[] }): Upstream[] {
    const next = new Map<string, Entry>();
    for (const [id, e] of this.entries) if (e.pool !== cfg.name) next.set(id, e);
    const out = this.upstreamsFor(cfg, next);
    this.commit(next);
    return out;
  }

  /** Closes every connection pool (shutdown). */
  async closeAll(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      e.upstream.latency.destroy();
      const d = e.upstream.dispatcher;
      e.upstream.dispatcher = null;
      if (d !== null) closing.push(d.destroy().catch(() => {}));
    }
    await Promise.all(closing);
  }

  newGeneration(): Map<string, Entry> {
    return new Map();
  }
}
