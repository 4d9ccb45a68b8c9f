// The certificates of one TLS listener while it runs: their secure contexts, the SNI table over
// them, re-reading on config reload and when the files change on disk (polled identity), and
// the figures /status and /metrics show. It does not create or bind servers (the listener does,
// with serverOptions() and attach()) and does not decide what a config reload contains.

import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import type { ListenTls, TlsCertificateConfig } from '../config/types.ts';
import type { Logger } from '../observability/log.ts';
import { CertificateError, readCertificatePair, type LoadedCertificate } from './certificate.ts';
import { fileIdentity } from '../util/file-identity.ts';
import { secureContextOptions, serverOptions, type ContextDefaults } from './options.ts';
import { SniTable } from './sni.ts';

/** How often certificate files are checked for changes by default (spec: seen within 10 s). */
export const DEFAULT_POLL_INTERVAL_MS = 2000;

export interface CertificateStoreOptions {
  readonly tls: ListenTls;
  readonly log: Logger;
  /** The listener as logs and metrics name it, e.g. `https://0.0.0.0:8443`. */
  readonly listener: string;
  /** Interval between file checks; 0 turns watching off (reload() still works). Default 2 s. */
  readonly pollIntervalMs?: number;
  /** Epoch milliseconds, for loadedAt and lastErrorAt. Default Date.now. */
  readonly wallClock?: () => number;
}

/** One certificate as /status shows it and /metrics reads it. */
export interface CertificateStatus {
  readonly certFile: string;
  readonly keyFile: string;
  /** DNS names served (SNI), lower case; the first certificate also serves every other name. */
  readonly names: readonly string[];
  /** The serving leaf's notAfter, ISO 8601. */
  readonly notAfter: string;
  /** The same as epoch milliseconds (the expiry gauge divides by 1000). */
  readonly notAfterMs: number;
  readonly fingerprint256: string;
  /** When the serving certificate was loaded, ISO 8601. */
  readonly loadedAt: string;
  /** ok: new contents swapped in after the first load; failed: attempts that kept the current certificate. */
  readonly reloads: { readonly ok: number; readonly failed: number };
  /** Why the files on disk are not what is served; null when they are. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}

/** What one reload() did. */
export interface CertificateReloadReport {
  /** Certificates whose contents changed and are now served. */
  readonly changed: number;
  /** Certificates that failed to load and keep serving their previous contents. */
  readonly failed: readonly CertificateError[];
}

/** Certificates that cannot be loaded and have nothing to fall back on (first load, or new in a reload). */
export class CertificateLoadError extends Error {
  override readonly name = 'CertificateLoadError';
  /** `index` is the position in `tls.certificates`; `error.field` says `cert` or `key`. */
  readonly problems: readonly { readonly index: number; readonly error: CertificateError }[];

  constructor(problems: readonly { readonly index: number; readonly error: CertificateError }[]) {
    super(problems.map((p) => `certificates[${p.index}].${p.error.field}: ${p.error.message}`).join('\n'));
    this.problems = problems;
  }
}

/** One load attempt: the files' identities taken before reading, and what reading gave. */
interface Attempt {
  readonly certId: string;
  readonly keyId: string;
  readonly result: LoadedCertificate | CertificateError;
}

async function attemptLoad(files: TlsCertificateConfig): Promise<Attempt> {
  // Identities first: a change landing during the read shows up as a new identity next poll.
  const [certId, keyId] = await Promise.all([fileIdentity(files.certFile), fileIdentity(files.keyFile)]);
  let result: LoadedCertificate | CertificateError;
  try {
    result = await readCertificatePair(files);
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err;
    result = err;
  }
  return { certId, keyId, result };
}

/** One configured certificate and what is served for it. Mutated only by its store. */
class Entry {
  readonly files: TlsCertificateConfig;
  cert: LoadedCertificate;
  context: tls.SecureContext;
  /** File identities at the last attempt, good or bad: polling reloads only when they move. */
  certId: string;
  keyId: string;
  loadedAtMs: number;
  ok: number;
  failed: number;
  lastError: string | null;
  lastErrorAtMs: number | null;

