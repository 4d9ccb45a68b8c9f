// consistent-hash's key extraction (src/balancer/hash-key.ts): ns per request for each key
// source on a realistic request (14 headers, 5 cookies, 4 query parameters), the bare string
// hash per key length, and whether extraction allocates (GC count over 2 M calls each).
//
// Run: npx node bench/micro/hash-key.bench.ts

import { fullGc } from './expose-gc.ts';
import { PerformanceObserver } from 'node:perf_hooks';
import { compileHashKey, hashRange, type KeyExtractor } from '../../src/balancer/hash-key.ts';
import type { HashConfig } from '../../src/config/types.ts';

const RAW = [
  'Host', 'api.example.com',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Accept', 'application/json, text/plain, */*',
  'Accept-Language', 'en-GB,en;q=0.9',
  'Accept-Encoding', 'gzip, deflate, br',
  'Referer', 'https://app.example.com/dashboard',
  'Origin', 'https://app.example.com',
  'Connection', 'keep-alive',
  'Cookie', 'theme=dark; _ga=GA1.2.1234567890.1700000000; lang=en; session=3f2c9a7e-5b1d-4c8e-9f0a-6d4b2e1c7a90; consent=yes',
  'Sec-Fetch-Dest', 'empty',
  'Sec-Fetch-Mode', 'cors',
  'Sec-Fetch-Site', 'same-site',
  'X-Request-Id', 'b1f4c2d8-7e3a-4f5b-9c6d-1a2b3c4d5e6f',
  'X-User-Id', 'user-4711',
];
const PATH = '/v1/orders/98765/items?page=2&size=50&tenant=acme-corp&sort=desc';
const IP = '::ffff:10.1.2.3';

const CASES: [string, HashConfig][] = [
  ['header:x-user-id (last header)', { source: 'header', name: 'x-user-id', loadFactor: 1.25 }],
  ['header:host (first header)', { source: 'header', name: 'host', loadFactor: 1.25 }],
  ['cookie:session (4th of 5)', { source: 'cookie', name: 'session', loadFactor: 1.25 }],
  ['query:tenant (3rd of 4)', { source: 'query', name: 'tenant', loadFactor: 1.25 }],
  ['client-ip (IPv4-mapped)', { source: 'client-ip', name: null, loadFactor: 1.25 }],
  ['path', { source: 'path', name: null, loadFactor: 1.25 }],
  ['header:x-absent (no key)', { source: 'header', name: 'x-absent', loadFactor: 1.25 }],
];
const CALLS = 2_000_000;

let gcs = 0;
const observer = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
observer.observe({ entryTypes: ['gc'] });
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

async function measure(x: KeyExtractor): Promise<{ ns: number; gcs: number }> {
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink ^= x(RAW, PATH, IP);
  fullGc();
  await settle();
  gcs = 0;
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS / 5; i++) sink ^= x(RAW, PATH, IP);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (CALLS / 5));
  }
  await settle();
  if (sink === 0.5) console.log(sink);
  return { ns: best, gcs };
}

console.log(`node ${process.version}; ns per request (best of 5 × ${(CALLS / 5).toLocaleString('en-US')}), GCs over ${CALLS.toLocaleString('en-US')} calls (0 = allocates nothing)`);
for (const [label, cfg] of CASES) {
  const r = await measure(compileHashKey(cfg));
  console.log(`${label.padEnd(34)} ${r.ns.toFixed(1).padStart(6)} ns   GCs ${r.gcs}`);
}
console.log('\nhashRange (FNV-1a + fmix32) per key length:');
for (const len of [8, 16, 36, 64]) {
  const s = Buffer.alloc(len, 'k').toString('latin1'); // flat, as parsed header values are
  const r = await measure(() => hashRange(s, 0, s.length));
  console.log(`${String(len).padStart(3)} chars ${r.ns.toFixed(1).padStart(6)} ns (${(r.ns / len).toFixed(2)} ns/char)   GCs ${r.gcs}`);
}
observer.disconnect();
