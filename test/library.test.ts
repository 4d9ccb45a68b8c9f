// Fairway as a library (src/index.ts): start() with an object or a file, reload and close;
// createProxy() inside an application's own node:http server (requests, WebSocket upgrades,
// drain); FairwayConfigError with the same messages as the CLI; no signal handlers. Real
// sockets on 127.0.0.1.

import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseConfigText } from '../src/config/load.ts';
import { ConfigError } from '../src/config/errors.ts';
import { createProxy, FairwayConfigError, start, type EmbeddedProxy, type Fairway, type FairwayConfig } from '../src/index.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream, startUpstreams } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

async function started(opts: Parameters<typeof start>[0]): Promise<Fairway> {
  const fw = await start({ log: 'silent', ...opts });
  onTestFinished(() => fw.close());
  return fw;
}

async function embedded(opts: Parameters<typeof createProxy>[0]): Promise<EmbeddedProxy> {
  const proxy = await createProxy({ log: 'silent', ...opts });
  onTestFinished(() => proxy.close());
  return proxy;
}

/** An application's own server with the proxy mounted under /api (its own route answers /). */
async function hostServer(proxy: EmbeddedProxy): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/api')) return proxy.handle(req, res);
    res.end('app\n');
  });
  server.on('upgrade', proxy.handleUpgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, server };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('start()', () => {
  it('runs the proxy from an object: listeners, admin, reload(object), close()', async () => {
    const [a, b] = await startUpstreams('a', 'b');
    const fw = await started({
      config: { listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: [a!.url] } } },
    });
    expect(fw.listeners).toHaveLength(1);
    expect(fw.listeners[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fw.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('a\n');
    expect((await fetchText(`${fw.admin}/healthz`)).status).toBe(200);

    await fw.reload({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: [b!.url] } } });
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('b\n');
    // An invalid object is refused whole; the running config stays, and the refusal is an event.
    const err = await rejection(fw.reload({ listen: '127.0.0.1:0', pools: { web: { upstreams: [b!.url], balancer: 'fastest' as 'ewma' } } }));
    expect(err).toBeInstanceOf(FairwayConfigError);
    expect((err as FairwayConfigError).problems).toEqual([
      { path: 'pools.web.balancer', message: expect.stringMatching(/^must be one of round-robin, random, least-connections, ewma/) as unknown },
    ]);
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('b\n');
    expect(fw.status().events.map((e) => ('type' in e ? e.ok : null))).toEqual([true, false]);
    // reload() again re-validates the last object applied.
    await fw.reload();
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('b\n');
    expect(await fw.metrics()).toMatch(/^fairway_upstream_requests_total\{pool="web",upstream="[^"]+",code_class="2xx"\} [1-9]/m);

    const url = fw.listeners[0]!;
    await fw.close();
    await fw.close(); // idempotent
    await expect(fetchText(`${url}/`, { timeoutMs: 2000 })).rejects.toThrow();
  });

  it('runs from a file: reload() reads it again; file problems carry file, line and column', async () => {
    const [a, b] = await startUpstreams('a', 'b');
    const dir = mkdtempSync(join(tmpdir(), 'fairway-lib-'));
    const file = join(dir, 'fairway.yaml');
    const yaml = (url: string, balancer = 'round-robin'): string => `listen: 127.0.0.1:0\npools:\n  web:\n    balancer: ${balancer}\n    upstreams: [${url}]\n`;
    writeFileSync(file, yaml(a!.url));
    const fw = await started({ configFile: file });
    expect(fw.admin).toBeNull();
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('a\n');
    writeFileSync(file, yaml(b!.url));
    await fw.reload();
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('b\n');
    writeFileSync(file, yaml(a!.url, 'fastest'));
    const err = (await rejection(fw.reload())) as FairwayConfigError;
    expect(err).toBeInstanceOf(FairwayConfigError);
    expect(err.problems).toEqual([{ path: 'pools.web.balancer', message: expect.any(String) as unknown, line: 4, column: 15, file }]);
    expect(err.message).toContain(`${file}:4:15 pools.web.balancer: must be one of`);
    expect((await fetchText(`${fw.listeners[0]}/`)).body).toBe('b\n');
  });

  it('an object is validated exactly like a file: the same problems, without line and column', async () => {
    const yaml = [
      'listen: 127.0.0.1:0',
      'pools:',
      '  web:',
      '    balancer: round-robbin',
      '    upstreams: [ftp://example.test]',
      '    retry: { attempts: 0 }',
      '    helthCheck: { path: /health }',
    ].join('\n');
    const fromFile = (() => {
      try {
        parseConfigText(yaml, 'x.yaml');
      } catch (err) {
        return (err as ConfigError).issues;
      }
      throw new Error('the YAML should be invalid');
    })();
    const object = {
      listen: '127.0.0.1:0',
      pools: { web: { balancer: 'round-robbin', upstreams: ['ftp://example.test'], retry: { attempts: 0 }, helthCheck: { path: '/health' } } },
    } as unknown as FairwayConfig;
    const err = (await rejection(start({ config: object, log: 'silent' }))) as FairwayConfigError;
    expect(err).toBeInstanceOf(FairwayConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.name).toBe('FairwayConfigError');
    expect(fromFile.length).toBeGreaterThanOrEqual(4);
    expect(err.problems.map((p) => [p.path, p.message]).sort()).toEqual(fromFile.map((i) => [i.path, i.message]).sort());
    for (const p of err.problems) expect(Object.keys(p).sort()).toEqual(['message', 'path']);
    expect(err.message).toContain("pools.web.balancer: must be one of round-robin, random, least-connections, ewma, consistent-hash (did you mean 'round-robin'?)");
    expect(err.message).not.toContain('<flags>');
  });

  it('refuses workers > 1 (a process group is the CLI\'s) and starts nothing on a bind error', async () => {
    const [a] = await startUpstreams('a');
    const err = (await rejection(start({ config: { listen: '127.0.0.1:0', workers: 2, pools: { web: { upstreams: [a!.url] } } }, log: 'silent' }))) as FairwayConfigError;
    expect(err.problems).toEqual([{ path: 'workers', message: expect.stringContaining('workers must be 1') as unknown }]);
    const taken = await started({ config: { listen: '127.0.0.1:0', pools: { web: { upstreams: [a!.url] } } } });
    const port = new URL(taken.listeners[0]!).port;
    await expect(start({ config: { listen: `127.0.0.1:${port}`, pools: { web: { upstreams: [a!.url] } } }, log: 'silent' })).rejects.toThrow(/EADDRINUSE/);
    await expect(start({ log: 'silent' } as never)).rejects.toThrow(TypeError);
  });

  it('installs no signal handlers', async () => {
    const [a] = await startUpstreams('a');
    const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1'] as const;
    const before = signals.map((s) => process.listenerCount(s));
    const fw = await started({ config: { listen: '127.0.0.1:0', pools: { web: { upstreams: [a!.url] } } } });
    const proxy = await embedded({ config: { pools: { web: { upstreams: [a!.url] } } } });
    expect(signals.map((s) => process.listenerCount(s))).toEqual(before);
    await fw.close();
    await proxy.close();
  });
});

