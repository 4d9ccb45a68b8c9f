// Upgrade (WebSocket) tunnels: handshake relayed, bytes flow both ways, and the tunnel is torn
// down when either side closes.
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startProxy } from './helpers/proxy.ts';
import { waitFor } from './helpers/wait.ts';

interface EchoUpgradeServer {
  url: string;
  sockets: Set<net.Socket>;
  upgrades: http.IncomingMessage[];
}

/** An upstream that accepts `Upgrade: websocket`, answers 101 and echoes raw bytes back. */
async function startEchoUpgrade(): Promise<EchoUpgradeServer> {
  const sockets = new Set<net.Socket>();
  const upgrades: http.IncomingMessage[] = [];
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    upgrades.push(req);
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sockets.add(socket);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end()); // the server socket is half-open capable
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, sockets, upgrades };
}

/** Opens a raw upgrade through the proxy; resolves with the socket and the response head. */
async function openTunnel(proxyUrl: string): Promise<{ socket: net.Socket; head: string }> {
  const u = new URL(proxyUrl);
  const socket = net.connect(Number(u.port), u.hostname);
  onTestFinished(() => void socket.destroy());
  socket.write(
    `GET /chat HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('no upgrade response within 5 s')), 5000);
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(buf.slice(0, end));
      }
    };
    socket.on('data', onData);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return { socket, head };
}

describe('WebSocket upgrade', () => {
  it('relays the handshake and bytes both ways', async () => {
    const up = await startEchoUpgrade();
    const p = await startProxy({ pools: { ws: { upstreams: [up.url] } } });
    const { socket, head } = await openTunnel(p.url);
    expect(head).toMatch(/^HTTP\/1.1 101/);
    expect(head.toLowerCase()).toContain('upgrade: websocket');
    expect(head).toContain('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(up.upgrades[0]!.headers['sec-websocket-key']).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(up.upgrades[0]!.headers.host).toBe('chat.test');

    const echoed = new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
    socket.write('ping-123');
    expect(await echoed).toBe('ping-123');
    socket.destroy();
    await waitFor(() => up.sockets.size === 0, { message: 'tunnel closed' });
  });

  it('tears the tunnel down when the client closes', async () => {
    const up = await startEchoUpgrade();
    const p = await startProxy({ pools: { ws: { upstreams: [up.url] } } });
    const { socket } = await openTunnel(p.url);
    await waitFor(() => up.sockets.size === 1, { message: 'upstream socket' });
    socket.destroy();
    await waitFor(() => up.sockets.size === 0, { message: 'upstream side closed' });
  });

  it('tears the tunnel down when the upstream closes', async () => {
    const up = await startEchoUpgrade();
    const p = await startProxy({ pools: { ws: { upstreams: [up.url] } } });
    const { socket } = await openTunnel(p.url);
    await waitFor(() => up.sockets.size === 1, { message: 'upstream socket' });
    const tunnels = (): number => p.runtime.listeners.reduce((n, l) => n + l.tunnels.size, 0);
    expect(tunnels()).toBe(1);
    let closed = false;
    socket.once('close', () => (closed = true));
    for (const s of up.sockets) s.destroy();
    await waitFor(() => closed, { message: 'client side of the tunnel closed' });
    await waitFor(() => tunnels() === 0, { message: 'tunnel released by the proxy' });
    expect(p.runtime.current.pools.get('ws')!.upstreams[0]!.inflight).toBe(0);
  });

  it('relays a refusal from the upstream as a normal response', async () => {
    const server = http.createServer((_req, res) => res.writeHead(403, { 'content-length': '2' }).end('no'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => void server.close());
    server.on('upgrade', (_req, socket: net.Socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno');
    });
    const p = await startProxy({ pools: { ws: { upstreams: [`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`] } } });
    const { head } = await openTunnel(p.url);
    expect(head).toMatch(/^HTTP\/1.1 403/);
  });
});
