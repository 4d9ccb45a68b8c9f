// start(): the whole proxy in this process, as the CLI runs it (listeners, admin server, health
// checks, reloads) but with no signal handlers and no process.exit: the caller owns the process.

import { Runtime } from '../runtime.ts';
import type { ConfigSource, FairwayConfig } from './config.ts';
import { ConfigFeed, loggerOf, observe, type CommonOptions, type Observable } from './instance.ts';

/** `{ configFile }` (a YAML file) or `{ config }` (an object of the same shape), plus options. */
export type StartOptions = ConfigSource & CommonOptions;

/** A running Fairway. */
export interface Fairway extends Observable {
  /** Bound data-plane URLs, e.g. `['http://127.0.0.1:8080']` (port 0 resolved). */
  readonly listeners: readonly string[];
  /** The admin server's URL, or null without `admin`. */
  readonly admin: string | null;
  /**
   * Like SIGHUP: validates the file (or the object given at start) again and applies it; with
   * `config`, applies that object instead (and later reloads use it). Rejects with
   * FairwayConfigError when invalid; the running config stays. Listen and admin addresses are not
   * rebound.
   */
  reload(config?: FairwayConfig): Promise<void>;
  /**
   * Drains and stops, like SIGTERM: readiness off, stop accepting, in-flight requests get up to
   * `shutdown.drainTimeout`, then everything is closed. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts Fairway in this process. Resolves once every listener and the admin server are bound.
 * Installs no signal handlers (call close() from yours).
 * @throws FairwayConfigError for an invalid config (nothing started); the bind error when an
 *   address cannot be bound (nothing left running).
 */
export async function start(opts: StartOptions): Promise<Fairway> {
  const feed = new ConfigFeed(opts, opts.env ?? process.env, { embedded: false });
  const config = feed.load();
  const rt = await Runtime.start(config, { log: loggerOf(opts.log), reloadSource: () => feed.load() });
  let closing: Promise<void> | null = null;
  return {
    listeners: Object.freeze(rt.urls()),
    admin: rt.admin?.url() ?? null,
    reload: (next) => feed.reload(rt, next),
    close: () => (closing ??= rt.close(rt.current.config.shutdown.drainTimeoutMs)),
    ...observe(rt),
  };
}
