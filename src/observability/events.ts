// The recent events operators ask about first ("what just happened?"): health flips,
// ejections, readmissions and config reloads, in a bounded ring, oldest first, for /status and
// the dashboard. It records; it decides nothing. Nothing here runs per request.

/** A health flip or ejection of one upstream. */
export interface HealthEvent {
  /** ISO 8601 time. */
  readonly at: string;
  readonly pool: string;
  readonly upstream: string;
  readonly from: 'up' | 'down' | 'ejected';
  readonly to: 'up' | 'down' | 'ejected';
  readonly reason: string;
}

/** A config reload, applied or refused. */
export interface ReloadEvent {
  readonly at: string;
  readonly type: 'reload';
  readonly ok: boolean;
  readonly reason: string;
}

export type Event = HealthEvent | ReloadEvent;

/**
 * The event of a reload: applied from `source` (naming the changed keys only a restart applies,
 * see config/restart-only.ts), or refused with `err`, whose message (e.g. a
 * ConfigError's "invalid configuration (2 problems):" and one line per problem) becomes one
 * line with every problem kept.
 */
export function reloadEvent(outcome: { readonly source: string | null; readonly restartNeeded?: readonly string[] } | { readonly refused: unknown }): ReloadEvent {
  const at = new Date().toISOString();
  if ('source' in outcome) {
    const later = outcome.restartNeeded ?? [];
    const note = later.length === 0 ? '' : ` (${later.join(', ')}: at the next restart)`;
    return { at, type: 'reload', ok: true, reason: `applied ${outcome.source ?? 'config'}${note}` };
  }
  const message = outcome.refused instanceof Error ? outcome.refused.message : String(outcome.refused);
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  const reason = lines.length <= 1 ? (lines[0] ?? 'invalid config') : `${lines[0]!.replace(/:$/, '')}: ${lines.slice(1).join('; ')}`;
  return { at, type: 'reload', ok: false, reason };
}

/** Events kept (the spec's "at most 100"). */
export const EVENT_CAPACITY = 100;

/** A bounded ring of events. O(1) per record, allocates the event only. */
export class EventLog {
  private readonly ring: (Event | undefined)[];
  private next: number;
  private count: number;
  private readonly listeners: ((e: Event) => void)[];

  constructor(capacity: number = EVENT_CAPACITY) {
    this.ring = new Array<Event | undefined>(capacity);
    this.next = 0;
    this.count = 0;
    this.listeners = [];
  }

  record(e: Event): void {
    this.ring[this.next] = e;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
    for (const fn of this.listeners) fn(e);
  }

  /** Calls `fn` with every event recorded from now on (e.g. to forward it to a cluster primary). */
  subscribe(fn: (e: Event) => void): void {
    this.listeners.push(fn);
  }

  /** The events kept, oldest first. O(capacity), allocates the list. */
  list(): Event[] {
    const out: Event[] = [];
    const cap = this.ring.length;
    const start = (this.next - this.count + cap) % cap;
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % cap]!);
    return out;
  }
}
