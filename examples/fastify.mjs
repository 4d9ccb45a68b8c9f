// Fairway inside a fastify application: the app serves its own routes and hands everything under
// /api, and every WebSocket upgrade (whatever its path), to createProxy(), which balances it over
// the upstreams with health checks and retries. The proxy's /status is one of the app's routes.
//
//   in a clone of the repository:  npm run example:fastify
//   elsewhere:  npm install /path/to/fairway-0.1.0.tgz fastify && node fastify.mjs   (the tarball from
//               `npm pack` in a clone; PORT moves the port)
import http from 'node:http';
import Fastify from 'fastify';
import { createProxy } from 'fairway';

// Two stand-in upstreams so the example runs on its own; use your services' URLs instead.
const servers = [];
async function startUpstream(name) {
  const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok\n' : `${name} answered ${req.method} ${req.url}\n`));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

const proxy = await createProxy({
  config: {
    pools: {
      api: {
        balancer: 'ewma',
        upstreams: [await startUpstream('api-1'), await startUpstream('api-2')],
        healthCheck: { path: '/health', interval: '2s' },
      },
    },
  },
  log: 'warn',
});

const app = Fastify();
app.get('/', async () => ({ hello: 'from the fastify app', api: '/api/…', status: '/fairway/status' }));
app.get('/fairway/status', async () => proxy.status());

// Everything under /api goes to Fairway before fastify reads the body: the request streams
// straight through, and Fairway's retries can replay it.
await app.register(
  async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      reply.hijack();
      proxy.handle(request.raw, reply.raw);
      return reply;
    });
    api.all('/*', async () => undefined); // never reached: the hook answered
  },
  { prefix: '/api' },
);
app.server.on('upgrade', proxy.handleUpgrade);

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`app listening on ${address}`);

const stop = async () => {
  await app.close();
  await proxy.close();
  for (const s of servers) s.close();
  console.log('stopped');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
