// @ts-check
// The dashboard's script, part 4 of 5: drawing pools, upstreams, events, the process group and
// the header from the rows model.js makes.

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

/**
 * @param {{ key: string, index: number, doc: ProcessDoc }[]} procs
 * @param {EventDoc[]} groupEvents the process group's own events (cluster mode): its reloads; its
 *   health flips are left out, since every worker records them too
 */
function drawEvents(procs, groupEvents) {
  /** @type {EventDoc[]} */
  const events = groupEvents.filter((e) => e.type === 'reload');
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
  drawEvents(procs, doc.mode === 'cluster' ? (doc.events ?? []) : []);
}
