// Peer for comparison: fastify + @fastify/http-proxy (reply-from on an undici Agent), with
// round-robin over the upstreams through replyOptions.getUpstream. Logging off.
// Run: node bench/e2e/peers/fastify-http-proxy.ts URL...

import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const upstreams = process.argv.slice(2);
if (upstreams.length === 0) throw new Error('usage: fastify-http-proxy.ts UPSTREAM_URL...');
let next = 0;
const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
await app.register(proxy, {
  // Empty upstream: with a base URL, reply-from sends every request to that one origin and
  // ignores getUpstream's choice; without one, it dispatches to the URL getUpstream returns.
  upstream: '',
  undici: { connections: 128, pipelining: 1 },
  replyOptions: {
    // @fastify/http-proxy calls this once per request and hands the answer on to reply-from.
    getUpstream: () => {
      const u = upstreams[next]!;
      next = (next + 1) % upstreams.length;
      return u;
    },
  },
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`fastify-http-proxy listening on ${address}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
