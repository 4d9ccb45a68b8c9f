// Active health checks for one pool and one config generation: a jittered timer per upstream,
// `GET path` over a probe connection pool of its own, each result handed to health/state.ts,
// which decides flips and writes the state. It keeps no health state itself and ejects nothing.
// Who runs checkers is the runtime's choice: with workers, only the cluster primary does, and
// the results reach the workers through their own health state (cluster/health-share.ts).

import { Pool as UndiciPool } from 'undici';
import type { HealthCheckConfig, StatusSet } from '../config/types.ts';
import { connectTlsFor, type UpstreamConnectTls } from '../tls/upstream.ts';
import type { Logger } from '../observability/log.ts';
import type { Pool } from '../pool/pool.ts';
import type { HealthCheckResult, Upstream } from '../pool/upstream.ts';
import { ErrorCode, Phase, classify } from '../core/errors.ts';
import type { Clock } from '../util/clock.ts';
import type { HealthState } from './state.ts';

/** The user-agent of every probe, so upstream logs can tell probes from traffic. */
export const HEALTH_CHECK_USER_AGENT = 'fairway-health-check';

/** Each upstream's interval is drawn from interval × [1 − JITTER, 1 + JITTER]. */
const JITTER = 0.1;

/** Bytes of a probe's response body read before the connection is dropped instead. */
const BODY_DUMP_LIMIT = 64 * 1024;

/** Per-upstream probing state owned by one checker (one generation). */
interface Slot {
  readonly u: Upstream;
  /** `host:port` of the upstream, sent as the Host header (the DNS name for a discovered address). */
  readonly host: string;
  /** TLS connect options for an https:// upstream (the pool's `tls`, as traffic uses); null for http://. */
  readonly tls: UpstreamConnectTls | null;
  /** Created on the first probe, destroyed by stop(). */
  dispatcher: UndiciPool | null;
  timer: NodeJS.Timeout | null;
  /** The upstream left the pool (syncMembers): no more probes, no more results. */
  removed: boolean;
}

/**
 * True when `status` is in one of the inclusive ranges of `set`. O(ranges), allocates nothing.
 */
export function isExpectedStatus(set: StatusSet, status: number): boolean {
  for (let i = 0; i < set.length; i++) {
    const r = set[i]!;
    if (status >= r[0] && status <= r[1]) return true;
  }
  return false;
}

/**
 * A probe connection pool for one upstream, apart from the traffic pool so probes never queue
 * behind user requests (and a saturated traffic pool never fails a heartbeat). HTTP/1.1 only,
 * at most two connections, every timeout bounded by the check timeout. `tls`: the same connect
 * options the traffic pool uses (CA, servername, client certificate, verify), so a probe passes
 * only where traffic would.
 */
export function createProbeDispatcher(origin: string, cfg: HealthCheckConfig, tls: UpstreamConnectTls | null = null): UndiciPool {
  const t = cfg.timeoutMs;
  return new UndiciPool(origin, {
    connections: 2,
    pipelining: 1,
    headersTimeout: t,
    bodyTimeout: t,
    connect: tls === null ? { timeout: t } : { timeout: t, ...tls },
    connectTimeout: t,
    allowH2: false,
  });
}

/**
 * Active health checker of one pool (one per pool per config generation; runtime.ts stops the
 * old generation's checkers and starts the new ones on reload). Every `intervalMs` (±10 %,
 * drawn per upstream per round so upstreams are not probed in lock step) each upstream that
 * is not retired gets `GET path`, bounded by `timeoutMs`. The result goes to `u.lastCheck`,
 * and the threshold machine (state on `u.checkStreak` and the DownActive flag) decides flips.
 */
export class HealthChecker {
  readonly pool: Pool;
  readonly cfg: HealthCheckConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private slots: readonly Slot[];
  private running: boolean;
  /** stop() was called and start() was not called since: results are dropped. */
  private stopped: boolean;
  /** Bumped by stop(): a probe that started in an older epoch does not record its result. */
  private epoch: number;
  private readonly health: HealthState;

  constructor(pool: Pool, cfg: HealthCheckConfig, health: HealthState, log: Logger, clock: Clock) {
    this.pool = pool;
    this.cfg = cfg;
    this.health = health;
    this.log = log;
    this.clock = clock;
    // The configured host name of each origin (a resolved upstream is dialled by address but
    // verified by name), as the registry gives it to the traffic pool.
    const hostnames = new Map(pool.config.upstreams.map((uc) => [uc.origin, uc.hostname]));
    this.slots = pool.upstreams.map((u) => {
      const tls = connectTlsFor(u.origin, u.dnsName ?? hostnames.get(u.origin) ?? new URL(u.origin).hostname, pool.config.tls);
      return newSlot(u, tls);
    });
    this.running = false;
    this.stopped = false;
    this.epoch = 0;
  }

  /**
   * Starts probing. Each upstream's first probe comes after a random fraction of the
   * interval, so a fresh generation does not probe everything at once. Timers are unref'd:
   * a running checker never keeps the process alive. Idempotent.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    for (const s of this.slots) this.schedule(s, Math.random() * this.cfg.intervalMs);
  }

  /**
   * Stops probing: clears every timer and destroys the probe connection pools (in-flight
   * probes are aborted and their results dropped). Leaves no timer or socket behind.
   * Upstream health state is left as is: the next generation's checker carries on from it.
   */
  stop(): void {
    this.running = false;
    this.stopped = true;
    this.epoch++;
    for (const s of this.slots) releaseSlot(s);
  }

