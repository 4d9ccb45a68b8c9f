// Soak: thousands of client connections opened and aborted in every phase (mid request body,
// waiting for a slow upstream, mid response body, mid WebSocket tunnel) against a real Fairway
// process. Afterwards every gauge /metrics shows returns to its baseline (client connections,
// upstream in-flight and busy connections, tunnels) and resident memory stays flat. Bounded:
// about 30 s.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

/** Connections per phase per round. */
const PER_PHASE = 150;
const ROUNDS = Number(process.env['SOAK_ROUNDS'] ?? 8);
/** Rounds that warm the process up (allocator and heap high-water marks); memory is judged after them. */
const WARM_ROUNDS = ROUNDS / 2;
const CONCURRENCY = 50;

/** An upstream that takes WebSocket handshakes and echoes the bytes. */
async function startWsEcho(): Promise<{ url: string; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket: net.Socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sockets.add(socket);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, sockets };
}

/** Sum of every sample of a metric family (optionally only series whose labels contain `filter`). */
function metric(text: string, name: string, filter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (filter !== '' && !line.includes(filter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Opens a raw connection, runs `act` once connected, resolves when the socket has closed. */
function connection(port: number, act: (s: net.Socket, done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      s.destroy();
    };
    const guard = setTimeout(done, 10_000);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(guard);
      resolve();
    });
    s.once('connect', () => act(s, done));
  });
}

/** Runs `n` tasks, at most CONCURRENCY at a time. */
async function batched(n: number, task: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await task();
    }),
  );
}

describe('soak: clients that abort in every phase', { timeout: 120_000 }, () => {
  it('leaves every gauge at its baseline and memory flat', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 60_000 } });
    const big = await startUpstream({ name: 'big', behavior: { kind: 'size', bytes: 8 * 1024 * 1024 } });
    const echo = await startUpstream({ name: 'echo', behavior: { kind: 'echo' } });
    const ws = await startWsEcho();
    const dir = mkdtempSync(join(tmpdir(), 'fairway-soak-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(
      file,
      [
        'listen: 127.0.0.1:0',
        'admin: { listen: 127.0.0.1:0 }',
        // Idle pooled upstream connections close quickly, so "back to baseline" means zero.
        'timeouts: { keepAlive: 300ms }',
        'pools:',
        `  slow: { upstreams: [${slow.url}], retry: { attempts: 1 } }`,
        `  big: { upstreams: [${big.url}], retry: { attempts: 1 } }`,
        `  echo: { upstreams: [${echo.url}], retry: { attempts: 1 } }`,
        `  ws: { upstreams: [${ws.url}], retry: { attempts: 1 } }`,
        'routes:',
        '  - { match: { pathPrefix: /slow }, pool: slow }',
        '  - { match: { pathPrefix: /big }, pool: big }',
        '  - { match: { pathPrefix: /upload }, pool: echo }',
        '  - { match: { pathPrefix: /ws }, pool: ws }',
        '',
      ].join('\n'),
    );
    const cli = startCli(['--config', file]);
    const url = await listeningUrl(cli);
    const admin = await listeningUrl(cli, 'admin');
    const pid = cli.child.pid!;
    const port = Number(new URL(url).port);
    const scrape = async (): Promise<string> => (await fetchText(`${admin}/metrics`)).body;

    const phases: [string, () => Promise<void>][] = [
      [
        'mid request body',
        () =>
          connection(port, (s, done) => {
            s.write('POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: 1000000\r\n\r\n');
            s.write(Buffer.alloc(20_000, 'x'), () => setImmediate(done));
          }),
      ],
      [
        'waiting for a slow upstream',
        () =>
          connection(port, (s, done) => {
            const before = slow.hits;
            s.write('GET /slow HTTP/1.1\r\nHost: soak\r\n\r\n');
            void waitFor(() => slow.hits > before, { timeoutMs: 5000, message: 'at the upstream' }).finally(done);
          }),
      ],
      [
        'mid response body',
        () =>
          connection(port, (s, done) => {
            s.write('GET /big HTTP/1.1\r\nHost: soak\r\n\r\n');
            let got = 0;
            s.on('data', (d: Buffer) => {
              got += d.length;
              if (got > 100_000) done();
            });
          }),
      ],
      [
        'mid WebSocket',
        () =>
          connection(port, (s, done) => {
            s.write('GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
            let head = '';
            s.on('data', (d: Buffer) => {
              head += d.toString('latin1');
              if (head.includes('\r\n\r\n') && !head.includes('ping')) s.write('ping');
              else if (head.includes('ping')) done();
            });
          }),
      ],
    ];

    const settled = async (): Promise<string> =>
      waitFor(
        async () => {
          const m = await scrape();
          const quiet =
            metric(m, 'fairway_open_connections') === 0 &&
            metric(m, 'fairway_websocket_tunnels') === 0 &&
            metric(m, 'fairway_upstream_inflight') === 0 &&
            metric(m, 'fairway_upstream_busy_connections') === 0 &&
            metric(m, 'fairway_upstream_open_connections') === 0 &&
            ws.sockets.size === 0;
          return quiet ? m : null;
        },
        { timeoutMs: 15_000, intervalMs: 100, message: 'every gauge back to its baseline' },
      );

    const baseline = await settled();
    expect(metric(baseline, 'fairway_upstream_requests_total')).toBe(0);
    let afterWarmUp = 0;
    let peak = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [, run] of phases) await batched(PER_PHASE, run);
      const m = await settled();
      const rss = rssMiB(pid);
      peak = Math.max(peak, rss);
      if (round === WARM_ROUNDS) afterWarmUp = rss;
      if (process.env["SOAK_VERBOSE"]) console.info(`[soak] round ${round}: rss ${rss.toFixed(1)} MiB heap ${(metric(m, 'nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1)} external ${(metric(m, 'nodejs_external_memory_bytes') / 2 ** 20).toFixed(1)}`);
      // Aborted clients never count against an upstream: nothing was ejected.
      expect(metric(m, 'fairway_upstream_ejections_total')).toBe(0);
    }
    const total = ROUNDS * PER_PHASE * phases.length;
    const m = await scrape();
    expect(metric(m, 'fairway_upstream_requests_total')).toBeGreaterThanOrEqual(total * 0.9);
    // Memory flat: once warm, as many rounds again add no more than noise (a leak of a few KiB per
    // aborted connection would add tens of MiB over these rounds).
    console.info(`[soak] ${total} aborted connections; RSS after warm-up ${afterWarmUp.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB, last ${rssMiB(pid).toFixed(1)} MiB`);
    expect(peak - afterWarmUp).toBeLessThan(40);
    slow.behavior = { kind: 'ok' };
    expect((await fetchText(`${url}/slow`)).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
