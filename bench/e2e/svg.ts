// Hand-written SVG chart of one run (no dependency): per workload, p50/p99/p99.9 latency per
// target as grouped bars on a log scale; then each balancer's request share per upstream in the
// slow-upstream scenario as stacked bars. Pure: returns the SVG text.

import type { Row } from './report.ts';
import type { ScenarioRow } from './scenarios.ts';

const W = 980;
const PAD_L = 64;
const PAD_R = 16;
const PANEL_H = 320;
const PLOT_H = 190;
const COLORS = ['#4e79a7', '#f28e2b', '#e15759'];
const SHARE_COLORS = ['#59a14f', '#76b7b2', '#e15759'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x: number, y: number, s: string, attrs = ''): string => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;

function latencyPanel(rows: readonly Row[], workload: string, top: number): string {
  const rs = rows.filter((r) => r.workload === workload && r.p50Us !== null);
  const out: string[] = [text(PAD_L, top + 18, `Latency, ${workload} (ms, log scale; bars: p50, p99, p99.9)`, 'font-weight="bold"')];
  if (rs.length === 0) return out.join('\n');
  const values = rs.flatMap((r) => [r.p50Us, r.p99Us, r.p999Us]).filter((v): v is number => v !== null && v > 0);
  // Decades from just below the smallest value to just above the largest, in ms.
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values) / 1000)));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values) / 1000)));
  const y0 = top + 30 + PLOT_H;
  const y = (ms: number): number => y0 - ((Math.log10(ms) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PLOT_H;
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="#ddd"/>`);
    out.push(text(PAD_L - 6, y(d) + 4, d >= 1 ? String(d) : d.toPrecision(1), 'text-anchor="end" font-size="11"'));
  }
  const groupW = (W - PAD_L - PAD_R) / rs.length;
  const barW = Math.min(22, (groupW - 10) / 3);
  rs.forEach((r, i) => {
    const gx = PAD_L + i * groupW + (groupW - 3 * barW) / 2;
    [r.p50Us, r.p99Us, r.p999Us].forEach((v, j) => {
      if (v === null || v <= 0) return;
      const ms = v / 1000;
      const yy = y(Math.max(ms, lo));
      out.push(`<rect x="${(gx + j * barW).toFixed(1)}" y="${yy.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(y0 - yy).toFixed(1)}" fill="${COLORS[j]}"><title>${esc(`${r.target} ${['p50', 'p99', 'p99.9'][j]} ${ms.toFixed(2)} ms`)}</title></rect>`);
    });
    // Names run long (fairway-least-connections): rotated, anchored under the group's centre.
    const cx = PAD_L + i * groupW + groupW / 2;
    out.push(text(cx, y0 + 14, r.target, `text-anchor="end" font-size="11" transform="rotate(-30 ${cx.toFixed(1)} ${(y0 + 14).toFixed(1)})"`));
  });
  ['p50', 'p99', 'p99.9'].forEach((l, j) => {
    const lx = W - PAD_R - 200 + j * 66;
    out.push(`<rect x="${lx}" y="${top + 8}" width="10" height="10" fill="${COLORS[j]}"/>`, text(lx + 14, top + 17, l, 'font-size="11"'));
  });
  return out.join('\n');
}

function sharePanel(rows: readonly ScenarioRow[], top: number): { svg: string; height: number } {
  const rs = rows.filter((r) => r.scenario === 'slow-upstream' && r.shares !== null);
  if (rs.length === 0) return { svg: '', height: 0 };
  const barH = 24;
  const labelW = 130;
  const plotW = W - PAD_L - PAD_R - labelW - 90;
  const out: string[] = [text(PAD_L, top + 18, 'Request share per upstream with one slow upstream (c: +50 ms), and p99', 'font-weight="bold"')];
  rs.forEach((r, i) => {
    const yy = top + 32 + i * (barH + 8);
    out.push(text(PAD_L + labelW - 8, yy + 16, r.balancer, 'text-anchor="end" font-size="12"'));
    let x = PAD_L + labelW;
    r.shares!.forEach((s, j) => {
      const w = Number.isNaN(s.share) ? 0 : s.share * plotW;
      out.push(`<rect x="${x.toFixed(1)}" y="${yy}" width="${w.toFixed(1)}" height="${barH}" fill="${SHARE_COLORS[j]}"><title>${esc(`${r.balancer}: ${s.upstream} ${(s.share * 100).toFixed(1)} %`)}</title></rect>`);
      if (w > 34) out.push(text(x + w / 2, yy + 16, `${s.upstream} ${(s.share * 100).toFixed(0)}%`, 'text-anchor="middle" font-size="11" fill="#fff"'));
      x += w;
    });
    const p99 = r.result?.latencyUs.p99;
    out.push(text(PAD_L + labelW + plotW + 8, yy + 16, p99 == null ? '' : `p99 ${(p99 / 1000).toFixed(1)} ms`, 'font-size="11"'));
  });
  return { svg: out.join('\n'), height: 40 + rs.length * (barH + 8) + 10 };
}

/** The chart for one run; `title` goes on top (machine, commit, date). */
export function renderSvg(rows: readonly Row[], scenarios: readonly ScenarioRow[], title: string): string {
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const parts: string[] = [text(PAD_L, 24, title, 'font-size="13" font-weight="bold"')];
  let top = 36;
  for (const w of workloads) {
    parts.push(latencyPanel(rows, w, top));
    top += PANEL_H;
  }
  const share = sharePanel(scenarios, top);
  parts.push(share.svg);
  top += share.height;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${top + 10}" viewBox="0 0 ${W} ${top + 10}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
