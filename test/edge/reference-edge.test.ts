// The edge behaviour suite against the reference wiring (reference-proxy.ts): shows the suite
// can pass, and that the checks in src/server/edge-checks.ts are enough when wired as
// docs/edge.md describes. Fairway runs the same suite in fairway-edge.test.ts.

import { onTestFinished } from 'vitest';
import { runEdgeBehaviour } from './edge-behaviour.case.ts';
import { startReferenceProxy } from './reference-proxy.ts';

runEdgeBehaviour('reference wiring', async (upstreamUrl) => {
  const p = await startReferenceProxy(upstreamUrl);
  onTestFinished(() => p.close());
  return p;
});