  constructor(files: TlsCertificateConfig, attempt: Attempt, cert: LoadedCertificate, context: tls.SecureContext, nowMs: number) {
    this.files = files;
    this.cert = cert;
    this.context = context;
    this.certId = attempt.certId;
    this.keyId = attempt.keyId;
    this.loadedAtMs = nowMs;
    this.ok = 0;
    this.failed = 0;
    this.lastError = null;
    this.lastErrorAtMs = null;
  }
}

const samePair = (a: TlsCertificateConfig, b: TlsCertificateConfig): boolean => a.certFile === b.certFile && a.keyFile === b.keyFile;

/**
 * The certificate store of one TLS listener. Handshakes read `table` (one reference); every
 * change builds new contexts and a new table off the handshake path and assigns them, so new
 * handshakes use the new certificate and open connections keep theirs. Loads, polls and
 * reloads run one at a time. The poll timer is unref'd; close() stops it.
 */
export class CertificateStore {
  /** The listener as logs and metrics name it; the listener may set its real URL once bound (port 0). */
  listener: string;
  private readonly log: Logger;
  private readonly http2: boolean;
  private readonly pollIntervalMs: number;
  private readonly wallClock: () => number;
  private defaults: ContextDefaults;
  private entries: Entry[];
  private table: SniTable<Entry>;
  /** The context servers were last given as their default (no SNI or no match). */
  private servedDefault: tls.SecureContext;
  private readonly servers = new Set<tls.Server>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * Answers a handshake's SNI: exact name, then wildcard, then the first certificate. O(1),
   * allocates nothing for a lower-case exact match (see SniTable.select).
   */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    cb(null, this.table.select(servername).context);
  };

  private constructor(opts: CertificateStoreOptions, defaults: ContextDefaults, entries: Entry[]) {
    this.listener = opts.listener;
    this.log = opts.log;
    this.http2 = opts.tls.http2;
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.wallClock = opts.wallClock ?? Date.now;
    this.defaults = defaults;
    this.entries = entries;
    this.table = buildTable(entries);
    this.servedDefault = entries[0]!.context;
    this.schedule();
  }

  /**
   * Loads every certificate and starts watching. Rejects with CertificateLoadError listing every
   * certificate that cannot be served (missing, unreadable, bad PEM, key mismatch): nothing starts.
   */
  static async open(opts: CertificateStoreOptions): Promise<CertificateStore> {
    const defaults: ContextDefaults = { minVersion: opts.tls.minVersion, ticketKeys: randomBytes(48) };
    const configs = opts.tls.certificates;
    if (configs.length === 0) throw new Error('a TLS listener needs at least one certificate');
    const attempts = await Promise.all(configs.map(attemptLoad));
    const problems = failures(attempts);
    if (problems.length > 0) throw new CertificateLoadError(problems);
    const now = (opts.wallClock ?? Date.now)();
    const entries = attempts.map((a, i) => {
      const cert = a.result as LoadedCertificate;
      for (const w of cert.warnings) opts.log.warn({ listener: opts.listener, cert: cert.certFile }, w);
      return new Entry(configs[i]!, a, cert, tls.createSecureContext(secureContextOptions(cert, defaults)), now);
    });
    return new CertificateStore(opts, defaults, entries);
  }

  /**
   * Options for `https.createServer(...)` or `http2.createSecureServer({ ...this, allowHTTP1: true })`:
   * the first certificate as the default context, the SNI callback, ALPN, handshake timeout.
   * Call attach() on the server made from them.
   */
  serverOptions(): tls.TlsOptions {
    return serverOptions(this.entries[0]!.cert, this.defaults, this.http2, this.sniCallback);
  }

  /**
   * Keeps a server's default context (used without SNI, e.g. clients that dial an IP) equal to
   * the first certificate from now on, via setSecureContext. Detached on the server's 'close'.
   */
  attach(server: tls.Server): void {
    if (this.closed) return;
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    server.setSecureContext(secureContextOptions(this.entries[0]!.cert, this.defaults));
  }

  /**
   * Re-reads every certificate (config reload, SIGHUP). With `next`, the listener's new TLS
   * config: its certificate list replaces the current one and its minVersion applies to new
   * handshakes. A certificate already served that fails to load keeps its current contents
   * (logged, counted, in the report); a new one that fails rejects the whole reload with
   * CertificateLoadError and nothing changes. `http2` cannot change on a running listener.
   */
  reload(next?: ListenTls): Promise<CertificateReloadReport> {
    return this.serial(async () => {
      if (next !== undefined && next.http2 !== this.http2) {
        this.log.warn({ listener: this.listener }, 'tls.http2 changed: it takes effect when the listener is started again');
      }
      const configs = next?.certificates ?? this.entries.map((e) => e.files);
      if (configs.length === 0) throw new Error('a TLS listener needs at least one certificate');
      const attempts = await Promise.all(configs.map(attemptLoad));
      const used = new Set<Entry>();
      const olds = configs.map((files) => {
        const old = this.entries.find((e) => !used.has(e) && samePair(e.files, files));
        if (old !== undefined) used.add(old);
        return old;
      });
      const problems = failures(attempts).filter((p) => olds[p.index] === undefined);
      if (problems.length > 0) throw new CertificateLoadError(problems);

      const defaults = next === undefined || next.minVersion === this.defaults.minVersion ? this.defaults : { ...this.defaults, minVersion: next.minVersion };
      const contextsStale = defaults !== this.defaults;
      this.defaults = defaults;
      const now = this.wallClock();
      let changed = 0;
      const failed: CertificateError[] = [];
      const entries = attempts.map((a, i) => {
        const old = olds[i];
        if (old === undefined) {
          const cert = a.result as LoadedCertificate;
          changed++;
          return new Entry(configs[i]!, a, cert, tls.createSecureContext(secureContextOptions(cert, defaults)), now);
        }
        if (this.apply(old, a, 'reload')) changed++;
        else if (contextsStale) old.context = tls.createSecureContext(secureContextOptions(old.cert, defaults));
        if (a.result instanceof CertificateError) failed.push(a.result);
        return old;
      });
      this.entries = entries;
      this.publish();
      return { changed, failed };
    });
  }

