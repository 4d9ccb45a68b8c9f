// @ts-check
// The dashboard's script (served inline by src/admin/dashboard.ts): polls ./status?series=1
// every second, keeps five minutes of per-second history per upstream, and draws pools,
// upstreams and events. With admin.token it asks for the token, keeps it in this tab's session
// storage and sends it as a bearer header. Plain DOM, no libraries, nothing fetched but /status.
// Type-checked by tsconfig.dashboard.json (checkJs, DOM types).

/** @typedef {{ seconds: number, requests: number, failures: number, finished?: number, requestsPerSecond: number, errorShare: number | null, p50Ms: number | null, p99Ms: number | null }} Recent */
/** @typedef {{ endSecond: number, requests: number[], failures: number[], p99Ms: (number | null)[] }} Series */
/** @typedef {{ origin: string, name?: string, state: string, reason: string | null, weight: number, inflight: number, requests: number, failures: number, share: number | null, balancing?: Record<string, number | null>, recent?: Recent, series?: Series }} UpstreamDoc */
/** @typedef {{ name: string, balancer: string, requests: number, retries: number, noUpstream: number, selectable: number, recent?: Recent, upstreams: UpstreamDoc[] }} PoolDoc */
/** @typedef {{ at: string, type?: string, ok?: boolean, pool?: string, upstream?: string, from?: string, to?: string, reason: string, worker?: number }} EventDoc */
/** @typedef {{ version?: string | null, pid?: number, uptimeSeconds?: number, draining?: boolean, listeners?: string[], config?: { source: string | null }, pools?: PoolDoc[], events?: EventDoc[], worker?: number | null, error?: string, mode?: string, workers?: ProcessDoc[] }} ProcessDoc */
/** @typedef {{ origin: string, label: string, state: string, reason: string | null, weight: number, inflight: number, share: number | null, rps: number, errorShare: number | null, p50Ms: number | null, p99Ms: number | null, figures: string, key: string[] }} Row */

const TOKEN_KEY = 'fairway.adminToken';
const POLL_MS = 1000;
const HISTORY_SECONDS = 300;
const SVG_NS = 'http://www.w3.org/2000/svg';

/** @type {number | null} which worker (by its index in the group) is shown in a cluster: null = all of them */
let selectedWorker = null;
let polling = false;
/** @type {ReturnType<typeof setTimeout> | null} */
let timer = null;
let lastOkAt = 0;

/**
 * Per-second history per upstream (and per worker): key → second → [requests, p99].
 * @type {Map<string, Map<number, [number, number | null]>>}
 */
const seriesHistory = new Map();

/** @param {string} id */
function $(id) {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el;
}

/**
 * @param {string} tag
 * @param {string} [cls]
 * @param {string | number | null} [text]
 */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// ── formatting ──────────────────────────────────────────────────────────────────────────────

