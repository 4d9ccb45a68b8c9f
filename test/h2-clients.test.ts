// A running Fairway's TLS listener against clients other than Node's own: Debian's curl (HTTP/2
// and HTTP/1.1 on one port, an upload, HEAD, a proxy error) and, when installed, nghttp2's h2load
// (many streams on few connections). curl is required; h2load is skipped with a reason when absent.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { localhostPki } from './helpers/certs.ts';
import { tlsListen } from './helpers/h2.ts';
import { closedPortUrl } from './helpers/net.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream } from './helpers/upstream.ts';

const run = promisify(execFile);

const local = localhostPki();

/** Whether `cmd --version` runs. */
async function has(cmd: string): Promise<boolean> {
  try {
    await run(cmd, ['--version'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const hasH2load = await has('h2load');

/**
 * curl against https://localhost:PORT (resolved to 127.0.0.1, verified with the test CA);
 * `-w` appends "\n<http_version> <status>" to the body.
 */
async function curl(port: number, args: readonly string[]): Promise<{ body: string; version: string; status: number }> {
  const { stdout } = await run(
    'curl',
    ['-sS', '--max-time', '10', '--cacert', local.pki.ca.certFile, '--resolve', `localhost:${port}:127.0.0.1`, '-w', '\n%{http_version} %{http_code}', ...args, `https://localhost:${port}/`],
    { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const cut = stdout.lastIndexOf('\n');
  const [version, status] = stdout.slice(cut + 1).split(' ');
  return { body: stdout.slice(0, cut), version: version!, status: Number(status) };
}

describe('curl', () => {
  it('speaks HTTP/2 (--http2) and HTTP/1.1 (--http1.1) on the same port, certificate verified', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({ listen: [tlsListen([local.cert])], pools: { web: { upstreams: [a.url] } } });
    const port = Number(new URL(p.url).port);
    expect(await curl(port, ['--http2'])).toEqual({ body: 'a\n', version: '2', status: 200 });
    expect(await curl(port, ['--http1.1'])).toEqual({ body: 'a\n', version: '1.1', status: 200 });
    expect(a.requests.map((r) => [r.headers['host'], r.headers['x-forwarded-proto']])).toEqual([
      [`localhost:${port}`, 'https'],
      [`localhost:${port}`, 'https'],
    ]);
  });

  it('uploads 1 MB over HTTP/2 intact; HEAD; a proxy-produced 502 with its x-fairway-error', async () => {
    const a = await startUpstream({ name: 'a' });
    const p = await startProxy({
      listen: [tlsListen([local.cert])],
      pools: { web: { upstreams: [a.url] }, gone: { upstreams: [await closedPortUrl()], retry: { attempts: 1 } } },
      routes: [{ match: { pathPrefix: '/gone' }, pool: 'gone' }, { pool: 'web' }],
    });
    const port = Number(new URL(p.url).port);
    const file = path.join(local.pki.dir, 'upload.bin');
    const body = Buffer.alloc(1024 * 1024, 'u');
    await writeFile(file, body);
    expect(await curl(port, ['--http2', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream'])).toMatchObject({ version: '2', status: 200 });
    expect(a.requests[0]!.bodyBytes).toBe(body.length);
    expect(a.requests[0]!.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    const head = await curl(port, ['--http2', '-I']);
    expect([head.version, head.status]).toEqual(['2', 200]);
    expect(head.body).toMatch(/^HTTP\/2 200/);
    expect(head.body).toMatch(/^content-length: 2\r?$/m);
    expect(head.body).not.toMatch(/^(connection|keep-alive|transfer-encoding):/im);
    const gone = await run('curl', ['-sS', '-i', '--http2', '--max-time', '10', '--cacert', local.pki.ca.certFile, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/gone`], { timeout: 15_000 });
    expect(gone.stdout).toMatch(/^HTTP\/2 502/);
    expect(gone.stdout).toMatch(/^x-fairway-error: connect-refused\r?$/m);
  });
});

describe('h2load', () => {
  it.skipIf(!hasH2load)('2 connections × 10 concurrent streams, 400 requests, all 2xx, spread over 3 upstreams (skipped without nghttp2-client)', async () => {
    const ups = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream({ name })));
    const p = await startProxy({ listen: [tlsListen([local.cert])], pools: { web: { upstreams: ups.map((u) => u.url) } } });
    const { stdout } = await run('h2load', ['-n', '400', '-c', '2', '-m', '10', p.url + '/'], { timeout: 30_000 });
    expect(stdout).toMatch(/requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored, 0 timeout/);
    expect(stdout).toMatch(/status codes: 400 2xx/);
    expect(stdout).toMatch(/Application protocol: h2/);
    expect(ups.map((u) => u.hits).sort()).toEqual([133, 133, 134]);
  });
});
