// @ts-check
// The dashboard's script, part 1 of 5 (src/admin/dashboard.ts serves format.js, history.js,
// model.js, view.js and main.js concatenated as one inline module; type-checked as one program by
// tsconfig.dashboard.json): the shapes of the /status documents it reads, DOM helpers, and how
// numbers are written.

/** @typedef {{ seconds: number, requests: number, failures: number, finished?: number, requestsPerSecond: number, errorShare: number | null, p50Ms: number | null, p99Ms: number | null }} Recent */
/** @typedef {{ endSecond: number, requests: number[], failures: number[], p99Ms: (number | null)[] }} Series */
/** @typedef {{ origin: string, name?: string, state: string, reason: string | null, weight: number, inflight: number, requests: number, failures: number, share: number | null, balancing?: Record<string, number | null>, recent?: Recent, series?: Series }} UpstreamDoc */
/** @typedef {{ name: string, balancer: string, requests: number, retries: number, noUpstream: number, selectable: number, recent?: Recent, upstreams: UpstreamDoc[] }} PoolDoc */
/** @typedef {{ at: string, type?: string, ok?: boolean, pool?: string, upstream?: string, from?: string, to?: string, reason: string, worker?: number }} EventDoc */
/** @typedef {{ version?: string | null, pid?: number, uptimeSeconds?: number, draining?: boolean, listeners?: string[], config?: { source: string | null }, pools?: PoolDoc[], events?: EventDoc[], worker?: number | null, error?: string, mode?: string, workers?: ProcessDoc[] }} ProcessDoc */
/** @typedef {{ origin: string, label: string, state: string, reason: string | null, weight: number, inflight: number, share: number | null, rps: number, errorShare: number | null, p50Ms: number | null, p99Ms: number | null, figures: string, key: string[] }} Row */

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
