// What the TLS bench points its load at: Fairway with a TLS listener (h2 + http/1.1 by ALPN),
// HAProxy and nginx with TLS, and two bare Node floors (node:https + undici dispatch for
// HTTPS/1.1; http2 raw streams + undici dispatch for h2). All serve the same certificate in front
// of the same three upstreams. A missing peer is skipped by the caller (peerMissing).

import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { freePort } from '../lib/http.ts';
import { startChild, type Child } from '../lib/procs.ts';
import { REPO_DIR, findBinary, haproxyConfig, nginxConfig, peerMissing, type Target, type Upstream } from '../e2e/targets.ts';
import type { BenchCert } from './pki.ts';

const NODE = process.execPath;
const BENCH_DIR = path.join(REPO_DIR, 'bench');

/** Targets in report order; HAProxy is the CPU baseline. */
export const TLS_TARGETS = ['fairway', 'haproxy', 'nginx', 'undici-dispatch', 'undici-h2'] as const;
export type TlsTargetName = (typeof TLS_TARGETS)[number];

/** Which protocols a target is measured on (the bare floors each cover one). */
export function servesProtocol(name: TlsTargetName, protocol: 'h1' | 'h2'): boolean {
  if (name === 'undici-dispatch') return protocol === 'h1';
  if (name === 'undici-h2') return protocol === 'h2';
  return true;
}

/** Why a target cannot run here, or null. */
export function tlsTargetMissing(name: TlsTargetName): string | null {
  if (name === 'haproxy' || name === 'nginx') return peerMissing(name);
  return null;
}

/** GET `url` over TLS (HTTP/1.1, or h2 for an h2-only target) without verification. */
function getStatus(url: string, h2: boolean): Promise<number> {
  if (h2) {
    return new Promise((resolve, reject) => {
      const session = http2.connect(url, { rejectUnauthorized: false });
      const done = (fn: () => void): void => {
        session.destroy();
        fn();
      };
      session.on('error', (err) => done(() => reject(err)));
      const req = session.request({ ':path': '/' });
      req.setTimeout(1000, () => done(() => reject(new Error('timed out'))));
      req.on('response', (h) => done(() => resolve(Number(h[':status']))));
      req.on('error', (err) => done(() => reject(err)));
    });
  }
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent: false, rejectUnauthorized: false, signal: AbortSignal.timeout(1000) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/** GET `url` over TLS without verification until it answers 2xx, or throw after `timeoutMs`. */
async function waitHttpsOk(url: string, h2: boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const status = await getStatus(url, h2);
      if (status >= 200 && status < 300) return;
      last = `status ${status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} not answering 2xx after ${timeoutMs} ms (${last})`);
}

/** Fairway from a config file: one TLS listener (defaults: h2 + http/1.1, TLS 1.2+), round-robin over `ups`. */
async function startFairwayTls(ups: readonly Upstream[], cert: BenchCert, dir: string, nodeArgs: readonly string[]): Promise<Target> {
  const file = path.join(dir, 'fairway-tls.yaml');
  writeFileSync(
    file,
    [
      'listen:',
      '  - address: 127.0.0.1:0',
      '    tls:',
      `      certificates: [{ cert: ${cert.certFile}, key: ${cert.keyFile} }]`,
      'pools:',
      '  bench:',
      '    balancer: round-robin',
      `    upstreams: [${ups.map((u) => u.url).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const { child, match } = await startChild('fairway-tls', NODE, {
    args: [...nodeArgs, path.join(REPO_DIR, 'bin', 'fairway.js'), '--config', file],
    cwd: REPO_DIR,
    env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn' },
    ready: /fairway listening on (https:\/\/\S+)/,
    timeoutMs: 15_000,
  });
  return { name: 'fairway', kind: 'fairway', url: match, pids: [child.pid], adminUrl: null, stop: () => child.stop('SIGTERM', 5000) };
}

export interface StartTlsOptions {
  /** Extra node flags for Fairway (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

/** Starts one TLS target in front of `ups`; `dir` holds generated configs. Throws if it cannot start. */
export async function startTlsTarget(name: TlsTargetName, ups: readonly Upstream[], cert: BenchCert, dir: string, opts: StartTlsOptions = {}): Promise<Target> {
  if (name === 'fairway') return startFairwayTls(ups, cert, dir, opts.nodeArgs ?? []);
  let child: Child;
  let url: string;
  if (name === 'haproxy' || name === 'nginx') {
    const port = await freePort();
    const conf = path.join(dir, `${name}-tls.conf`);
    const bin = findBinary(name)!;
    if (name === 'nginx') {
      writeFileSync(conf, nginxConfig(dir, port, ups, 4096, cert));
      ({ child } = await startChild(name, bin, { args: ['-c', conf, '-p', dir] }));
    } else {
      writeFileSync(conf, haproxyConfig(port, ups, 4096, cert));
      ({ child } = await startChild(name, bin, { args: ['-f', conf, '-db'] }));
    }
    url = `https://127.0.0.1:${port}`;
  } else {
    const script = name === 'undici-dispatch' ? path.join(BENCH_DIR, 'e2e', 'peers', 'undici-dispatch.ts') : path.join(BENCH_DIR, 'tls', 'peers', 'undici-h2.ts');
    const args = name === 'undici-dispatch' ? ['--tls', cert.certFile, cert.keyFile] : [cert.certFile, cert.keyFile];
    const started = await startChild(name, NODE, { args: [script, ...args, ...ups.map((u) => u.url)], ready: /listening on (https:\/\/\S+)/ });
    child = started.child;
    url = started.match;
  }
  try {
    await waitHttpsOk(`${url}/`, name === 'undici-h2');
  } catch (err) {
    const tail = child.tail().trim();
    await child.stop('SIGKILL');
    throw new Error(`${name}: ${(err as Error).message}${tail === '' ? '' : `\n${tail}`}`);
  }
  return { name, kind: 'peer', url, pids: [child.pid], adminUrl: null, stop: () => child.stop('SIGTERM', 3000) };
}
