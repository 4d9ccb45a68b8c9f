// Streamed request bodies keep memory flat too (SPEC "At the edge": relaying a 200 MiB body grows
// the process's resident memory by less than 64 MiB). A body larger than the retry buffer is
// streamed to the upstream; its chunks are the same off-heap garbage a large response makes, and
// used to grow a Fairway process by 70–79 MiB for a 200 MiB upload.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';

const MiB = 1024 * 1024;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Sends `mib` MiB as fast as the proxy takes them; resolves with the status and the upstream's count. */
function upload(url: string, mib: number, chunked: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = chunked ? {} : { 'content-length': String(mib * MiB) };
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/upload', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(MiB, 'u');
    let sent = 0;
    const pump = (): void => {
      while (sent < mib) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('streamed request bodies', { timeout: 60_000 }, () => {
  it.each([
    ['Content-Length', false],
    ['chunked', true],
  ])('a 200 MiB upload (%s) grows resident memory by less than 64 MiB', async (_name, chunked) => {
    const counter = http.createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(String(n)));
    });
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => {
      counter.closeAllConnections();
      counter.close();
    });
    const dir = mkdtempSync(join(tmpdir(), 'fairway-upload-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\npools:\n  p:\n    upstreams: ['http://127.0.0.1:${(counter.address() as AddressInfo).port}']\n`);
    const cli = startCli(['--config', file]);
    const url = await listeningUrl(cli);
    const pid = cli.child.pid!;
    // Warm up the path (first request compiles it) before the baseline.
    expect(await upload(url, 1, chunked)).toBe(`200 ${MiB}`);
    const baseline = rssMiB(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 25);
    onTestFinished(() => clearInterval(sampler));
    expect(await upload(url, 200, chunked)).toBe(`200 ${200 * MiB}`);
    clearInterval(sampler);
    peak = Math.max(peak, rssMiB(pid));
    expect(peak - baseline).toBeLessThan(64);
  });
});
