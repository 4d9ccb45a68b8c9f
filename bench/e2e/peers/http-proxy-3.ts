// Peer for comparison: plain http-proxy-3 on node:http with a keep-alive Agent, round-robin over
// the upstreams. Nothing else (no retries, no health). Run: node bench/e2e/peers/http-proxy-3.ts URL...

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'http-proxy-3';

const upstreams = process.argv.slice(2);
if (upstreams.length === 0) throw new Error('usage: http-proxy-3.ts UPSTREAM_URL...');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = createProxyServer({ agent });
let next = 0;
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway\n');
  } else res.destroy();
});
const server = http.createServer((req, res) => {
  const target = upstreams[next]!;
  next = (next + 1) % upstreams.length;
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http-proxy-3 listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
