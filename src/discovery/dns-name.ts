// One DNS name resolved continuously: its lookup loop (A and AAAA every interval, jittered,
// never overlapping, unref'd timer), its last good address set, its stats and its listeners.
// It owns no upstreams and never runs on the request path: listeners get the new set and the
// registry decides what to build. Many names and shared intervals are dns.ts's business.

import { promises as dnsPromises } from 'node:dns';
import type { Logger } from '../observability/log.ts';
import type { Rng } from '../util/rng.ts';
import {
  combineRound,
  diffAddresses,
  DNS_FAILURE_KINDS,
  DnsFailureKind,
  outcomeOfError,
  sameAddresses,
  unionOf,
  type AddressChange,
  type DnsFailure,
  type FamilyOutcome,
  type FamilySets,
  type RoundResult,
} from './answer.ts';

/** Each wait between lookups is drawn from interval × [1 − JITTER, 1 + JITTER]. */
const JITTER = 0.1;

/** Called when a name's address set changes: the new sorted set and what changed. */
export type AddressListener = (addresses: readonly string[], change: AddressChange) => void;

/** How lookups are made; shared by every name of one DnsDiscovery. */
export interface ResolverSettings {
  /** "host:port" of the DNS servers; null = the system's (resolv.conf, read by c-ares). */
  readonly servers: readonly string[] | null;
  /** Per-try timeout (c-ares `timeout` and `maxTimeout`), ms. */
  readonly timeoutMs: number;
  /** Tries per server before a query fails with ETIMEOUT. */
  readonly tries: number;
}

/** Health of a name's lookups, for logs (one line per transition) and /status. */
export const DnsNameState = {
  /** No lookup has given an address yet. */
  Pending: 'pending',
  /** The last lookup gave a fresh set. */
  Ok: 'ok',
  /** The last lookup failed, fully or for one family; the last good set is kept. */
  Failing: 'failing',
} as const;
export type DnsNameState = (typeof DnsNameState)[keyof typeof DnsNameState];

/** A snapshot of one name for /metrics and /status (a copy: safe to keep). */
export interface DnsNameStats {
  readonly name: string;
  /** Current lookup interval, ms (the shortest of the entries that use the name). */
  readonly intervalMs: number;
  readonly state: DnsNameState;
  /** The current set, sorted (IPv4 first); empty until the first good answer. */
  readonly addresses: readonly string[];
  /** Lookup rounds finished (one round = one A and one AAAA query). */
  readonly lookups: number;
  /** Rounds that failed (fully or for one family), by kind. */
  readonly failures: Readonly<Record<DnsFailureKind, number>>;
  /** Times the address set changed (the first resolution included). */
  readonly changes: number;
  /** Epoch ms of the last round where both families answered; null if none yet. */
  readonly lastSuccessAt: number | null;
  /** The most recent failure (kept after recovery, for diagnosis); null if none yet. */
  readonly lastError: (DnsFailure & { readonly at: number }) | null;
  /**
   * Lowest TTL (s) in the last good answer. Reported only: lookups follow the interval
   * (`resolve: 10s`), never the TTL, so a long TTL cannot hide a change.
   */
  readonly ttlSeconds: number | null;
}

export interface DnsNameOptions {
  readonly name: string;
  readonly intervalMs: number;
  readonly settings: ResolverSettings;
  readonly log: Logger;
  readonly rng: Rng;
  /** Epoch ms, for the times in stats. */
  readonly wallClock: () => number;
}

const EMPTY: FamilySets = Object.freeze({ v4: Object.freeze([]), v6: Object.freeze([]) });

/** One family's query; never rejects. */
function query(r: dnsPromises.Resolver, name: string, family: 4 | 6): Promise<FamilyOutcome> {
  const p = family === 4 ? r.resolve4(name, { ttl: true }) : r.resolve6(name, { ttl: true });
  return p.then((records) => ({ kind: 'ok', records }) as const, outcomeOfError);
}

/**
 * The lookup loop and state of one DNS name. Lookups run only from its own timer or an
 * explicit resolveNow(): nothing on the request path ever awaits one, so a slow or dead DNS
 * server only delays the next update. Rounds never overlap: a resolveNow() during a round
 * joins it, and the next timer is set when a round ends.
 */
