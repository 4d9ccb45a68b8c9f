// The edge behaviour suite against Fairway itself. Pending until the checks of
// src/server/edge-checks.ts are wired into the request path: rename to fairway-edge.test.ts then.
// Run it now with: npx vitest run --config test/fuzz/vitest.config.ts pending

import { startProxy } from '../helpers/proxy.ts';
import { runEdgeBehaviour } from './edge-behaviour.case.ts';

runEdgeBehaviour('fairway', async (upstreamUrl) => {
  const p = await startProxy({ pools: { web: { upstreams: [upstreamUrl] } } });
  return { url: p.url };
});