describe('createProxy()', () => {
  it('serves inside an existing server: routing, balancing, the app keeps its own routes', async () => {
    const [a, b] = await startUpstreams('a', 'b');
    const proxy = await embedded({ config: { pools: { api: { upstreams: [a!.url, b!.url] } } } });
    const app = await hostServer(proxy);
    expect((await fetchText(`${app.url}/`)).body).toBe('app\n');
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await fetchText(`${app.url}/api/x`)).body);
    expect(bodies.sort()).toEqual(['a\n', 'a\n', 'b\n', 'b\n']);
    expect(a!.requests[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    // A POST body streams through the application's request object.
    a!.behavior = { kind: 'echo' };
    b!.behavior = { kind: 'echo' };
    expect((await fetchText(`${app.url}/api/echo`, { method: 'POST', body: 'hello through the app' })).body).toBe('hello through the app');
    const st = proxy.status();
    expect(st.pools[0]!.upstreams.map((u) => u.share).reduce((x, y) => x! + y!, 0)).toBeCloseTo(1, 3);
    expect(st.listeners).toEqual([]);
    // The proxy's own errors go out on the application's response.
    await proxy.reload({ pools: { api: { upstreams: ['http://127.0.0.1:1'] } } });
    const failed = await fetchText(`${app.url}/api/x`);
    expect(failed.status).toBe(502);
    expect(failed.headers['x-fairway-error']).toBe('connect-refused');
  });

  it('tunnels WebSocket upgrades given to handleUpgrade', async () => {
    const upstream = await startEchoUpgrade();
    const proxy = await embedded({ config: { pools: { ws: { upstreams: [upstream] } } } });
    const app = await hostServer(proxy);
    const u = new URL(app.url);
    const socket = net.connect(Number(u.port), u.hostname);
    onTestFinished(() => void socket.destroy());
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.write(
      'GET /api/chat HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await waitFor(() => received.includes('\r\n\r\n'), { message: 'the 101' });
    expect(received).toMatch(/^HTTP\/1\.1 101 /);
    received = '';
    socket.write('ping-through-the-app');
    await waitFor(() => received === 'ping-through-the-app', { message: 'the echo' });
  });

  it('needs no listen, refuses an admin section, and rejects an invalid config with its problems', async () => {
    const [a] = await startUpstreams('a');
    const adminErr = (await rejection(
      createProxy({ config: { admin: { listen: '127.0.0.1:0' }, pools: { web: { upstreams: [a!.url] } } }, log: 'silent' }),
    )) as FairwayConfigError;
    expect(adminErr.problems).toEqual([{ path: 'admin', message: expect.stringContaining('proxy.status()') as unknown }]);
    const bad = (await rejection(createProxy({ config: { pools: {} }, log: 'silent' }))) as FairwayConfigError;
    expect(bad.problems).toEqual([{ path: 'pools', message: 'must define at least one pool' }]);
  });

  it('close() lets in-flight requests finish, then answers 503 draining', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 400 } });
    const proxy = await createProxy({ config: { pools: { api: { upstreams: [slow.url] } } }, log: 'silent' });
    const app = await hostServer(proxy);
    const inflight = fetchText(`${app.url}/api/slow`);
    await waitFor(() => slow.active === 1, { message: 'the request to reach the upstream' });
    const closing = proxy.close();
    const finished = await inflight;
    expect(finished.status).toBe(200);
    expect(finished.body).toBe('slow\n');
    await closing;
    const after = await fetchText(`${app.url}/api/slow`);
    expect(after.status).toBe(503);
    expect(after.headers['x-fairway-error']).toBe('draining');
  });
});

/** An upstream that answers `Upgrade: websocket` with 101 and echoes bytes; returns its URL. */
async function startEchoUpgrade(): Promise<string> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  const sockets = new Set<net.Socket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sockets.add(socket);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

// Type-level checks (npm test runs tsc over this file): the config type is the file's shape.
export function typeChecks(): void {
  const ok: FairwayConfig = {
    listen: ':8080',
    pools: { api: { balancer: 'ewma', upstreams: ['http://127.0.0.1:3000', { url: 'http://127.0.0.1:3001', weight: 2 }], retry: { attempts: 3, budget: '20%' } } },
    timeouts: { connect: '5s', response: 30_000 },
  };
  // @ts-expect-error: not a balancer
  const badBalancer: FairwayConfig = { listen: ':8080', pools: { api: { balancer: 'fastest', upstreams: ['http://a'] } } };
  // @ts-expect-error: `listen` is required by start()
  const noListen: FairwayConfig = { pools: { api: { upstreams: ['http://a'] } } };
  // @ts-expect-error: unknown key
  const unknownKey: FairwayConfig = { listen: ':8080', pools: { api: { upstreams: ['http://a'], weight: 2 } } };
  void [ok, badBalancer, noListen, unknownKey];
}
