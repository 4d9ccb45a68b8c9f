// The edge fuzzer against Fairway. Pending until the edge checks are wired into the request path
// (rename to fairway.fuzz.test.ts then). Now: npx vitest run --config test/fuzz/vitest.config.ts fuzz

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