  /** One watch round now: reloads each certificate whose files' identity moved. Tests and admin. */
  checkNow(): Promise<void> {
    return this.serial(() => this.poll());
  }

  /** The lowest TLS version new handshakes accept (a reload may change it). */
  get minVersion(): string {
    return this.defaults.minVersion;
  }

  /** Per certificate, in config order (the first is the default). Allocates the answer. */
  status(): CertificateStatus[] {
    return this.entries.map((e) => ({
      certFile: e.files.certFile,
      keyFile: e.files.keyFile,
      names: e.cert.names,
      notAfter: e.cert.notAfter.toISOString(),
      notAfterMs: e.cert.notAfter.getTime(),
      fingerprint256: e.cert.fingerprint256,
      loadedAt: new Date(e.loadedAtMs).toISOString(),
      reloads: { ok: e.ok, failed: e.failed },
      lastError: e.lastError,
      lastErrorAt: e.lastErrorAtMs === null ? null : new Date(e.lastErrorAtMs).toISOString(),
    }));
  }

  /** Stops watching and forgets attached servers. Handshakes keep working with the last contexts. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.servers.clear();
  }

  private schedule(): void {
    if (this.closed || this.pollIntervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.checkNow()
        .catch((err: unknown) => this.log.error({ err, listener: this.listener }, 'certificate watch failed'))
        .finally(() => this.schedule());
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let changed = false;
    for (const e of this.entries) {
      const [certId, keyId] = await Promise.all([fileIdentity(e.files.certFile), fileIdentity(e.files.keyFile)]);
      if (this.closed) return;
      if (certId === e.certId && keyId === e.keyId) continue;
      if (this.apply(e, await attemptLoad(e.files), 'watch')) changed = true;
    }
    if (changed) this.publish();
  }

  /** Applies one attempt to an entry; true when new contents are now served. */
  private apply(e: Entry, a: Attempt, source: 'watch' | 'reload'): boolean {
    e.certId = a.certId;
    e.keyId = a.keyId;
    const fields = { listener: this.listener, cert: e.files.certFile, key: e.files.keyFile, source };
    let cert: LoadedCertificate;
    let context: tls.SecureContext;
    try {
      if (a.result instanceof CertificateError) throw a.result;
      cert = a.result;
      if (cert.certPem === e.cert.certPem && cert.keyPem === e.cert.keyPem) {
        e.lastError = null;
        e.lastErrorAtMs = null;
        return false;
      }
      context = tls.createSecureContext(secureContextOptions(cert, this.defaults));
    } catch (err) {
      e.failed++;
      e.lastError = err instanceof Error ? err.message : String(err);
      e.lastErrorAtMs = this.wallClock();
      this.log.warn({ ...fields, err: e.lastError }, 'certificate not reloaded: the current certificate stays');
      return false;
    }
    e.cert = cert;
    e.context = context;
    e.ok++;
    e.loadedAtMs = this.wallClock();
    e.lastError = null;
    e.lastErrorAtMs = null;
    this.log.info({ ...fields, names: cert.names, notAfter: cert.notAfter.toISOString() }, 'certificate reloaded');
    for (const w of cert.warnings) this.log.warn(fields, w);
    return true;
  }

  /** Makes the current entries what handshakes see: a new SNI table, and the servers' default. */
  private publish(): void {
    this.table = buildTable(this.entries);
    const first = this.entries[0]!;
    if (first.context === this.servedDefault) return;
    this.servedDefault = first.context;
    const options = secureContextOptions(first.cert, this.defaults);
    for (const server of this.servers) server.setSecureContext(options);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

function buildTable(entries: readonly Entry[]): SniTable<Entry> {
  return new SniTable(entries.map((e) => ({ names: e.cert.names, value: e })));
}

function failures(attempts: readonly Attempt[]): { index: number; error: CertificateError }[] {
  const out: { index: number; error: CertificateError }[] = [];
  attempts.forEach((a, index) => {
    if (a.result instanceof CertificateError) out.push({ index, error: a.result });
  });
  return out;
}
