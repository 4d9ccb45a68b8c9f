// The access log: one JSON (or combined) line per request with the spec's fields, written when
// the response completes or the client leaves (499); rotation by reopen (SIGUSR1); a deleted
// file or a full disk never stops the proxy.
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { closedPortUrl, rawRequest } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';
import { waitFor } from './helpers/wait.ts';

function tempLog(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-access-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'access.log');
}

function lines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('access log (json)', () => {
  it('writes one line per request with the spec\'s fields', async () => {
    const up = await startUpstream({ name: 'a' });
    const file = tempLog();
    const p = await startProxy({ accessLog: { path: file }, pools: { web: { upstreams: [up.url] } } });
    const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect((await fetchText(`${p.url}/hello?x=1`, { headers: { host: 'svc.test', traceparent: trace } })).status).toBe(200);
    await waitFor(() => lines(file).length === 1, { message: 'the line flushed' });
    const [line] = lines(file);
    expect(line).toMatchObject({
      client: '127.0.0.1',
      method: 'GET',
      host: 'svc.test',
      path: '/hello?x=1',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 2,
      pool: 'web',
      upstream: up.url,
      tries: 1,
      error: null,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(Date.parse(line!['time'] as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(line!['durationMs']).toBeGreaterThanOrEqual(0);
    expect(Object.keys(line!)).toEqual(['time', 'client', 'method', 'host', 'path', 'protocol', 'status', 'bytes', 'durationMs', 'pool', 'upstream', 'tries', 'error', 'traceId']);
  });

  it('logs the proxy\'s own errors with their code, and retries as tries', async () => {
    const good = await startUpstream({ name: 'good' });
    const bad = await startUpstream({ name: 'bad', behavior: { kind: 'status', status: 503 } });
    const file = tempLog();
    const p = await startProxy({
      accessLog: { path: file },
      pools: { web: { balancer: 'round-robin', upstreams: [bad.url, good.url], passive: { consecutiveFailures: 0 }, retry: { backoff: { base: 0, max: 0 } } } },
      routes: [{ match: { pathPrefix: '/app' }, pool: 'web' }],
    });
    await fetchText(`${p.url}/nowhere`);
    for (let i = 0; i < 2; i++) await fetchText(`${p.url}/app`);
    await waitFor(() => lines(file).length === 3, { message: 'three lines' });
    const [notFound, ...served] = lines(file);
    expect(notFound).toMatchObject({ status: 404, error: 'no-route', pool: null, upstream: null, tries: 0 });
    expect(served.map((l) => l['status'])).toEqual([200, 200]);
    // Each try that landed on the 503 first made a second one, on the good upstream.
    expect(served.reduce((n, l) => n + (l['tries'] as number), 0)).toBe(served.length + bad.hits);
    expect(bad.hits).toBeGreaterThan(0);
    for (const l of served) expect(l['upstream']).toBe(good.url);
  });

  it('counts the body of the proxy\'s own error responses in bytes (none for HEAD)', async () => {
    const file = tempLog();
    const p = await startProxy({
      accessLog: { path: file },
      pools: { web: { upstreams: [await closedPortUrl()], retry: { attempts: 1 } } },
      routes: [{ match: { pathPrefix: '/app' }, pool: 'web' }],
    });
    const notFound = await fetchText(`${p.url}/nowhere`);
    const refused = await fetchText(`${p.url}/app`);
    const head = await fetchText(`${p.url}/nowhere`, { method: 'HEAD' });
    expect([notFound.status, refused.status, head.status]).toEqual([404, 502, 404]);
    await waitFor(() => lines(file).length === 3, { message: 'three lines' });
    const [l404, l502, lHead] = lines(file);
    expect(l404).toMatchObject({ status: 404, error: 'no-route', bytes: Buffer.byteLength(notFound.body) });
    expect(l502).toMatchObject({ status: 502, error: 'connect-refused', bytes: Buffer.byteLength(refused.body) });
    expect(Buffer.byteLength(refused.body)).toBeGreaterThan(0);
    expect(lHead).toMatchObject({ status: 404, method: 'HEAD', bytes: 0 });
  });

  it('logs requests the parser refuses (400, 431, 505) and CONNECT (405), which never reach the pipeline', async () => {
    const up = await startUpstream({ name: 'a' });
    const file = tempLog();
    const p = await startProxy({ accessLog: { path: file }, pools: { web: { upstreams: [up.url] } } });
    const sent: [string, number][] = [
      ['GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['GET / HTTP/3.0\r\nHost: x\r\n\r\n', 505],
      ['CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n', 405],
    ];
    const bodies: string[] = [];
    for (const [text, status] of sent) {
      const reply = await rawRequest(p.url, text);
      expect(reply.startsWith(`HTTP/1.1 ${status} `), reply.slice(0, 40)).toBe(true);
      bodies.push(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    }
    await waitFor(() => lines(file).length === sent.length, { message: 'one line per refused request' });
    const logged = lines(file);
    expect(logged.map((l) => l['status'])).toEqual(sent.map(([, status]) => status));
    expect(logged.map((l) => l['error'])).toEqual(['bad-request', 'headers-too-large', 'version-not-supported', 'method-not-allowed']);
    logged.forEach((l, i) => expect(l['bytes']).toBe(Buffer.byteLength(bodies[i]!)));
    expect(logged[0]).toMatchObject({ client: '127.0.0.1', method: '-', path: '-', pool: null, upstream: null, tries: 0, traceId: null });
    expect(logged[3]).toMatchObject({ method: 'CONNECT', path: '127.0.0.1:1' });
    expect(up.hits).toBe(0);
  });

  it('logs a client that left before its response as 499', async () => {
    const slow = await startUpstream({ name: 'slow', behavior: { kind: 'delay', ms: 20_000 } });
    const file = tempLog();
    const p = await startProxy({ accessLog: { path: file }, pools: { web: { upstreams: [slow.url] } } });
    const { port, hostname } = new URL(p.url);
    const s = net.connect(Number(port), hostname);
    s.on('error', () => {});
    s.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => slow.active === 1, { message: 'request at the upstream' });
    s.destroy();
    await waitFor(() => lines(file).length === 1, { message: 'the 499 line' });
    expect(lines(file)[0]).toMatchObject({ path: '/wait', status: 499, error: 'client-abort', upstream: slow.url, tries: 1 });
    slow.behavior = { kind: 'ok' };
  });

  it('starts a new file on reopen after rotation, and keeps serving when the file is deleted', async () => {
    const up = await startUpstream({ name: 'a' });
    const file = tempLog();
    const p = await startProxy({ accessLog: { path: file }, pools: { web: { upstreams: [up.url] } } });
    await fetchText(`${p.url}/one`);
    await waitFor(() => lines(file).length === 1, { message: 'first line' });
    renameSync(file, `${file}.1`);
    await fetchText(`${p.url}/two`); // still goes to the renamed file (same inode), as in nginx
    await waitFor(() => lines(`${file}.1`).length === 2, { message: 'second line in the rotated file' });
    p.runtime.reopenLogs();
    await fetchText(`${p.url}/three`);
    await waitFor(() => lines(file).length === 1, { message: 'a new file after reopen' });
    expect(lines(file)[0]!['path']).toBe('/three');

    rmSync(file);
    for (let i = 0; i < 5; i++) expect((await fetchText(`${p.url}/after-delete`)).status).toBe(200);
  });

  it('never stops serving on a full disk (/dev/full): lines are dropped and counted', async () => {
    const up = await startUpstream({ name: 'a' });
    const p = await startProxy({ accessLog: { path: '/dev/full' }, pools: { web: { upstreams: [up.url] } } });
    for (let i = 0; i < 50; i++) expect((await fetchText(`${p.url}/x`)).status).toBe(200);
    await waitFor(() => (p.runtime.accessLog?.errors ?? 0) > 0, { message: 'the write errors counted' });
    expect(await p.runtime.metrics(null)).toMatch(/^fairway_access_log_write_errors_total\{path="\/dev\/full"\} [1-9]\d*$/m);
    for (let i = 0; i < 5; i++) expect((await fetchText(`${p.url}/y`)).status).toBe(200);
  });
});

describe('access log in a running process', () => {
  it('SIGUSR1 reopens the file after rotation', async () => {
    const up = await startUpstream({ name: 'a' });
    const file = tempLog();
    const config = join(file, '..', 'fairway.yaml');
    writeFileSync(config, `listen: 127.0.0.1:0\naccessLog: { path: ${file} }\npools:\n  web:\n    upstreams: [${up.url}]\n`);
    const cli = startCli(['--config', config]);
    const url = await listeningUrl(cli);
    await fetchText(`${url}/before`);
    await waitFor(() => lines(file).length === 1, { message: 'first line' });
    renameSync(file, `${file}.1`);
    cli.child.kill('SIGUSR1');
    await waitFor(async () => {
      await fetchText(`${url}/after`);
      return lines(file).length > 0;
    }, { message: 'lines in a new file after SIGUSR1' });
    expect(lines(file)[0]!['path']).toBe('/after');
    expect(lines(`${file}.1`).map((l) => l['path'])).toContain('/before');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});

describe('access log (combined)', () => {
  it('writes Apache/nginx combined lines', async () => {
    const up = await startUpstream({ name: 'a' });
    const file = tempLog();
    const p = await startProxy({ accessLog: { path: file, format: 'combined' }, pools: { web: { upstreams: [up.url] } } });
    await fetchText(`${p.url}/page?q=1`, { headers: { referer: 'http://ref.test/', 'user-agent': 'tester "quoted"/1.0' } });
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('\n'), { message: 'the line' });
    const line = readFileSync(file, 'utf8').trim();
    expect(line).toMatch(/^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/page\?q=1 HTTP\/1\.1" 200 2 "http:\/\/ref\.test\/" "tester \\"quoted\\"\/1\.0"$/);
  });
});
