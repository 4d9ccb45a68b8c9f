// DNS service discovery for the whole process: one DnsName per distinct name, shared by every
// upstream entry (in every pool, across reloads) that resolves it, so each name is looked up
// once per interval. Entries `watch()` a name and get its current set at once and each change
// after. It builds no upstreams and knows no pools: the registry turns addresses into upstreams.

import { isIP } from 'node:net';
import type { Logger } from '../observability/log.ts';
import { defaultRng, type Rng } from '../util/rng.ts';
import { DnsName, type AddressListener, type DnsNameStats, type ResolverSettings } from './dns-name.ts';

export { DnsName, DnsNameState, type AddressListener, type DnsNameStats, type ResolverSettings } from './dns-name.ts';
export { DnsFailureKind, DNS_FAILURE_KINDS, originFor, type AddressChange } from './answer.ts';
export { expandPool, expandUpstreams, type ExpandedUpstream } from './expand.ts';
export { dnsNameStatus, writeDnsMetrics, type DnsNameStatus, type MetricsWriter } from './report.ts';

/** Per-try DNS timeout when none is given: a lookup round gives up after about tries × this. */
export const DEFAULT_DNS_TIMEOUT_MS = 1000;
/** Tries per server when none is given. */
export const DEFAULT_DNS_TRIES = 2;

export interface DnsDiscoveryOptions {
  /** `Config.dns.servers`: "host:port" strings, or null for the system's resolvers. */
  readonly servers: readonly string[] | null;
  readonly log: Logger;
  /** Per-try timeout, ms (default DEFAULT_DNS_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Tries per server (default DEFAULT_DNS_TRIES). */
  readonly tries?: number;
  /** Jitter of the intervals (tests pass a seeded one). */
  readonly rng?: Rng;
  /** Epoch ms for the times in stats (default Date.now). */
  readonly wallClock?: () => number;
}

/** One entry's subscription to a name. */
export interface DnsWatch {
  /** The name as watched. */
  readonly name: string;
  /** The name's current sorted set; empty until its first good answer (pool answers 503). */
  addresses(): readonly string[];
  /**
   * Resolves once the name's first lookup round has finished, good or bad (at once for a
   * name already looked up, and for an IP literal). For startup and reload, never requests.
   */
  ready(): Promise<void>;
  /** Stops this entry's notifications; the name's lookups stop when no entry watches it. Idempotent. */
  unwatch(): void;
}

interface Watcher {
  readonly intervalMs: number;
  readonly listener: AddressListener;
}

interface Slot {
  readonly dns: DnsName;
  readonly watchers: Set<Watcher>;
}

/** Names compare case-insensitively and without a trailing dot (RFC 4343). */
function keyOf(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * The process's DNS discovery. Lives as long as the Runtime (not one config generation), so a
 * reload that keeps an entry keeps its name's addresses and stats: watch the new generation's
 * names before unwatching the old generation's, and a name still in use never stops.
 */
export class DnsDiscovery {
  private readonly log: Logger;
  private readonly rng: Rng;
  private readonly wallClock: () => number;
  private readonly slots: Map<string, Slot>;
  private settings: ResolverSettings;
  private running: boolean;

  constructor(opts: DnsDiscoveryOptions) {
    this.log = opts.log;
    this.rng = opts.rng ?? defaultRng;
    this.wallClock = opts.wallClock ?? Date.now;
    this.slots = new Map();
    this.settings = Object.freeze({
      servers: opts.servers === null ? null : Object.freeze([...opts.servers]),
      timeoutMs: opts.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS,
      tries: opts.tries ?? DEFAULT_DNS_TRIES,
    });
    this.running = false;
  }

  /**
   * Subscribes to `name`, looked up every `intervalMs` (the shortest interval among the
   * entries watching a name wins). Returns at once with the current set: nothing awaits a
   * lookup. `listener` is called after each lookup that changed the set, never for an
   * unchanged one. An IP literal is returned as a fixed one-address set, with no lookups.
   */
  watch(name: string, intervalMs: number, listener: AddressListener): DnsWatch {
    if (isIP(name) !== 0) {
      const fixed = Object.freeze([name]);
      return { name, addresses: () => fixed, ready: () => Promise.resolve(), unwatch: () => {} };
    }
    const key = keyOf(name);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const dns = new DnsName({ name, intervalMs, settings: this.settings, log: this.log, rng: this.rng, wallClock: this.wallClock });
      slot = { dns, watchers: new Set() };
      this.slots.set(key, slot);
      if (this.running) dns.start();
    }
    const w: Watcher = { intervalMs, listener };
    slot.watchers.add(w);
    slot.dns.addListener(listener);
    slot.dns.setIntervalMs(shortestInterval(slot.watchers));
    const s = slot;
    let active = true;
    return {
      name,
      addresses: () => s.dns.current(),
      ready: () => s.dns.settled(),
      unwatch: () => {
        if (!active) return;
        active = false;
        this.unwatch(key, s, w);
      },
    };
  }

  /** Starts every watched name's loop (first lookup at once); names watched later start at once. */
  start(): void {
    this.running = true;
    for (const s of this.slots.values()) s.dns.start();
  }

  /** Stops every loop and cancels lookups in flight; resolves when none is left. */
  async stop(): Promise<void> {
    this.running = false;
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => s.dns.stop()));
  }

  /** Looks every watched name up now (or joins rounds in flight); for startup and tests. */
  async resolveNow(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => s.dns.resolveNow()));
  }

  /**
   * New `dns.servers` (a reload changed them): every name uses them from its next round.
   * Addresses and stats are kept.
   */
  setServers(servers: readonly string[] | null): void {
    const prev = this.settings.servers;
    if (prev === servers || (prev !== null && servers !== null && prev.join() === servers.join())) return;
    this.settings = Object.freeze({ ...this.settings, servers: servers === null ? null : Object.freeze([...servers]) });
    for (const s of this.slots.values()) s.dns.setSettings(this.settings);
  }

  /** One snapshot per watched name, sorted by name (for /metrics and /status). */
  stats(): DnsNameStats[] {
    const out = [...this.slots.values()].map((s) => s.dns.stats());
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  /** The watched name's stats, or undefined. */
  statsOf(name: string): DnsNameStats | undefined {
    return this.slots.get(keyOf(name))?.dns.stats();
  }

  private unwatch(key: string, slot: Slot, w: Watcher): void {
    slot.watchers.delete(w);
    // Another watcher may share the listener function: keep it while one still uses it.
    let shared = false;
    for (const o of slot.watchers) if (o.listener === w.listener) shared = true;
    if (!shared) slot.dns.removeListener(w.listener);
    if (slot.watchers.size > 0) {
      slot.dns.setIntervalMs(shortestInterval(slot.watchers));
      return;
    }
    if (this.slots.get(key) === slot) this.slots.delete(key);
    void slot.dns.stop();
  }
}

function shortestInterval(watchers: ReadonlySet<Watcher>): number {
  let min = Infinity;
  for (const w of watchers) if (w.intervalMs < min) min = w.intervalMs;
  return min;
}
