// Markdown for the TLS/HTTP/2 part of the bench report: per workload, medians over repeats with
// CPU ratios to HAProxy from the same repeat; the two CPU targets of issue 14; the cost of a new
// connection with a full and a resumed handshake. Pure: no I/O.

import { fix, int, median, minMax, ratio } from '../lib/stats.ts';
import { TLS_WORKLOADS, ratioToHaproxy, type TlsBenchResult, type TlsSample } from './bench.ts';

/** CPU per request within this multiple of HAProxy's, per protocol (issue 14). */
export const TLS_CPU_TARGETS = { h1: 2.5, h2: 3 } as const;

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? ':--' : '--:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** One target on one workload: medians and the CPU ratio to HAProxy. */
export interface TlsRow {
  readonly target: string;
  readonly workload: string;
  readonly rps: number | null;
  readonly rpsRange: [number, number] | null;
  readonly cpuUsPerReq: number | null;
  readonly cpuVsHaproxy: number | null;
  readonly cpuPct: number | null;
  readonly upstreamCpuUsPerReq: number | null;
  readonly failed: number;
}

export function tlsRows(r: TlsBenchResult): TlsRow[] {
  const rows: TlsRow[] = [];
  for (const w of TLS_WORKLOADS) {
    for (const target of [...new Set(r.samples.filter((s) => s.workload === w.name).map((s) => s.target))]) {
      const ss = r.samples.filter((s) => s.workload === w.name && s.target === target);
      const pick = (f: (s: TlsSample) => number | null): number | null => median(ss.map(f));
      rows.push({
        target,
        workload: w.name,
        rps: pick((s) => s.rps),
        rpsRange: minMax(ss.map((s) => s.rps)),
        cpuUsPerReq: pick((s) => s.cpuUsPerReq),
        cpuVsHaproxy: target === 'haproxy' ? null : ratioToHaproxy(r.samples, target, w.name, (s) => s.cpuUsPerReq),
        cpuPct: pick((s) => s.cpuPct),
        upstreamCpuUsPerReq: pick((s) => s.upstreamCpuUsPerReq),
        failed: ss.reduce((a, s) => a + s.failed + (s.rps === null ? 1 : 0), 0),
      });
    }
  }
  return rows;
}

/** The two CPU targets as checklist lines: [what, measured, met]. */
export function tlsChecks(r: TlsBenchResult): [string, string, boolean | null][] {
  const rows = tlsRows(r);
  return TLS_WORKLOADS.map((w) => {
    const row = rows.find((x) => x.target === 'fairway' && x.workload === w.name);
    const limit = TLS_CPU_TARGETS[w.protocol];
    const v = row?.cpuVsHaproxy ?? null;
    return [`Fairway CPU µs/req ≤ ${limit}× HAProxy's, ${w.name}`, v === null ? 'not measured' : `${ratio(v)} (${fix(row!.cpuUsPerReq)} µs)`, v === null ? null : v <= limit];
  });
}

export function renderTlsMarkdown(r: TlsBenchResult): string {
  const out: string[] = ['## TLS and HTTP/2', ''];
  if (r.notRun !== null) {
    out.push(`Not run: ${r.notRun}.`, '');
    return out.join('\n');
  }
  const s = r.settings;
  out.push(
    `ECDSA P-256 certificate, TLS 1.3 (every target's default with this client), h2 and http/1.1 offered by ALPN. Load: nghttp2's h2load (C, one thread), ${s.warmupFirstS} s warm-up before a target's first run of a workload and ${s.warmupS} s before later ones (connections and handshakes happen there), ${s.measureS} s measured, ${s.repeats} interleaved repeat(s); medians over repeats, CPU ratios are medians of per-repeat ratios to HAProxy. CPU µs/req = the target process's utime+stime over the measured part ÷ 2xx responses. HAProxy: nbthread 1; nginx: one worker, master_process off; \`undici-dispatch --tls\` (node:https + undici dispatch) and \`undici-h2\` (http2 raw streams + undici dispatch) are the bare Node floors, not products. Upstreams: three node:http processes answering 13 bytes.`,
    '',
  );
  for (const sk of r.skipped) out.push(`- skipped ${sk.target}: ${sk.reason}`);
  if (r.skipped.length > 0) out.push('');
  const rows = tlsRows(r);
  for (const w of TLS_WORKLOADS) {
    out.push(`### ${w.name}`, '');
    out.push(
      table(
        ['target', 'req/s (min–max)', 'CPU µs/req', '× HAProxy', 'CPU %', 'upstreams µs/req', 'failed'],
        rows
          .filter((x) => x.workload === w.name)
          .map((x) => [
            x.target === 'haproxy' ? 'haproxy (baseline)' : x.target,
            x.rps === null ? 'failed' : `${int(x.rps)} (${int(x.rpsRange?.[0] ?? null)}–${int(x.rpsRange?.[1] ?? null)})`,
            fix(x.cpuUsPerReq),
            ratio(x.cpuVsHaproxy),
            fix(x.cpuPct, 0),
            fix(x.upstreamCpuUsPerReq),
            String(x.failed),
          ]),
      ),
      '',
    );
  }
  out.push('### Targets', '');
  out.push(table(['target', 'measured', 'met'], tlsChecks(r).map(([t, m, met]) => [t, m, met === null ? 'n/a' : met ? '**yes**' : '**NO**'])), '');
  if (r.handshakes.length > 0) {
    out.push('### New connections', '');
    out.push(
      `\`openssl s_time -www /\` for ${s.handshakeS} s per row: one connection at a time, each a TLS 1.3 handshake (full, or resumed with the previous connection's ticket), then \`GET /\` over HTTP/1.0, then close. CPU per connection = the target's CPU ÷ connections; it includes that one proxied request.`,
      '',
    );
    const targets = [...new Set(r.handshakes.map((h) => h.target))];
    const cell = (t: string, kind: 'full' | 'resumed'): string => {
      const h = r.handshakes.find((x) => x.target === t && x.kind === kind);
      return h === undefined ? '–' : h.error !== null && h.cpuUsPerConnection === null ? 'failed' : `${fix(h.cpuUsPerConnection, 0)} (${int(h.connections)} conns)`;
    };
    const vs = (t: string, kind: 'full' | 'resumed'): string => {
      const a = r.handshakes.find((x) => x.target === t && x.kind === kind)?.cpuUsPerConnection ?? null;
      const b = r.handshakes.find((x) => x.target === 'haproxy' && x.kind === kind)?.cpuUsPerConnection ?? null;
      return a === null || b === null || b === 0 || t === 'haproxy' ? '–' : ratio(a / b);
    };
    out.push(table(['target', 'full: CPU µs/connection', '× HAProxy', 'resumed: CPU µs/connection', '× HAProxy'], targets.map((t) => [t, cell(t, 'full'), vs(t, 'full'), cell(t, 'resumed'), vs(t, 'resumed')])), '');
  }
  return out.join('\n');
}
