// ns per call of the edge checks on typical request heads (they run on every request), and
// whether they allocate: a few million calls under a 'gc' PerformanceObserver. Not a test:
//   npx node test/edge/edge-checks.bench.ts
// A baseline row times one plain loop over rawHeaders (lower-casing nothing) for scale.

import { measure } from 'mitata';
import { PerformanceObserver } from 'node:perf_hooks';
import { checkRequestHead, checkResponseHead, isTunnelledUpgrade, type RequestHead } from '../../src/server/edge-checks.ts';

const LIMITS = { maxHeaderCount: 100, maxUrlBytes: 8192 };
const head = (method: string, url: string, rawHeaders: string[]): RequestHead => ({ method, url, httpVersionMajor: 1, httpVersionMinor: 1, rawHeaders });

const HEADS: [string, RequestHead][] = [
  ['curl GET (3 fields)', head('GET', '/', ['Host', 'localhost:8080', 'User-Agent', 'curl/8.5.0', 'Accept', '*/*'])],
  [
    'browser GET (12 fields)',
    head('GET', '/products/42?ref=home&utm_source=x', [
      'Host', 'shop.example.com', 'Connection', 'keep-alive', 'sec-ch-ua', '"Chromium";v="131"', 'sec-ch-ua-mobile', '?0',
      'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'Sec-Fetch-Site', 'same-origin',
      'Sec-Fetch-Mode', 'navigate', 'Referer', 'https://shop.example.com/', 'Accept-Encoding', 'gzip, deflate, br, zstd',
      'Accept-Language', 'en-GB,en;q=0.9', 'Cookie', 'session=abcdef0123456789; theme=dark',
    ]),
  ],
  ['API POST, Content-Length (6 fields)', head('POST', '/v1/orders', ['Host', 'api.internal:3000', 'Content-Type', 'application/json', 'Content-Length', '512', 'Authorization', 'Bearer x.y.z', 'X-Request-Id', '7f3c', 'Accept', 'application/json'])],
  ['chunked POST (4 fields)', head('POST', '/upload', ['Host', 'a.example', 'Transfer-Encoding', 'chunked', 'Content-Type', 'application/octet-stream', 'Expect', '100-continue'])],
  ['IPv6 Host literal', head('GET', '/', ['Host', '[2001:db8::1]:8443', 'Accept', '*/*'])],
];

let sink: unknown;
const opts = () => ({ gc: false, min_cpu_time: 300e6, batch_threshold: Infinity, warmup_threshold: Infinity });

console.log('edge checks, ns per call (mitata p50 / avg), allocation per call');
for (const [name, h] of HEADS) {
  const s = await measure(() => {
    sink = checkRequestHead(h, LIMITS);
  }, opts());
  const raw = h.rawHeaders;
  const base = await measure(() => {
    let n = 0;
    for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length;
    sink = n;
  }, opts());
  console.log(`checkRequestHead  ${name.padEnd(38)} p50 ${s.p50.toFixed(1).padStart(6)} ns  avg ${s.avg.toFixed(1).padStart(6)} ns   (bare loop over the names: ${base.p50.toFixed(1)} ns)`);
}
const up = head('GET', '/ws', ['Host', 'a', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version', '13']);
const u = await measure(() => {
  sink = isTunnelledUpgrade(up);
}, opts());
console.log(`isTunnelledUpgrade (5 fields)                          p50 ${u.p50.toFixed(1).padStart(6)} ns`);
const r = await measure(() => {
  sink = checkResponseHead(200, 8, undefined, 100);
}, opts());
console.log(`checkResponseHead (no Transfer-Encoding)               p50 ${r.p50.toFixed(1).padStart(6)} ns`);

// Allocation: scavenges seen while running 5 M checks of the browser head (an allocating
// function shows dozens; an allocation-free one none or one or two from the loop harness).
let minor = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) minor++;
});
obs.observe({ entryTypes: ['gc'] });
const browser = HEADS[1]![1];
const t0 = performance.now();
for (let i = 0; i < 5_000_000; i++) sink = checkRequestHead(browser, LIMITS);
const ms = performance.now() - t0;
await new Promise((res) => setTimeout(res, 50));
obs.disconnect();
console.log(`5 M checkRequestHead(browser GET): ${(ms * 1e6 / 5e6).toFixed(1)} ns/call, minor GCs: ${minor}`);
void sink;
