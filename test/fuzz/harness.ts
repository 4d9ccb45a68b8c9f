// The edge fuzzer: throws generated hostile connections (generators.ts) at a running proxy with
// a recording upstream behind it, and checks the spec's three invariants after every case:
//  1. the proxy lives (it keeps serving a plain request on a new connection);
//  2. the upstream only ever receives well-formed requests framed by Content-Length or chunked
//     (its own strict parser finds no violation; a request cut short by an abort is allowed);
//  3. every client gets well-formed HTTP/1.1 responses, or a closed connection, in bounded time.

import fc from 'fast-check';
import { expect } from 'vitest';
import { fetchText } from '../helpers/http.ts';
import type { RecordingUpstream } from '../helpers/recording-upstream.ts';
import { rawExchange } from '../edge/responses.ts';
import { fuzzCase, type FuzzCase } from './generators.ts';

export interface EdgeFuzzOptions {
  /** Cases to try (fast-check numRuns). */
  runs: number;
  /** Stop generating new cases after this long (the run then passes with what it did). */
  timeLimitMs: number;
  /** Fixed seed to replay a run; random when absent (printed on failure). */
  seed?: number;
  /** Check liveness every this many cases (and at the end). */
  aliveEvery?: number;
  /** Do not stop at the first broken invariant: count every kind of break (see report.breaks). */
  survey?: boolean;
}

export interface EdgeFuzzReport {
  cases: number;
  ms: number;
  /** First status each client got ('closed' = none), counted. */
  statuses: Record<string, number>;
  upstreamRequests: number;
  /** Requests the upstream saw cut short (aborted forwards). */
  upstreamIncomplete: number;
  /** Survey mode: broken invariants by kind, with a count and the first case's label. */
  breaks: Record<string, { count: number; example: string }>;
}

/**
 * Sent after every case: a plain request that asks the proxy to close. A proxy that served the
 * case keeps reading and closes after this; one that refused it has closed already. (A client
 * FIN is no use here: node:http aborts in-flight requests when the client half-closes.)
 */
const SENTINEL = 'GET /sentinel HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';

/**
 * Splits a case's bytes at its cut points into separate writes, then the sentinel. The pipelined
 * canary and the sentinel are numbered with the case, so the upstream's log says which case's
 * trailing requests it received.
 */
function pieces(c: FuzzCase, n: number): string[] {
  const out: string[] = [];
  let at = 0;
  for (const cut of c.cuts) {
    out.push(c.bytes.slice(at, cut));
    at = cut;
  }
  out.push(c.bytes.slice(at), SENTINEL);
  return out.map((p) => p.replace('/canary', `/canary-${n}`).replace('/sentinel', `/sentinel-${n}`));
}

/** Statuses by which a proxy refuses a request itself (x-fairway-error set). */
const REFUSALS = new Set([400, 414, 431, 501, 505]);

async function assertAlive(proxyUrl: string): Promise<void> {
  const r = await fetchText(`${proxyUrl}/alive`, { headers: { 'x-test-id': 'alive' }, timeoutMs: 5000 });
  expect([r.status, r.body], 'the proxy still serves a plain request').toEqual([200, 'ok alive']);
}

/** Runs the fuzzer against the proxy at `proxyUrl`, whose only upstream is `up`. Throws on the first broken invariant. */
export async function runEdgeFuzz(proxyUrl: string, up: RecordingUpstream, opts: EdgeFuzzOptions): Promise<EdgeFuzzReport> {
  const started = performance.now();
  const statuses: Record<string, number> = {};
  const aliveEvery = opts.aliveEvery ?? 25;
  const breaks: EdgeFuzzReport['breaks'] = {};
  let cases = 0;
  const property = fc.asyncProperty(fuzzCase, async (c) => {
    cases++;
    const violationsBefore = up.violations.length;
    const r = await rawExchange(proxyUrl, pieces(c, cases), { timeoutMs: 3000 });
    const first = r.parsed.responses.find((x) => x.status >= 200);
    const key = first === undefined ? 'closed' : String(first.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    const check = (ok: boolean, kind: string, detail: string): void => {
      if (ok) return;
      if (!opts.survey) expect.fail(`${kind} for ${c.label}: ${detail}`);
      const b = (breaks[kind] ??= { count: 0, example: `${c.label}: ${detail}`.slice(0, 400) });
      b.count++;
    };
    // 3: well-formed responses, then a close (or, when the case swallowed the sentinel as body,
    // complete responses on a connection left open).
    check(r.parsed.malformed === null, 'malformed response', `${r.parsed.malformed}: ${JSON.stringify(r.text.slice(0, 300))}`);
    check(r.closed || (r.parsed.rest === 0 && first !== undefined), 'no response and no close within 3 s', JSON.stringify(r.text.slice(0, 200)));
    // 2: nothing the upstream could misread (only this case's connections count).
    for (const v of up.violations.slice(violationsBefore)) check(false, `upstream violation: ${v.reason.replace(/ ".*| \[.*/, '')}`, JSON.stringify(v.excerpt.slice(0, 200)));
    // 2, smuggling: after the proxy refused the first request, nothing behind it may be forwarded.
    if (first !== undefined && REFUSALS.has(first.status) && first.headers.some(([h]) => h.toLowerCase() === 'x-fairway-error')) {
      const behind = up.requests.filter((q) => q.target === `/canary-${cases}` || q.target === `/sentinel-${cases}`);
      check(behind.length === 0, 'a request behind a refusal reached the upstream', behind.map((q) => q.target).join(','));
    }
    // 1: alive.
    if (cases % aliveEvery === 0) await assertAlive(proxyUrl);
  });
  await fc.assert(property, {
    numRuns: opts.runs,
    interruptAfterTimeLimit: opts.timeLimitMs,
    markInterruptAsFailure: false,
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
  });
  await assertAlive(proxyUrl);
  if (!opts.survey) expect(up.violations).toEqual([]);
  return { cases, ms: Math.round(performance.now() - started), statuses, upstreamRequests: up.requests.length, upstreamIncomplete: up.incomplete.length, breaks };
}

/**
 * Run size from the environment: FAIRWAY_FUZZ_RUNS (count), FAIRWAY_FUZZ_SECONDS, FAIRWAY_FUZZ_SEED,
 * FAIRWAY_FUZZ_SURVEY=1 (list every kind of break instead of stopping at the first).
 */
export function fuzzOptionsFromEnv(defaults: { runs: number; seconds: number }): EdgeFuzzOptions {
  const env = process.env;
  const runs = Number(env['FAIRWAY_FUZZ_RUNS'] ?? defaults.runs);
  const seconds = Number(env['FAIRWAY_FUZZ_SECONDS'] ?? (env['FAIRWAY_FUZZ_RUNS'] === undefined ? defaults.seconds : 600));
  const seed = env['FAIRWAY_FUZZ_SEED'];
  return { runs, timeLimitMs: seconds * 1000, survey: env['FAIRWAY_FUZZ_SURVEY'] === '1', ...(seed === undefined ? {} : { seed: Number(seed) }) };
}