export class DnsName {
  readonly name: string;
  /** Wait between rounds, ms (before jitter); see setIntervalMs(). */
  private intervalMsNow: number;
  private readonly log: Logger;
  private readonly rng: Rng;
  private readonly wallClock: () => number;
  private readonly listeners: Set<AddressListener>;
  private settings: ResolverSettings;
  /** Created at the first round and again after a settings change (at a round's start). */
  private resolver: dnsPromises.Resolver | null;
  private resolverSettings: ResolverSettings | null;
  private lifecycle: 'idle' | 'running' | 'stopped';
  private timer: NodeJS.Timeout | null;
  private inflight: Promise<void> | null;
  /** Bumped by stop(): a round begun earlier records nothing. */
  private epoch: number;
  /** Resolves once the first round has been recorded (or the name was stopped). */
  private readonly firstRound: Promise<void>;
  private readonly endFirstRound: () => void;

  private sets: FamilySets;
  private addresses: readonly string[];
  private state: DnsNameState;
  /** Failure kind of the last round, to log a change of kind once. */
  private lastKind: DnsFailureKind | null;
  private lookups: number;
  private readonly failures: Record<DnsFailureKind, number>;
  private changes: number;
  private lastSuccessAt: number | null;
  private lastError: (DnsFailure & { readonly at: number }) | null;
  private ttlSeconds: number | null;

  constructor(opts: DnsNameOptions) {
    this.name = opts.name;
    this.intervalMsNow = opts.intervalMs;
    this.log = opts.log;
    this.rng = opts.rng;
    this.wallClock = opts.wallClock;
    this.listeners = new Set();
    this.settings = opts.settings;
    this.resolver = null;
    this.resolverSettings = null;
    this.lifecycle = 'idle';
    this.timer = null;
    this.inflight = null;
    this.epoch = 0;
    let end!: () => void;
    this.firstRound = new Promise<void>((resolve) => {
      end = resolve;
    });
    this.endFirstRound = end;
    this.sets = EMPTY;
    this.addresses = [];
    this.state = DnsNameState.Pending;
    this.lastKind = null;
    this.lookups = 0;
    this.failures = Object.fromEntries(DNS_FAILURE_KINDS.map((k) => [k, 0])) as Record<DnsFailureKind, number>;
    this.changes = 0;
    this.lastSuccessAt = null;
    this.lastError = null;
    this.ttlSeconds = null;
  }

  /** Wait between rounds, ms (before jitter). */
  get intervalMs(): number {
    return this.intervalMsNow;
  }

  /**
   * Changes the wait between rounds (the manager calls it as entries come and go). A shorter
   * interval takes effect at once: a pending longer wait is replaced by the new one from now.
   */
  setIntervalMs(ms: number): void {
    const shorter = ms < this.intervalMsNow;
    this.intervalMsNow = ms;
    if (shorter && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      this.schedule();
    }
  }

  /** The current sorted set (empty until the first good answer). O(1), no copy. */
  current(): readonly string[] {
    return this.addresses;
  }

  /**
   * Resolves once the first lookup round has finished, good or bad (at once when it already
   * has, or when the name was stopped). Lets a caller that may wait (startup, a reload adding
   * the name) wait for a first answer; the request path never does. Never rejects.
   */
  settled(): Promise<void> {
    return this.firstRound;
  }

  /** Listeners are called synchronously after a round that changed the set. */
  addListener(l: AddressListener): void {
    this.listeners.add(l);
  }

  removeListener(l: AddressListener): void {
    this.listeners.delete(l);
  }

  /** New resolver settings, used from the next round (a round in flight finishes on the old ones). */
  setSettings(settings: ResolverSettings): void {
    this.settings = settings;
  }

  /** Starts the loop with a lookup right away, then one per interval. Idempotent; no-op once stopped. */
  start(): void {
    if (this.lifecycle !== 'idle') return;
    this.lifecycle = 'running';
    this.tick();
  }

  /**
   * Stops for good: clears the timer, cancels queries in flight (their answers are ignored)
   * and resolves once the cancelled round has settled. Leaves no timer and no query behind.
   */
  async stop(): Promise<void> {
    this.lifecycle = 'stopped';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.epoch++;
    this.resolver?.cancel();
    this.resolver = null;
    this.listeners.clear();
    this.endFirstRound();
    await this.inflight;
  }

