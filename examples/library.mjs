// Fairway as a library: the whole proxy in this process, configured by an object (the same
// shape as fairway.yaml), with its admin server and dashboard. Signals are the application's.
//
//   in a clone of the repository:  npm run example:library
//   with the package installed:    node library.mjs        (PORT / ADMIN_PORT move the ports)
import http from 'node:http';
import { FairwayConfigError, start } from 'fairway';

// Two stand-in upstreams so the example runs on its own; use your services' URLs instead.
const servers = [];
async function startUpstream(name) {
  const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok\n' : `hello from ${name}\n`));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}
const upstreams = [await startUpstream('blue'), await startUpstream('green')];

const config = {
  listen: `127.0.0.1:${process.env.PORT ?? 8080}`,
  admin: { listen: `127.0.0.1:${process.env.ADMIN_PORT ?? 9901}` },
  pools: {
    app: {
      balancer: 'least-connections',
      upstreams,
      healthCheck: { path: '/health', interval: '2s', timeout: '1s' },
      retry: { attempts: 2 },
    },
  },
};

let fw;
try {
  fw = await start({ config, log: 'warn' });
} catch (err) {
  if (!(err instanceof FairwayConfigError)) throw err;
  for (const p of err.problems) console.error(`config ${p.path}: ${p.message}`);
  process.exit(1);
}
console.log(`proxy listening on ${fw.listeners[0]}`);
console.log(`dashboard on ${fw.admin}/`);

// A change is validated like a file; an invalid one is refused whole and the running config stays.
try {
  await fw.reload({ ...config, pools: { app: { ...config.pools.app, balancer: 'fastest' } } });
} catch (err) {
  if (!(err instanceof FairwayConfigError)) throw err;
  console.log(`reload refused: ${err.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
}

// Drain and stop on Ctrl-C / SIGTERM: Fairway installs no signal handlers of its own.
const stop = async () => {
  await fw.close();
  for (const s of servers) s.close();
  console.log('stopped');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
