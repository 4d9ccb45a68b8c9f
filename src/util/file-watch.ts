// Watches one file for replacement or edits by polling its identity (file-identity.ts): sees an
// editor's write, a rename into place and the Kubernetes ConfigMap `..data` symlink swap alike,
// and calls back once the change has settled (debounced). It never reads the file's contents
// and decides nothing about them: the caller reloads, validates and logs.

import { fileIdentity } from './file-identity.ts';

/** Default time between two looks at an unchanged file. */
export const DEFAULT_WATCH_INTERVAL_MS = 1000;
/** Default quiet time a changed identity must hold before the change is reported. */
export const DEFAULT_WATCH_DEBOUNCE_MS = 300;

/** What one look at the file found. */
export const Look = {
  /** Same identity as the last one reported (or the first one seen). */
  Unchanged: 'unchanged',
  /** A new identity, not yet stable: look again after the debounce time. */
  Settling: 'settling',
  /** The new identity held across two looks: the change was reported. */
  Changed: 'changed',
} as const;
export type Look = (typeof Look)[keyof typeof Look];

export interface FileWatchOptions {
  readonly file: string;
  /** Called once per settled change; a throw is the caller's bug and is not caught here. */
  readonly onChange: () => void;
  readonly intervalMs?: number;
  readonly debounceMs?: number;
  /**
   * Asked before each timed look; while false the file is not looked at (no syscall) and the
   * next look after it turns true takes a new baseline: changes made meanwhile are not reported.
   */
  readonly enabled?: () => boolean;
  /**
   * The file's identity when its reader last read it (taken just before reading). When given,
   * a change means "differs from what was last read", so a reload by any other path (a signal,
   * an admin request) moves the baseline too, and an edit made just before the watch started
   * is still seen. Without it, the baseline is the identity at the watch's first look.
   */
  readonly lastRead?: () => string | null;
}

/**
 * Polls `file`'s identity every `intervalMs`; a change is reported once the new identity is
 * seen again `debounceMs` later (a writer that is still writing, or a swap in several steps,
 * gives one callback, not several). A change is reported once even if the caller's reload of
 * it fails: the next report needs the file to change again. Two syscalls per look; the timer
 * is unref'd, so a watch never keeps the process alive.
 */
export class FileWatch {
  readonly file: string;
  private readonly onChange: () => void;
  private readonly intervalMs: number;
  private readonly debounceMs: number;
  private readonly enabled: () => boolean;
  private readonly lastRead: () => string | null;
  /** The identity last reported (or seen at start). */
  private known: string | null;
  /** A new identity seen once, waiting to be confirmed. */
  private candidate: string | null;
  private timer: NodeJS.Timeout | null;
  private running: boolean;
  /** stop() was called: nothing is reported any more. */
  private stopped: boolean;

  constructor(opts: FileWatchOptions) {
    this.file = opts.file;
    this.onChange = opts.onChange;
    this.intervalMs = opts.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    this.debounceMs = opts.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
    this.enabled = opts.enabled ?? (() => true);
    this.lastRead = opts.lastRead ?? (() => null);
    this.known = null;
    this.candidate = null;
    this.timer = null;
    this.running = false;
    this.stopped = false;
  }

  /** Takes the file's identity now as the baseline and starts polling. Idempotent; a stopped watch stays stopped. */
  async start(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    if (this.enabled()) this.known ??= await fileIdentity(this.file);
    this.schedule(this.intervalMs);
  }

  /** Stops polling. A look in progress finishes but reports nothing. Idempotent. */
  stop(): void {
    this.running = false;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * One look at the file (the timer calls it; tests call it directly). The first look only
   * takes the baseline. Never rejects: an unreadable file has an identity of its own.
   */
  async look(): Promise<Look> {
    const id = await fileIdentity(this.file);
    this.known = this.lastRead() ?? this.known;
    if (this.known === null) {
      this.known = id;
      return Look.Unchanged;
    }
    if (id === this.known) {
      this.candidate = null;
      return Look.Unchanged;
    }
    if (id !== this.candidate) {
      this.candidate = id;
      return Look.Settling;
    }
    this.known = id;
    this.candidate = null;
    if (this.stopped) return Look.Unchanged;
    this.onChange();
    return Look.Changed;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(this.tick, ms);
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (!this.enabled()) {
      this.known = null;
      this.candidate = null;
      this.schedule(this.intervalMs);
      return;
    }
    void this.look().then((r) => {
      if (this.running) this.schedule(r === Look.Settling ? this.debounceMs : this.intervalMs);
    });
  };
}
