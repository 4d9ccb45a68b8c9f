// After every integration test: no upstream may be left with in-flight requests (a missed
// onFinish on an abort/timeout/reset path), and every proxy the test started is closed.

import { afterEach, expect } from 'vitest';
import { allRuntimes } from './registry.ts';
import { waitFor } from './wait.ts';

afterEach(async () => {
  const runtimes = [...allRuntimes];
  allRuntimes.clear();
  try {
    for (const rt of runtimes) {
      const leaked = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const pool of rt.current.pools.values()) {
          for (const u of pool.upstreams) if (u.inflight !== 0) out.push(`${pool.name} ${u.origin} inflight=${u.inflight}`);
        }
        return out;
      };
      // In-flight counts settle as sockets close: allow a moment, never a fixed sleep.
      await waitFor(async () => (await leaked()).length === 0, { timeoutMs: 3000, message: 'in-flight to reach 0' }).catch(() => {});
      expect(await leaked(), 'upstreams left with in-flight requests').toEqual([]);
    }
  } finally {
    await Promise.all(runtimes.map((rt) => rt.close(0)));
  }
});
