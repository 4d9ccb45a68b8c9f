// Request/reply between a cluster primary and its workers over the cluster IPC channel:
// requests carry an id, replies echo it, a request that gets no reply in time (or whose worker
// is gone) resolves with a failed reply. The message types of both sides live here.

import type { Worker } from 'node:cluster';
import type { CheckMessage, ChecksMessage, EjectMessage } from './health-share.ts';

/** Primary → worker. Requests (with an id) expect one reply. */
export type ToWorker =
  | { type: 'config'; text: string | null }
  | { type: 'metrics'; id: number }
  | { type: 'status'; id: number }
  | { type: 'reload'; id: number; text: string | null }
  | { type: 'drain' }
  | { type: 'reopen' }
  | CheckMessage
  | ChecksMessage
  | EjectMessage;

export type Reply = { type: 'reply'; id: number; ok: boolean; value?: unknown; issues?: string[]; error?: string };

/** Worker → primary. */
export type FromWorker = { type: 'hello' } | { type: 'ready'; urls: string[] } | Reply | EjectMessage;

export type Question = 'metrics' | 'status' | 'reload';

/** How long the primary waits for a worker's reply. */
export const ASK_TIMEOUT_MS = 5000;

/** The primary's side: asks workers and routes their replies back to the asker. */
export class Rpc {
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;

  /**
   * Sends `question` to `worker` (with `extra` fields, e.g. the config text of a reload).
   * Never rejects: a dead worker, a send error or a timeout give a failed reply.
   */
  ask(worker: Worker, label: string, question: Question, extra: Record<string, unknown> = {}): Promise<Reply> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      if (worker.isDead() || !worker.isConnected()) {
        resolve({ type: 'reply', id, ok: false, error: `${label} is restarting` });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ type: 'reply', id, ok: false, error: `${label} did not answer` });
      }, ASK_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      const fail = (err: unknown): void => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        resolve({ type: 'reply', id, ok: false, error: String(err) });
      };
      try {
        // A channel that closes meanwhile reports through the callback, not an 'error' event.
        worker.send({ type: question, id, ...extra }, undefined, (err) => {
          if (err !== null) fail(err);
        });
      } catch (err) {
        fail(err);
      }
    });
  }

  /** Routes a worker's reply to its asker (unknown or late ids are dropped). */
  onReply(m: Reply): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m);
  }
}

/** The worker's side: sends a message to the primary if the channel is still open. */
export function sendToPrimary(m: FromWorker): void {
  // The callback keeps a channel that closes meanwhile (primary gone) from becoming an 'error' event.
  if (process.connected) process.send!(m, undefined, undefined, () => {});
}
