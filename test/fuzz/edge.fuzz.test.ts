// The edge fuzzer against the reference wiring of src/server/edge-checks.ts (test/edge/
// reference-proxy.ts), bounded for `npm test`: 500 cases or 20 s, whichever comes first. Longer:
// `npm run fuzz` (FAIRWAY_FUZZ_RUNS, FAIRWAY_FUZZ_SEED to replay). Fairway itself:
// fairway.fuzz.test.ts.

import { expect, it, onTestFinished } from 'vitest';
import { startRecordingUpstream } from '../helpers/recording-upstream.ts';
import { startReferenceProxy } from '../edge/reference-proxy.ts';
import { fuzzOptionsFromEnv, runEdgeFuzz } from './harness.ts';

const opts = fuzzOptionsFromEnv({ runs: 500, seconds: 20 });

it('hostile connections: the reference proxy lives, forwards only clean requests, answers well-formed', async () => {
  const up = await startRecordingUpstream();
  const proxy = await startReferenceProxy(up.url);
  onTestFinished(() => proxy.close());
  const report = await runEdgeFuzz(proxy.url, up, opts);
  console.log(`edge fuzz (reference): ${JSON.stringify(report)}`);
  // The generators reach both sides: refusals and forwarded requests.
  expect(report.breaks).toEqual({});
  expect(report.upstreamRequests).toBeGreaterThan(0);
  expect(Object.keys(report.statuses).filter((s) => s.startsWith('4') || s.startsWith('5')).length).toBeGreaterThan(0);
}, opts.timeLimitMs + 120_000);