  /**
   * Runs a lookup round now, or joins the one in flight; resolves when it has been recorded.
   * Never rejects. For startup and tests; does nothing once stopped.
   */
  resolveNow(): Promise<void> {
    if (this.lifecycle === 'stopped') return Promise.resolve();
    if (this.inflight !== null) return this.inflight;
    const p = this.round().finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  /** A copy of the name's state and counters. */
  stats(): DnsNameStats {
    return {
      name: this.name,
      intervalMs: this.intervalMs,
      state: this.state,
      addresses: this.addresses,
      lookups: this.lookups,
      failures: { ...this.failures },
      changes: this.changes,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      ttlSeconds: this.ttlSeconds,
    };
  }

  /** True while a timer for the next round is pending (tests). */
  hasTimer(): boolean {
    return this.timer !== null;
  }

  private readonly tick = (): void => {
    this.timer = null;
    void this.resolveNow().then(() => this.schedule());
  };

  private schedule(): void {
    if (this.lifecycle !== 'running' || this.timer !== null) return;
    const waitMs = this.intervalMsNow * (1 + JITTER * (2 * this.rng() - 1));
    this.timer = setTimeout(this.tick, waitMs);
    // A DNS loop never keeps the process alive.
    this.timer.unref();
  }

  private resolverNow(): dnsPromises.Resolver {
    const s = this.settings;
    if (this.resolver === null || this.resolverSettings !== s) {
      // Rounds never overlap, so the old resolver has no query left to lose.
      this.resolver?.cancel();
      // maxTimeout = timeout: c-ares doubles the timeout per try otherwise.
      const r = new dnsPromises.Resolver({ timeout: s.timeoutMs, tries: s.tries, maxTimeout: s.timeoutMs });
      if (s.servers !== null) r.setServers(s.servers as string[]);
      this.resolver = r;
      this.resolverSettings = s;
    }
    return this.resolver;
  }

  private async round(): Promise<void> {
    const epoch = this.epoch;
    let r: dnsPromises.Resolver;
    try {
      r = this.resolverNow();
    } catch (err) {
      // setServers() rejects a malformed address; config validation should have caught it.
      this.record(
        { sets: null, ttlSeconds: null, failure: { kind: DnsFailureKind.Other, code: 'EBADSERVERS', message: (err as Error).message } },
        epoch,
      );
      return;
    }
    const [a, aaaa] = await Promise.all([query(r, this.name, 4), query(r, this.name, 6)]);
    this.record(combineRound(this.sets, a, aaaa), epoch);
  }

  private record(result: RoundResult, epoch: number): void {
    if (epoch !== this.epoch) return; // stopped while the round was in flight
    const at = this.wallClock();
    this.lookups++;
    const { failure } = result;
    if (failure !== null) {
      this.failures[failure.kind]++;
      this.lastError = { ...failure, at };
    }
    let change: AddressChange | null = null;
    if (result.sets !== null) {
      this.sets = result.sets;
      this.ttlSeconds = result.ttlSeconds;
      if (failure === null) this.lastSuccessAt = at;
      const next = unionOf(result.sets);
      if (!sameAddresses(this.addresses, next)) {
        change = diffAddresses(this.addresses, next);
        this.addresses = next;
        this.changes++;
      }
    }
    this.logTransition(failure, change);
    if (change !== null) this.notify(change);
    this.endFirstRound();
  }

  /** One log line per state change or address change; a failure that repeats is debug only. */
  private logTransition(failure: DnsFailure | null, change: AddressChange | null): void {
    const prevState = this.state;
    const prevKind = this.lastKind;
    this.state = failure !== null ? DnsNameState.Failing : this.addresses.length > 0 ? DnsNameState.Ok : DnsNameState.Pending;
    this.lastKind = failure?.kind ?? null;
    const base = { name: this.name, addresses: this.addresses };
    if (change !== null) this.log.info({ ...base, added: change.added, removed: change.removed }, 'dns addresses changed');
    if (failure !== null) {
      const fields = { ...base, kind: failure.kind, code: failure.code, error: failure.message };
      if (prevState !== DnsNameState.Failing || prevKind !== failure.kind) {
        const msg =
          this.addresses.length === 0
            ? 'dns lookup failed; the name has no addresses yet'
            : 'dns lookup failed; keeping the last good addresses';
        this.log.warn(fields, msg);
      } else {
        this.log.debug(fields, 'dns lookup failed again');
      }
    } else if (prevState === DnsNameState.Failing) {
      this.log.info(base, 'dns lookups recovered');
    }
  }

  private notify(change: AddressChange): void {
    for (const l of this.listeners) {
      try {
        l(this.addresses, change);
      } catch (err) {
        // A listener's bug must not stop the loop or the other listeners.
        this.log.error({ name: this.name, err }, 'dns listener threw');
      }
    }
  }
}
