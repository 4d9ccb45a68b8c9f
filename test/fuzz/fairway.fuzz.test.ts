// The edge fuzzer against Fairway, bounded for `npm test`; at length with `npm run fuzz`
// (FAIRWAY_FUZZ_RUNS sets the count, FAIRWAY_FUZZ_SEED replays a run).

import { expect, it } from 'vitest';
import { startProxy } from '../helpers/proxy.ts';
import { startRecordingUpstream } from '../helpers/recording-upstream.ts';
import { fuzzOptionsFromEnv, runEdgeFuzz } from './harness.ts';

const opts = fuzzOptionsFromEnv({ runs: 500, seconds: 20 });

it('hostile connections: Fairway lives, forwards only clean requests, answers well-formed', async () => {
  const up = await startRecordingUpstream();
  const proxy = await startProxy({ pools: { web: { upstreams: [up.url] } } });
  const report = await runEdgeFuzz(proxy.url, up, opts);
  console.log(`edge fuzz (fairway): ${JSON.stringify(report)}`);
  expect(report.breaks).toEqual({});
  expect(report.upstreamRequests).toBeGreaterThan(0);
}, opts.timeLimitMs + 120_000);