/** @param {number | null | undefined} ms */
function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** @param {number | null | undefined} v */
function fmtPct(v) {
  if (v === null || v === undefined) return '–';
  const p = v * 100;
  return p === 0 ? '0 %' : p < 0.1 ? '<0.1 %' : `${p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

/** @param {number} v */
function fmtRate(v) {
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

/** @param {number} s */
function fmtDuration(s) {
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** @param {string} iso */
function fmtTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour12: false });
}

/**
 * What the balancer decides by, in a few words.
 * @param {string} balancer
 * @param {Record<string, number | null> | undefined} b
 */
function figuresText(balancer, b) {
  if (b === undefined) return '';
  switch (balancer) {
    case 'ewma':
      return b['costMs'] === null || b['costMs'] === undefined ? 'cost: not measured' : `cost ${fmtMs(b['costMs'])} (ewma ${fmtMs(b['ewmaMs'])})`;
    case 'least-connections':
      return `load ${b['load'] ?? 0} (in-flight ÷ weight)`;
    case 'consistent-hash':
      return b['keyShare'] === null || b['keyShare'] === undefined ? 'keys: –' : `owns ${fmtPct(b['keyShare'])} of keys`;
    default:
      return `weight share ${fmtPct(b['weightShare'])}`;
  }
}

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

// ── drawing ─────────────────────────────────────────────────────────────────────────────────

/** @param {ReturnType<typeof mergePools>[number]} pool */
function drawPool(pool) {
  const card = el('section', 'card pool');
  card.dataset['pool'] = pool.name;
  const h = el('h2');
  h.append(el('span', '', pool.name), el('span', 'badge', pool.balancer));
  const down = pool.rows.filter((r) => r.state === 'down').length;
  const ejected = pool.rows.filter((r) => r.state === 'ejected').length;
  if (down > 0) h.append(el('span', 'badge alert', `${down} down`));
  if (ejected > 0) h.append(el('span', 'badge warn', `${ejected} ejected`));
  const available = pool.rows.length - down - ejected;
  h.append(el('span', 'muted', `${available} of ${pool.rows.length} available`));
  card.append(h);

  const stats = el('div', 'pool-stats');
  const stat = (/** @type {string} */ label, /** @type {string} */ value) => {
    const s = el('span', '', `${label} `);
    s.append(el('b', '', value));
    stats.append(s);
  };
  stat('req/s', fmtRate(pool.rps));
  stat('errors', fmtPct(pool.recentFinished === 0 ? null : pool.recentFailures / pool.recentFinished));
  stat('p99', fmtMs(pool.p99Ms));
  stat('requests', pool.requests.toLocaleString());
  stat('retries', pool.retries.toLocaleString());
  stat('503 no upstream', pool.noUpstream.toLocaleString());
  card.append(stats);

  const table = el('table');
  const head = el('tr');
  for (const [label, num] of /** @type {[string, boolean][]} */ ([
    ['Upstream', false], ['State', false], ['Weight', true], ['In-flight', true], ['Req/s', true], ['Errors', true],
    ['p50', true], ['p99', true], ['Share of traffic (60 s)', false], ['Req/s, 5 min', false], ['p99, 5 min', false], ['Balancer decides by', false],
  ])) head.append(el('th', num ? 'num' : '', label));
  table.append(head);
  for (const r of pool.rows) {
    const tr = el('tr', r.state);
    tr.dataset['upstream'] = r.origin;
    tr.dataset['state'] = r.state;
    tr.append(el('td', 'origin', r.label));
    const st = el('td');
    st.append(el('span', `state ${r.state}`, r.state));
    if (r.reason !== null) st.append(el('span', 'reason', r.reason));
    tr.append(st);
    tr.append(el('td', 'num', r.weight), el('td', 'num', r.inflight), el('td', 'num', fmtRate(r.rps)), el('td', 'num', fmtPct(r.errorShare)));
    tr.append(el('td', 'num', fmtMs(r.p50Ms)), el('td', 'num', fmtMs(r.p99Ms)));
    const shareCell = el('td');
    const share = el('div', 'share');
    const bar = el('div', 'bar');
    const fill = el('div', 'fill');
    fill.style.width = `${Math.round((r.share ?? 0) * 1000) / 10}%`;
    bar.append(fill);
    bar.title = 'bar: share of the pool\'s tries over the last 60 s';
    share.append(bar, el('span', 'pct', fmtPct(r.share)));
    shareCell.append(share);
    tr.append(shareCell);
    const hist = combinedHistory(r.key);
    const spark1 = el('td');
    spark1.append(sparkline(hist.map((v) => v[0]), 'rps', (v) => `${fmtRate(v)}/s`));
    const spark2 = el('td');
    spark2.append(sparkline(hist.map((v) => v[1]), 'p99', fmtMs));
    tr.append(spark1, spark2, el('td', 'muted', r.figures));
    table.append(tr);
  }
  if (pool.rows.length === 0) {
    const tr = el('tr');
    const td = el('td', 'empty', 'No upstreams (yet): a DNS name that has not resolved gives 503 until it does.');
    td.setAttribute('colspan', '12');
    tr.append(td);
    table.append(tr);
  }
  card.append(table);
  return card;
}

/** @param {{ key: string, index: number, doc: ProcessDoc }[]} procs */
function drawEvents(procs) {
  /** @type {EventDoc[]} */
  const events = [];
  for (const p of procs) for (const e of p.doc.events ?? []) events.push(p.index >= 0 ? { ...e, worker: p.index } : e);
  events.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const box = $('events');
  const card = $('events-card');
  card.hidden = false;
  if (events.length === 0) {
    box.replaceChildren(el('div', 'empty', 'Nothing yet: health flips, ejections, readmissions and reloads appear here.'));
    return;
  }
  const table = el('table', 'events');
  for (const e of events.slice(0, 100)) {
    const tr = el('tr');
    tr.append(el('td', 'muted', fmtTime(e.at)));
    if (e.type === 'reload') {
      tr.append(el('td', '', 'config'), el('td', e.ok ? 'to-up' : 'to-down', e.ok ? 'reload applied' : 'reload refused'));
    } else {
      tr.append(el('td', 'origin', `${e.pool ?? ''} ${e.upstream ?? ''}`));
      const change = el('td');
      change.append(el('span', `to-${e.from}`, e.from ?? ''), el('span', 'arrow', ' → '), el('span', `to-${e.to}`, e.to ?? ''));
      tr.append(change);
    }
    tr.append(el('td', '', (e.worker !== undefined ? `worker ${e.worker}: ` : '') + e.reason));
    table.append(tr);
  }
  box.replaceChildren(table);
}

/** @param {ProcessDoc} doc */
function drawWorkers(doc) {
  const card = $('workers');
  if (doc.mode !== 'cluster') {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  const workers = doc.workers ?? [];
  const tabs = el('div', 'tabs');
  const tab = (/** @type {number | null} */ key, /** @type {string} */ label) => {
    const b = el('button', '', label);
    b.setAttribute('aria-pressed', String(selectedWorker === key));
    b.addEventListener('click', () => {
      selectedWorker = key;
      if (lastDoc !== null) draw(lastDoc);
    });
    tabs.append(b);
  };
  tab(null, `All ${workers.length} workers`);
  workers.forEach((_w, i) => tab(i, `Worker ${i}`));
  const table = el('table');
  const head = el('tr');
  for (const h of ['Worker', 'PID', 'State', 'Uptime', 'Req/s', 'In-flight']) head.append(el('th', h === 'Req/s' || h === 'In-flight' ? 'num' : '', h));
  table.append(head);
  workers.forEach((w, i) => {
    const tr = el('tr', w.error !== undefined ? 'down' : '');
    const pools = w.pools ?? [];
    const rps = pools.reduce((n, p) => n + (p.recent?.requestsPerSecond ?? 0), 0);
    const inflight = pools.reduce((n, p) => n + p.upstreams.reduce((m, u) => m + u.inflight, 0), 0);
    tr.append(el('td', '', `worker ${i}`), el('td', '', w.pid ?? '–'));
    tr.append(el('td', '', w.error !== undefined ? `not answering: ${w.error}` : w.draining ? 'draining' : 'serving'));
    tr.append(el('td', '', w.uptimeSeconds === undefined ? '–' : fmtDuration(w.uptimeSeconds)));
    tr.append(el('td', 'num', w.error !== undefined ? '–' : fmtRate(rps)), el('td', 'num', w.error !== undefined ? '–' : inflight));
    table.append(tr);
  });
  const h = el('h2', '', 'Process group');
  h.append(el('span', 'muted', `${workers.filter((w) => w.error === undefined).length} of ${workers.length} answering · totals add the workers up (p50/p99: the highest worker)`));
  card.replaceChildren(h, tabs, table);
}

/** @param {ProcessDoc} doc */
function drawSummary(doc) {
  const box = $('summary');
  const first = doc.mode === 'cluster' ? (doc.workers ?? []).find((w) => w.error === undefined) : doc;
  /** @type {[string, string][]} */
  const items = [
    ['version', doc.version ?? '?'],
    [doc.mode === 'cluster' ? 'workers' : 'pid', doc.mode === 'cluster' ? String((doc.workers ?? []).length) : String(doc.pid ?? '?')],
    ['up', first?.uptimeSeconds === undefined ? '–' : fmtDuration(first.uptimeSeconds)],
    ['listening', (first?.listeners ?? []).join(', ') || '–'],
    ['config', doc.config?.source ?? 'flags'],
  ];
  if (doc.draining) items.push(['state', 'draining']);
  box.replaceChildren(
    ...items.map(([k, v]) => {
      const s = el('span', '', `${k} `);
      s.append(el('b', '', v));
      return s;
    }),
  );
}

/** @type {ProcessDoc | null} */
let lastDoc = null;

/** @param {ProcessDoc} doc */
function draw(doc) {
  lastDoc = doc;
  drawSummary(doc);
  drawWorkers(doc);
  const procs = processesOf(doc);
  $('pools').replaceChildren(...mergePools(procs).map(drawPool));
  drawEvents(procs);
}

// ── polling and the token ───────────────────────────────────────────────────────────────────

/**
 * @param {string} text
 * @param {boolean} ok
 */
function setLive(text, ok) {
  $('live-text').textContent = text;
  $('live-dot').className = `dot ${ok ? 'ok' : 'bad'}`;
}

/** @param {string | null} message */
function askForToken(message) {
  polling = false;
  $('login').hidden = false;
  const err = $('login-error');
  err.hidden = message === null;
  err.textContent = message ?? '';
  $('signout').hidden = true;
  setLive('waiting for the token', false);
  /** @type {HTMLInputElement} */ ($('token')).focus();
}

async function poll() {
  timer = null;
  if (!polling) return;
  const started = Date.now();
  const token = sessionStorage.getItem(TOKEN_KEY);
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  try {
    const res = await fetch('status?series=1', { headers, cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (res.status === 401) {
      const had = token !== null;
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken(had ? 'The token was refused.' : null);
      return;
    }
    if (!res.ok) throw new Error(`/status answered ${res.status}`);
    const doc = /** @type {ProcessDoc} */ (await res.json());
    $('banner').hidden = true;
    $('signout').hidden = token === null;
    lastOkAt = Date.now();
    draw(doc);
    setLive(`live · ${new Date().toLocaleTimeString([], { hour12: false })}`, true);
  } catch (err) {
    const since = lastOkAt === 0 ? '' : ` since ${new Date(lastOkAt).toLocaleTimeString([], { hour12: false })}`;
    setLive(`no answer${since}`, false);
    const banner = $('banner');
    banner.hidden = false;
    banner.textContent = `Cannot read /status${since}: ${err instanceof Error ? err.message : String(err)}. Retrying every second; the figures below are the last ones received.`;
  }
  if (polling) timer = setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
}

function startPolling() {
  polling = true;
  $('login').hidden = true;
  if (timer !== null) clearTimeout(timer);
  void poll();
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('token'));
  const value = input.value.trim();
  if (value === '') return;
  sessionStorage.setItem(TOKEN_KEY, value);
  input.value = '';
  startPolling();
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  seriesHistory.clear();
  $('pools').replaceChildren();
  $('events-card').hidden = true;
  $('workers').hidden = true;
  askForToken(null);
});

startPolling();

export {};
