// SIGTERM: readiness off at once, stop accepting, finish in-flight requests (answered with
// Connection: close), close idle keep-alive clients, exit 0 within the drain timeout.
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

function config(upstream: string, drain = '10s'): string {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-drain-'));
  const file = join(dir, 'fairway.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\nshutdown:\n  drainTimeout: ${drain}\npools:\n  web:\n    upstreams: [${upstream}]\n`,
  );
  return file;
}

/** A keep-alive GET on its own agent; resolves with status, connection header and body. */
function get(url: string, agent: http.Agent): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      })
      .on('error', reject);
  });
}

describe('graceful shutdown', () => {
  it('SIGTERM with a slow request in flight: it completes, idle keep-alive clients are closed, exit 0', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 1500 } });
    const cli = startCli(['--config', config(slow.url)]);
    const url = await listeningUrl(cli);
    const admin = await listeningUrl(cli, 'admin');

    // An idle keep-alive client: it made one request and keeps its socket open.
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    slow.behavior = { kind: 'ok' };
    expect((await get(`${url}/`, idleAgent)).status).toBe(200);
    const idleSocketClosed = new Promise<void>((resolve) => {
      const sockets = Object.values(idleAgent.freeSockets).flat();
      expect(sockets.length).toBe(1);
      sockets[0]!.once('close', () => resolve());
    });

    slow.behavior = { kind: 'delay', ms: 1500 };
    const inflightAgent = new http.Agent({ keepAlive: true });
    const inflight = get(`${url}/`, inflightAgent);
    await waitFor(() => slow.active === 1, { message: 'slow request to reach the upstream' });
    const t0 = Date.now();
    cli.child.kill('SIGTERM');

    await waitFor(async () => (await fetchText(`${admin}/readyz`).catch(() => ({ status: 0 }))).status === 503, {
      message: '/readyz to turn 503',
    });
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('slow\n');
    expect(r.connection).toBe('close');
    await idleSocketClosed; // Node's server.close() alone would leave it open until its keep-alive timeout
    expect(await cli.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    idleAgent.destroy();
    inflightAgent.destroy();
  });

  it('stops accepting new connections once draining', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 1500 } });
    const cli = startCli(['--config', config(slow.url)]);
    const url = await listeningUrl(cli);
    const inflight = fetchText(`${url}/`);
    await waitFor(() => slow.active === 1, { message: 'request in flight' });
    cli.child.kill('SIGTERM');
    const port = Number(new URL(url).port);
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          s.on('connect', () => {
            s.destroy();
            resolve(false);
          });
          s.on('error', () => resolve(true));
        }),
      { message: 'listener to refuse connections' },
    );
    expect((await inflight).status).toBe(200);
    expect(await cli.exited).toBe(0);
  });

  it('force-closes what is left at the drain timeout and still exits 0', async () => {
    const hang = await startUpstream({ name: 'hang', behavior: { kind: 'hang' } });
    const cli = startCli(['--config', config(hang.url, '300ms')]);
    const url = await listeningUrl(cli);
    const inflight = fetchText(`${url}/`).then(
      (r) => r.status,
      () => 'aborted',
    );
    await waitFor(() => hang.active === 1, { message: 'request in flight' });
    const t0 = Date.now();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await inflight).toBe('aborted');
  });
});
