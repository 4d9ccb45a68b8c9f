// Open-loop load for the scenarios: one request every 1/rate s over an undici Pool, latency from
// the scheduled send time (queueing is not hidden). autocannon's overallRate sends each
// connection's per-second quota at the top of every second: bursts that distort what a balancer sees.

import { Pool } from 'undici';
import type { KeySpec } from './load-types.ts';

export interface OpenLoopCounts {
  /** Status code → responses. */
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  errorKinds: Record<string, number>;
}

export interface OpenLoop {
  /** Runs for `seconds`; `onResponse` gets the status and the ms since the scheduled send time. */
  run(seconds: number, onResponse?: (status: number, ms: number) => void): Promise<OpenLoopCounts>;
  close(): Promise<void>;
}

/** What every request carries: fixed headers, and a per-request key header. */
export interface OpenLoopHeaders {
  headers?: Record<string, string> | undefined;
  keys?: KeySpec | undefined;
}

/** An open-loop driver against `url` (origin + path) at `rate` req/s over at most `connections`. */
export function openLoop(url: string, rate: number, connections: number, timeoutS: number, extra: OpenLoopHeaders = {}): OpenLoop {
  const u = new URL(url);
  const path = `${u.pathname}${u.search}`;
  const pool = new Pool(u.origin, { connections, pipelining: 1, headersTimeout: timeoutS * 1000, bodyTimeout: timeoutS * 1000 });
  const intervalMs = 1000 / rate;

  async function run(seconds: number, onResponse?: (status: number, ms: number) => void): Promise<OpenLoopCounts> {
    const counts: OpenLoopCounts = { statusCodes: {}, errors: 0, timeouts: 0, errorKinds: {} };
    const pending = new Set<Promise<void>>();
    const one = async (scheduled: number): Promise<void> => {
      try {
        const r = await pool.request({ path, method: 'GET', headers: headersFor(extra), signal: AbortSignal.timeout(timeoutS * 1000) });
        await r.body.dump({ limit: Infinity });
        const ms = performance.now() - scheduled;
        const k = String(r.statusCode);
        counts.statusCodes[k] = (counts.statusCodes[k] ?? 0) + 1;
        onResponse?.(r.statusCode, ms);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const kind = e.code ?? e.name;
        counts.errors++;
        if (kind === 'UND_ERR_HEADERS_TIMEOUT' || kind === 'UND_ERR_BODY_TIMEOUT' || kind === 'TimeoutError') counts.timeouts++;
        counts.errorKinds[kind] = (counts.errorKinds[kind] ?? 0) + 1;
      }
    };
    const start = performance.now();
    const end = start + seconds * 1000;
    let next = start;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        // Catch up on every send time that has passed (timers fire late, never early).
        while (next <= now && next < end) {
          const p = one(next);
          pending.add(p);
          void p.finally(() => pending.delete(p));
          next += intervalMs;
        }
        if (next >= end) resolve();
        else setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
    });
    // Requests in flight at the end still count; each is bounded by its own timeout.
    await Promise.all(pending);
    return counts;
  }

  return { run, close: () => pool.close() };
}

/** One request's headers: the fixed ones plus, with `keys`, "hot" or a random other key. */
function headersFor(extra: OpenLoopHeaders): Record<string, string> {
  const k = extra.keys;
  if (k === undefined) return extra.headers ?? {};
  const key = Math.random() < k.hotShare ? 'hot' : `key-${Math.floor(Math.random() * k.count)}`;
  return { ...extra.headers, [k.header]: key };
}
