// The edge behaviour suite (edge-behaviour.case.ts) against Fairway itself: what never reaches an
// upstream, over real sockets, with a recording upstream behind it.

import { startProxy } from '../helpers/proxy.ts';
import { runEdgeBehaviour } from './edge-behaviour.case.ts';

runEdgeBehaviour('fairway', async (upstreamUrl) => {
  const p = await startProxy({ pools: { web: { upstreams: [upstreamUrl] } } });
  return { url: p.url };
});
