// @ts-check
// The dashboard's script, part 2 of 5: per-second history per upstream (the server's last
// minute, kept and extended to five minutes while the page is open) and the sparklines drawn
// from it.

const HISTORY_SECONDS = 300;
const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Per-second history per upstream (and per worker): key → second → [requests, p99].
 * @type {Map<string, Map<number, [number, number | null]>>}
 */
const seriesHistory = new Map();

// ── history ─────────────────────────────────────────────────────────────────────────────────

/**
 * Stores a server series (overwriting the seconds it covers: polls overlap) and prunes.
 * @param {string} key
 * @param {Series | undefined} s
 */
function remember(key, s) {
  if (s === undefined) return;
  let h = seriesHistory.get(key);
  if (h === undefined) {
    h = new Map();
    seriesHistory.set(key, h);
  }
  const first = s.endSecond - s.requests.length + 1;
  for (let i = 0; i < s.requests.length; i++) h.set(first + i, [s.requests[i] ?? 0, s.p99Ms[i] ?? null]);
  for (const sec of h.keys()) if (sec <= s.endSecond - HISTORY_SECONDS) h.delete(sec);
}

/**
 * The last HISTORY_SECONDS of one key, oldest first ([requests, p99] per second; gaps = [0, null]).
 * @param {string} key
 * @returns {[number, number | null][]}
 */
function historyOf(key) {
  const h = seriesHistory.get(key);
  if (h === undefined || h.size === 0) return [];
  const end = Math.max(...h.keys());
  const start = Math.max(Math.min(...h.keys()), end - HISTORY_SECONDS + 1);
  /** @type {[number, number | null][]} */
  const out = [];
  for (let s = start; s <= end; s++) out.push(h.get(s) ?? [0, null]);
  return out;
}

/**
 * Several keys' histories summed (requests) and maxed (p99), aligned at their ends: workers'
 * clocks differ, but each one's last entry is the last complete second.
 * @param {string[]} keys
 */
function combinedHistory(keys) {
  const all = keys.map(historyOf);
  const n = Math.max(0, ...all.map((a) => a.length));
  /** @type {[number, number | null][]} */
  const out = [];
  for (let i = 0; i < n; i++) {
    let req = 0;
    /** @type {number | null} */
    let p99 = null;
    for (const a of all) {
      const v = a[a.length - n + i];
      if (v === undefined) continue;
      req += v[0];
      if (v[1] !== null) p99 = p99 === null ? v[1] : Math.max(p99, v[1]);
    }
    out.push([req, p99]);
  }
  return out;
}

/**
 * A small line chart; nulls are gaps.
 * @param {(number | null)[]} values
 * @param {string} cls
 * @param {(v: number) => string} label
 */
function sparkline(values, cls, label) {
  const W = 120;
  const H = 28;
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', `spark ${cls}`);
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', String(H));
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const nums = /** @type {number[]} */ (values.filter((v) => v !== null));
  const max = Math.max(1e-9, ...nums);
  const title = document.createElementNS(SVG_NS, 'title');
  title.textContent = nums.length === 0 ? 'no data yet' : `last ${values.length} s, max ${label(max)}`;
  svg.append(title);
  const step = values.length > 1 ? (W - 2) / (values.length - 1) : 0;
  /** @type {string[]} */
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      const line = document.createElementNS(SVG_NS, 'polyline');
      line.setAttribute('points', run.join(' '));
      svg.append(line);
    }
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null) return flush();
    run.push(`${(1 + i * step).toFixed(1)},${(H - 2 - (v / max) * (H - 10)).toFixed(1)}`);
  });
  flush();
  if (nums.length > 0) {
    const t = document.createElementNS(SVG_NS, 'text');
    t.setAttribute('x', String(W - 1));
    t.setAttribute('y', '8');
    t.setAttribute('text-anchor', 'end');
    t.textContent = label(max);
    svg.append(t);
  }
  return svg;
}
