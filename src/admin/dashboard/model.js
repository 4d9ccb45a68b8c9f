// @ts-check
// The dashboard's script, part 3 of 5: /status documents (one process, or a cluster's workers)
// turned into the rows to draw, merged over workers when the whole group is shown.

/** @type {number | null} which worker (by its index in the group) is shown in a cluster: null = all of them */
let selectedWorker = null;

// ── status documents → rows ─────────────────────────────────────────────────────────────────

const STATE_RANK = /** @type {Record<string, number>} */ ({ up: 0, ejected: 1, down: 2 });

/**
 * The processes to show: one for a single process, the selected worker or all of them (merged).
 * Workers are known by their index in the group (as in /metrics' worker label); the history key
 * adds the pid, since a replacement worker counts seconds on a clock of its own.
 * @param {ProcessDoc} doc
 * @returns {{ key: string, index: number, doc: ProcessDoc }[]}
 */
function processesOf(doc) {
  if (doc.mode !== 'cluster') return [{ key: 'p', index: -1, doc }];
  const ok = (doc.workers ?? []).map((w, i) => ({ key: `w${i}:${w.pid ?? ''}`, index: i, doc: w })).filter((w) => w.doc.error === undefined);
  if (selectedWorker === null) return ok;
  return ok.filter((w) => w.index === selectedWorker);
}

/**
 * Pools of several processes merged by name, upstreams by origin.
 * @param {{ key: string, index: number, doc: ProcessDoc }[]} procs
 */
function mergePools(procs) {
  /** @type {Map<string, { pool: PoolDoc, parts: { key: string, index: number, pool: PoolDoc }[] }>} */
  const pools = new Map();
  for (const p of procs) {
    for (const pool of p.doc.pools ?? []) {
      const e = pools.get(pool.name) ?? { pool, parts: [] };
      e.parts.push({ key: p.key, index: p.index, pool });
      pools.set(pool.name, e);
      for (const u of pool.upstreams) remember(`${p.key}|${pool.name}|${u.origin}`, u.series);
    }
  }
  return [...pools.values()].map(({ pool, parts }) => {
    const totalReq = parts.reduce((n, x) => n + (x.pool.recent?.requests ?? 0), 0);
    /** @type {Map<string, Row>} */
    const rows = new Map();
    for (const { key, index, pool: part } of parts) {
      for (const u of part.upstreams) {
        const r = rows.get(u.origin);
        const rec = u.recent;
        const figures = figuresText(pool.balancer, u.balancing);
        const reason = u.reason === null ? null : parts.length > 1 ? `worker ${index}: ${u.reason}` : u.reason;
        if (r === undefined) {
          rows.set(u.origin, {
            origin: u.origin,
            label: u.origin + (u.name ? ` (${u.name})` : ''),
            state: u.state,
            reason,
            weight: u.weight,
            inflight: u.inflight,
            share: null,
            rps: rec?.requestsPerSecond ?? 0,
            errorShare: null,
            p50Ms: rec?.p50Ms ?? null,
            p99Ms: rec?.p99Ms ?? null,
            figures,
            key: [`${key}|${pool.name}|${u.origin}`],
          });
        } else {
          if ((STATE_RANK[u.state] ?? 0) > (STATE_RANK[r.state] ?? 0)) {
            r.state = u.state;
            r.reason = reason;
          }
          r.inflight += u.inflight;
          r.rps += rec?.requestsPerSecond ?? 0;
          r.p50Ms = maxOf(r.p50Ms, rec?.p50Ms ?? null);
          r.p99Ms = maxOf(r.p99Ms, rec?.p99Ms ?? null);
          if (figures !== '' && figures !== r.figures) r.figures = `${r.figures} · ${figures}`;
          r.key.push(`${key}|${pool.name}|${u.origin}`);
        }
      }
    }
    // Share and error share from the summed counts, not averaged fractions.
    for (const r of rows.values()) {
      let req = 0;
      let failed = 0;
      let finished = 0;
      for (const { pool: part } of parts) {
        for (const u of part.upstreams) {
          if (u.origin !== r.origin) continue;
          req += u.recent?.requests ?? 0;
          failed += u.recent?.failures ?? 0;
          finished += u.recent?.finished ?? u.recent?.requests ?? 0;
        }
      }
      r.share = totalReq === 0 ? null : req / totalReq;
      r.errorShare = finished === 0 ? null : failed / finished;
    }
    const sum = (/** @type {(p: PoolDoc) => number} */ f) => parts.reduce((n, x) => n + f(x.pool), 0);
    return {
      name: pool.name,
      balancer: pool.balancer,
      rows: [...rows.values()],
      rps: sum((p) => p.recent?.requestsPerSecond ?? 0),
      requests: sum((p) => p.requests),
      retries: sum((p) => p.retries),
      noUpstream: sum((p) => p.noUpstream),
      recentFailures: sum((p) => p.recent?.failures ?? 0),
      recentFinished: sum((p) => p.recent?.finished ?? p.recent?.requests ?? 0),
      p99Ms: parts.reduce((m, x) => maxOf(m, x.pool.recent?.p99Ms ?? null), /** @type {number | null} */ (null)),
    };
  });
}

/**
 * @param {number | null} a
 * @param {number | null} b
 */
function maxOf(a, b) {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