  /**
   * Follows a membership change of the pool (DNS): a new member gets its first probe after a
   * random fraction of the interval, a member that left stops being probed (its probe pool is
   * destroyed; a probe in flight records nothing). Kept members keep their schedule. O(n).
   */
  syncMembers(): void {
    const byUpstream = new Map<Upstream, Slot>();
    for (const s of this.slots) byUpstream.set(s.u, s);
    const next: Slot[] = [];
    for (const u of this.pool.upstreams) {
      let s = byUpstream.get(u);
      if (s === undefined) {
        s = newSlot(u, connectTlsFor(u.origin, u.dnsName ?? new URL(u.origin).hostname, this.pool.config.tls));
        if (this.running) this.schedule(s, Math.random() * this.cfg.intervalMs);
      }
      byUpstream.delete(u);
      next.push(s);
    }
    for (const gone of byUpstream.values()) {
      gone.removed = true;
      releaseSlot(gone);
    }
    this.slots = next;
  }

  /**
   * Probes every (non-retired) upstream once, at once, and resolves when all results are
   * recorded (flips included). Never rejects. For tests and the admin server; does not move
   * the periodic schedule. A stopped checker resolves at once without probing: its
   * generation was replaced and it must not write state the new checker owns.
   */
  async checkNow(): Promise<void> {
    if (this.stopped) return;
    const probes: Promise<void>[] = [];
    for (const s of this.slots) if (!s.u.retired) probes.push(this.probe(s));
    await Promise.all(probes);
  }

  /** Records one check result for `u` (a member of this pool) in the health state. */
  record(u: Upstream, result: HealthCheckResult): void {
    this.health.recordCheck(this.pool, u, result, this.cfg);
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  private schedule(s: Slot, delayMs: number): void {
    const t = setTimeout(this.onTimer, delayMs, s);
    t.unref();
    s.timer = t;
  }

  /** One round for one upstream: probe, then schedule the next one interval after this one began. */
  private readonly onTimer = (s: Slot): void => {
    s.timer = null;
    if (!this.running || s.u.retired || s.removed) return;
    const epoch = this.epoch;
    const startedAt = this.clock();
    // probe() never rejects; the catch is a guard so a bug can never surface as an
    // unhandled rejection from a timer.
    this.probe(s)
      .catch((err: unknown) => this.log.error({ err, pool: this.pool.name, upstream: s.u.origin }, 'health check failed unexpectedly'))
      .finally(() => {
        if (!this.running || epoch !== this.epoch || s.timer !== null) return;
        const interval = this.cfg.intervalMs * (1 - JITTER + 2 * JITTER * Math.random());
        this.schedule(s, Math.max(0, interval - (this.clock() - startedAt)));
      });
  };

  /** Sends one probe to `s.u` and records its result (unless stopped meanwhile). Never rejects. */
  private async probe(s: Slot): Promise<void> {
    const epoch = this.epoch;
    const cfg = this.cfg;
    const startedAt = this.clock();
    // A timer of our own besides undici's headers/body timeouts: together they bound the
    // whole probe (connect + headers + body), so a hung upstream always ends in a failure.
    const ac = new AbortController();
    const timer = setTimeout(abortProbe, cfg.timeoutMs, ac);
    timer.unref();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const d = (s.dispatcher ??= createProbeDispatcher(s.u.origin, cfg, s.tls));
      const res = await d.request({
        path: cfg.path,
        method: 'GET',
        headers: { host: s.host, 'user-agent': HEALTH_CHECK_USER_AGENT, accept: '*/*' },
        signal: ac.signal,
        headersTimeout: cfg.timeoutMs,
        bodyTimeout: cfg.timeoutMs,
        // A fresh connection per probe: proves the upstream still accepts connections (not
        // just that an old keep-alive socket survives) and never races a server-side idle close.
        reset: true,
      });
      status = res.statusCode;
      // Read and discard; a body cut short after the status line does not change the verdict,
      // but one that does not finish within the timeout does.
      await res.body.dump({ limit: BODY_DUMP_LIMIT, signal: ac.signal });
    } catch (err) {
      error = ac.signal.aborted ? `${ErrorCode.UpstreamTimeout} after ${cfg.timeoutMs}ms` : describeError(err);
    } finally {
      clearTimeout(timer);
    }
    if (epoch !== this.epoch || this.stopped || s.removed) return;
    const ok = error === null && status !== null && isExpectedStatus(cfg.expectStatus, status);
    this.record(s.u, { ok, at: Date.now(), status, error, latencyMs: this.clock() - startedAt });
  }
}

function abortProbe(ac: AbortController): void {
  ac.abort();
}

function newSlot(u: Upstream, tls: UpstreamConnectTls | null): Slot {
  return { u, host: hostOf(u), tls, dispatcher: null, timer: null, removed: false };
}

/** Clears a slot's timer and destroys its probe pool (a probe in flight is aborted). */
function releaseSlot(s: Slot): void {
  if (s.timer !== null) clearTimeout(s.timer);
  s.timer = null;
  const d = s.dispatcher;
  s.dispatcher = null;
  d?.destroy().catch(() => {});
}

/**
 * The Host header of a probe: the origin's `host:port` (port omitted when it is the scheme's
 * default, as in a URL), with the DNS name in place of a discovered address, since virtual
 * hosts answer to the name.
 */
function hostOf(u: Upstream): string {
  const url = new URL(u.origin);
  if (u.dnsName !== null) url.hostname = u.dnsName;
  return url.host;
}

/** A stable code for a failed probe (the proxy's error catalogue), with undici's code when it adds detail. */
function describeError(err: unknown): string {
  const raw = (err as { code?: unknown } | null)?.code;
  if (typeof raw !== 'string') return err instanceof Error ? err.message : String(err);
  const code = classify(err, Phase.RequestSent);
  return code === ErrorCode.UpstreamTimeout || code === ErrorCode.UpstreamIdleTimeout ? code : `${code} (${raw})`;
}
